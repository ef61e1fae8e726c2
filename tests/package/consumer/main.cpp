// The package tests' consumer program: what a user's first program does.
// Built header-only against an installed wrenn (find_package) and in
// separate-compilation mode against the source tree (add_subdirectory).
#include <wrenn/wrenn.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdio>
#include <exception>
#include <optional>
#include <string>

#if defined(WRENN_CONSUMER_EXPECT_SEPARATE) && defined(WRENN_HEADER_ONLY)
#error "expected separate-compilation mode, got header-only"
#endif
#if !defined(WRENN_CONSUMER_EXPECT_SEPARATE) && !defined(WRENN_HEADER_ONLY)
#error "expected header-only mode, got separate compilation"
#endif

namespace {

int failures = 0;

void check(bool ok, const char* what) {
    std::printf("%s: %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok) ++failures;
}

} // namespace

int main() {
    boost::asio::io_context io;

    wrenn::config cfg;
    cfg.api_key = "k";
    cfg.base_url = "http://127.0.0.1:1";
    cfg.timeouts.connect = std::chrono::seconds(5);
    wrenn::client client(io.get_executor(), cfg);
    check(client.settings().api_key == "k", "client keeps the explicit api_key");
    check(client.settings().base_url == "http://127.0.0.1:1", "client keeps the explicit base_url");
    check(std::string(wrenn::version) == WRENN_VERSION_STRING, "wrenn::version");

    // No key anywhere (the environment is stubbed out): config_error.
    try {
        wrenn::resolve(wrenn::config{}, [](const char*) -> std::optional<std::string> { return std::nullopt; });
        check(false, "resolve() without a key throws wrenn::config_error");
    } catch (const wrenn::config_error& e) {
        check(true, "resolve() without a key throws wrenn::config_error");
        check(e.status() == 0 && !e.code().empty(), "config_error carries a code and status 0");
    } catch (const std::exception& e) {
        std::printf("  unexpected exception: %s\n", e.what());
        check(false, "resolve() without a key throws wrenn::config_error");
    }

    // One real call through the transport (Asio + Beast + OpenSSL linked in):
    // nothing listens on port 1, so the connect is refused.
    std::exception_ptr outcome;
    bool finished = false;
    boost::asio::co_spawn(io, client.capsules().get("cl-none"),
                          [&](std::exception_ptr e, const wrenn::capsule_info&) {
                              outcome = e;
                              finished = true;
                          });
    io.run();
    bool refused = false;
    try {
        if (outcome) std::rethrow_exception(outcome);
    } catch (const wrenn::transport_error& e) {
        std::printf("  transport_error %s: %s\n", e.code().c_str(), e.what());
        refused = true;
    } catch (const std::exception& e) {
        std::printf("  unexpected exception: %s\n", e.what());
    }
    check(finished && refused, "a call to a closed port fails with wrenn::transport_error");

    std::printf("%s\n", failures == 0 ? "consumer: all checks passed" : "consumer: FAILED");
    return failures == 0 ? 0 : 1;
}
