// Secrets never leak: a run that provokes every kind of failure with an API
// key and git passwords in play, capturing everything the SDK could show —
// every exception's text, message, body and git stderr, every record the
// observability hook receives, all the process writes to stdout and stderr,
// and wrenn-local's log — and then searches all of it for the secrets.
#include <catch2/catch.hpp>

#include <wrenn/impl/client_impl.hpp>
#include <wrenn/wrenn.hpp>

#include "git_http_server.hpp"
#include "local_server.hpp"
#include "run.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <functional>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using wrenn::capsule;
using wrenn_test::local_server;

namespace {

// Everything written to fds 1 and 2 while alive goes to a file; text() reads it.
class output_capture {
public:
    output_capture() {
        char tmpl[] = "/tmp/wrenn-secrets-XXXXXX";
        fd_ = ::mkstemp(tmpl);
        path_ = tmpl;
        std::fflush(nullptr);
        saved_out_ = ::dup(1);
        saved_err_ = ::dup(2);
        ::dup2(fd_, 1);
        ::dup2(fd_, 2);
    }
    ~output_capture() { restore(); ::unlink(path_.c_str()); }
    std::string text() {
        restore();
        return wrenn_test::slurp(path_);
    }

private:
    void restore() {
        if (saved_out_ < 0) return;
        std::fflush(nullptr);
        ::dup2(saved_out_, 1);
        ::dup2(saved_err_, 2);
        ::close(saved_out_);
        ::close(saved_err_);
        ::close(fd_);
        saved_out_ = -1;
    }
    int fd_ = -1, saved_out_ = -1, saved_err_ = -1;
    std::string path_;
};

// What the SDK showed: appended to by the hook and by `expect_failure`.
struct seen {
    std::string text;
    int failures = 0, attempts = 0;

    // Runs `op`, which must fail; keeps every text its exception carries.
    asio::awaitable<void> expect_failure(std::function<asio::awaitable<void>()> op) {
        bool failed = false;
        try {
            co_await op();
        } catch (const wrenn::git_error& e) {
            failed = true;
            text += std::string(e.what()) + "\n" + e.message() + "\n" + e.body() + "\n" + e.stderr_text() + "\n";
        } catch (const wrenn::error& e) {
            failed = true;
            text += std::string(e.what()) + "\n" + e.message() + "\n" + e.body() + "\n";
        } catch (const std::exception& e) {
            failed = true;
            text += std::string(e.what()) + "\n";
        }
        CHECK(failed);
        failures += failed;
    }
    void hook(wrenn::config& cfg) {
        cfg.on_attempt = [this](const wrenn::attempt_record& r) {
            ++attempts;
            text += std::string(r.method) + " " + std::string(r.url) + " " + std::string(r.error) + "\n";
        };
    }
};

} // namespace

TEST_CASE("secrets: API keys and git passwords appear in no error, hook record or output", "[secrets]") {
    const std::string user = "alice", password = "Pw-8e2f61c0d9", wrong_password = "Wrong-pw-53ab19e7";
    const std::string wrong_key = "wrn_wrongkey5f0e1d2c3b4a59687766554433";
    wrenn_test::git_http_server remote(user, password);
    auto url = remote.create_repo("secret.git");
    auto tls = GENERATE(false, true);
    CAPTURE(tls);
    // wrenn-local's log is searched too: a server must not log what it is sent
    auto server_log = std::filesystem::temp_directory_path() / ("wrenn-secrets-" + std::to_string(::getpid()) + ".log");
    local_server srv({.tls = tls, .stderr_file = server_log.string()});
    const std::string key = srv.api_key();
    seen s;
    std::string output;
    {
        output_capture capture;
        auto bad_cfg = srv.config();
        bad_cfg.api_key = wrong_key;
        s.hook(bad_cfg);
        wrenn_test::run(bad_cfg, [&](wrenn::client c) -> asio::awaitable<void> {
            co_await s.expect_failure([&]() -> asio::awaitable<void> { (void)co_await c.capsules().list(); });
            co_await s.expect_failure([&]() -> asio::awaitable<void> { (void)co_await capsule::create(c); });
            wrenn::commands cmds(wrenn::detail::client_access::impl(c), "cl-0000000000000000000000000");
            co_await s.expect_failure([&]() -> asio::awaitable<void> { (void)co_await cmds.stream("true"); });
        });

        auto cfg = srv.config();
        s.hook(cfg);
        wrenn_test::run(cfg, [&](wrenn::client c) -> asio::awaitable<void> {
            auto cap = co_await capsule::create(c, {.wait = true});
            co_await s.expect_failure([&]() -> asio::awaitable<void> {
                (void)co_await capsule::connect(c, "cl-0000000000000000000000000");
            });
            co_await s.expect_failure([&]() -> asio::awaitable<void> { (void)co_await cap.files.read("/nope/x"); });
            co_await s.expect_failure(
                [&]() -> asio::awaitable<void> { (void)co_await cap.commands.run("sleep 5", {.timeout = 1s}); });
            co_await s.expect_failure([&]() -> asio::awaitable<void> { (void)co_await cap.commands.connect("no-tag"); });
            co_await s.expect_failure([&]() -> asio::awaitable<void> { (void)co_await cap.pty_connect("no-tag"); });

            // git: a password that works, one that does not, one for a host that is not there,
            // and credentials a user put into the URL themselves
            auto& git = cap.git;
            auto ok = co_await git.clone(url, "work", {.username = user, .password = password});
            s.text += ok.stdout_text + ok.stderr_text;
            co_await s.expect_failure([&]() -> asio::awaitable<void> {
                (void)co_await git.clone(url, "denied", {.username = user, .password = wrong_password});
            });
            co_await s.expect_failure([&]() -> asio::awaitable<void> {
                (void)co_await git.push({.username = user, .password = wrong_password, .cwd = "work"});
            });
            co_await s.expect_failure([&]() -> asio::awaitable<void> {
                (void)co_await git.clone("http://host.wrenn.internal:1/nothing.git", "gone",
                                         {.username = user, .password = password});
            });
            std::string embedded = url;
            embedded.insert(std::string("http://").size(), user + ":" + wrong_password + "@");
            co_await s.expect_failure([&]() -> asio::awaitable<void> {
                (void)co_await git.clone(embedded, "embedded");
            });
            co_await s.expect_failure([&]() -> asio::awaitable<void> {
                (void)co_await git.pull({.remote = "upstream", .username = user, .password = password, .cwd = "work"});
            });
            auto config = co_await cap.files.read("work/.git/config");
            s.text += config;
            co_await cap.destroy();
        });
        output = capture.text();
    }
    const std::string log = wrenn_test::slurp(server_log.string());
    std::filesystem::remove(server_log);
    INFO("captured output:\n" << output << "\nwrenn-local's log:\n" << log);
    CHECK(log.find("capsule ") != std::string::npos);  // the server did log the run
    CHECK(s.failures == 13);
    CHECK(s.attempts > 10);              // the hook did see the run
    CHECK(s.text.find("/v1/capsules") != std::string::npos);  // and what it saw was captured
    const std::string all = s.text + output + log;
    for (const auto& secret : {key, wrong_key, password, wrong_password}) {
        INFO("secret: " << secret);
        CHECK(all.find(secret) == std::string::npos);
    }
    CHECK(remote.refused() > 0);  // the git server did check the passwords
}
