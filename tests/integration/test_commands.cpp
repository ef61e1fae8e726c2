// Background commands, process listing and kill, against wrenn-local.
#include <catch2/catch.hpp>

#include <wrenn/wrenn.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "async.hpp"
#include "expect.hpp"
#include "local_server.hpp"
#include "run.hpp"

#include <algorithm>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using wrenn::capsule;
using wrenn_test::eventually;
using wrenn_test::local_server;

namespace {
bool has_tag(const std::vector<wrenn::process_info>& ps, const std::string& tag) {
    return std::any_of(ps.begin(), ps.end(), [&](auto& p) { return p.tag == tag; });
}
bool has_pid(const std::vector<wrenn::process_info>& ps, int pid) {
    return std::any_of(ps.begin(), ps.end(), [&](auto& p) { return p.pid == pid; });
}

} // namespace

TEST_CASE("background commands: started, listed by tag, killed by tag and by pid", "[commands]") {
    auto tls = GENERATE(false, true);
    CAPTURE(tls);
    local_server srv({.tls = tls});
    wrenn_test::run(srv.config(), [](wrenn::client c) -> asio::awaitable<void> {
        auto cap = co_await capsule::create(c, {.wait = true});
        const wrenn::env_var env[] = {{"WHO", "bg"}};
        auto web = co_await cap.commands.run("echo $WHO > /tmp/who; pwd > /tmp/where; exec sleep 300",
                                             {.envs = env, .cwd = "/tmp", .background = true, .tag = "web"});
        CHECK(web.tag == "web");
        CHECK(web.pid > 0);
        CHECK(web.exit_code == -1);

        auto other = co_await cap.commands.run("sleep 300", {.background = true});
        CHECK(other.tag.rfind("proc-", 0) == 0);
        CHECK(other.tag.size() == 13);

        auto ps = co_await cap.commands.list();
        CHECK(has_tag(ps, "web"));
        CHECK(has_pid(ps, web.pid));
        CHECK(has_tag(ps, other.tag));
        for (auto& p : ps)
            if (p.tag == std::optional<std::string>("web")) {
                CHECK(p.cmd == std::optional<std::string>("/bin/sh"));
                REQUIRE(p.args);
                CHECK(p.args->size() == 2);
            }

        // It ran with its envs and cwd.
        bool wrote = co_await eventually([&]() -> asio::awaitable<bool> {
            co_return (co_await cap.commands.run("cat /tmp/who /tmp/where")).stdout_text == "bg\n/tmp\n";
        });
        CHECK(wrote);

        co_await cap.commands.kill("web", wrenn::kill_signal::sigterm);
        bool gone = co_await eventually([&]() -> asio::awaitable<bool> {
            co_return !has_tag(co_await cap.commands.list(), "web");
        });
        CHECK(gone);

        co_await cap.commands.kill(other.pid);
        bool gone2 = co_await eventually([&]() -> asio::awaitable<bool> {
            co_return !has_pid(co_await cap.commands.list(), other.pid);
        });
        CHECK(gone2);
        co_await cap.destroy();
    });
}

TEST_CASE("killing an unknown process is a not_found_error, a numeric tag is refused", "[commands]") {
    local_server srv;
    auto cfg = srv.config();
    auto e = wrenn_test::as<wrenn::not_found_error>(wrenn_test::failure_of(cfg, [](wrenn::client c) -> asio::awaitable<void> {
        auto cap = co_await capsule::create(c);
        co_await cap.commands.kill("no-such-tag");
    }));
    CHECK(e.status() == 404);
    CHECK(e.message().find("no-such-tag") != std::string::npos);
    wrenn_test::as<wrenn::usage_error>(wrenn_test::failure_of(cfg, [](wrenn::client c) -> asio::awaitable<void> {
        auto cap = co_await capsule::create(c);
        co_await cap.commands.kill(std::string("1234"));
    }));
}

TEST_CASE("every byte value comes back exact in stdout and stderr", "[commands]") {
    local_server srv;
    wrenn_test::run(srv.config(), [](wrenn::client c) -> asio::awaitable<void> {
        auto cap = co_await capsule::create(c);
        std::string all;
        for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
        // printf with octal escapes for all 256 values, to stdout and stderr
        std::string fmt;
        for (int b = 0; b < 256; ++b) {
            char esc[8];
            std::snprintf(esc, sizeof esc, "\\%03o", b);
            fmt += esc;
        }
        auto r = co_await cap.commands.run("printf '" + fmt + "'; printf '" + fmt + "' >&2");
        CHECK(r.exit_code == 0);
        CHECK(r.stdout_text == all);
        CHECK(r.stderr_text == all);
        co_await cap.destroy();
    });
}
