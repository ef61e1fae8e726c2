// Terminals against wrenn-local: real PTYs, resize, detach and re-attach by
// tag, kill, exit codes, errors, keepalive pings, the blocking API.
#include <catch2/catch.hpp>

#include <wrenn/wrenn.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
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
using namespace asio::experimental::awaitable_operators;
using wrenn::capsule;
using wrenn_test::eventually;
using wrenn_test::local_server;

namespace {

// Reads output until it contains `needle` (true) or 15 s pass (false).
// Cancelling a terminal's next() keeps the session, so a timer can race it.
asio::awaitable<bool> read_until(wrenn::pty_session& s, const std::string& needle, std::string& screen,
                                 std::optional<wrenn::pty_event>* last = nullptr) {
    auto ex = co_await asio::this_coro::executor;
    auto deadline = std::chrono::steady_clock::now() + 15s;
    while (screen.find(needle) == std::string::npos) {
        asio::steady_timer t(ex, deadline);
        auto r = co_await (s.next() || t.async_wait(asio::use_awaitable));
        if (r.index() == 1) co_return false;
        auto ev = std::get<0>(std::move(r));
        if (!ev) co_return false;
        if (ev->is_output()) screen += ev->data;
        if (last) *last = ev;
        if (ev->is_exit()) co_return screen.find(needle) != std::string::npos;
    }
    co_return true;
}

bool has_tag(const std::vector<wrenn::process_info>& ps, const std::string& tag) {
    return std::any_of(ps.begin(), ps.end(), [&](auto& p) { return p.tag == tag; });
}

} // namespace

TEST_CASE("pty: a real terminal: run, resize, detach, re-attach by tag, keep typing, kill", "[pty]") {
    auto tls = GENERATE(false, true);
    CAPTURE(tls);
    local_server srv({.tls = tls});
    wrenn_test::run(srv.config(), [](wrenn::client c) -> asio::awaitable<void> {
        auto cap = co_await capsule::create(c, {.wait = true});
        std::string tag;
        int pid = 0;
        {
            auto term = co_await cap.pty({.cols = 120, .rows = 40});
            auto first = co_await term.next();
            REQUIRE(first);
            CHECK(first->is_started());
            CHECK(first->tag == term.tag());
            CHECK(term.tag().rfind("pty-", 0) == 0);
            CHECK(term.pid() > 0);
            tag = term.tag();
            pid = term.pid();

            std::string screen;
            co_await term.write("echo sum-$((20+22)); tty; stty size\n");
            bool seen1 = co_await read_until(term, "40 120", screen);
            CHECK(seen1);
            CHECK(screen.find("sum-42") != std::string::npos);
            CHECK(screen.find("/dev/pts/") != std::string::npos);  // a real tty, named inside the capsule

            co_await term.resize(100, 33);
            screen.clear();
            co_await term.write("stty size\n");
            bool seen2 = co_await read_until(term, "33 100", screen);
            CHECK(seen2);

            co_await term.write("export KEPT=yes\n");
            co_await term.close();  // the terminal keeps running
            CHECK(term.done());
        }
        auto ps = co_await cap.commands.list();
        CHECK(has_tag(ps, tag));

        auto again = co_await cap.pty_connect(tag);
        CHECK(again.tag() == tag);
        CHECK(again.pid() == pid);
        std::string screen;
        co_await again.write("echo kept-$KEPT-$((6*7))\n");
        bool seen3 = co_await read_until(again, "kept-yes-42", screen);
        CHECK(seen3);

        co_await again.kill();
        std::optional<wrenn::pty_event> last;
        std::string rest;
        (void)co_await read_until(again, "never printed", rest, &last);
        REQUIRE(last);
        CHECK(last->is_exit());
        CHECK(again.done());
        CHECK(again.exit_code().has_value());
        bool gone = co_await eventually([&]() -> asio::awaitable<bool> {
            auto now = co_await cap.commands.list();
            co_return !has_tag(now, tag);
        });
        CHECK(gone);
        co_await cap.destroy();
    });
}

TEST_CASE("pty: exit code, command, env and cwd", "[pty]") {
    local_server srv;
    wrenn_test::run(srv.config(), [](wrenn::client c) -> asio::awaitable<void> {
        auto cap = co_await capsule::create(c, {.wait = true});
        const wrenn::env_var env[] = {{"TERM", "xterm-256color"}, {"MARK", "m1"}};
        auto term = co_await cap.pty({.cmd = "/bin/sh", .envs = env, .cwd = "/tmp"});
        std::string screen;
        co_await term.write("echo \"$TERM:$MARK:$(pwd)\"; exit 7\n");
        std::optional<wrenn::pty_event> last;
        bool seen4 = co_await read_until(term, "xterm-256color:m1:/tmp", screen, &last);
        CHECK(seen4);
        while (!(last && last->is_exit())) {
            last = co_await term.next();
            REQUIRE(last);
        }
        CHECK(last->exit_code == 7);
        CHECK(term.exit_code() == std::optional<int>(7));
        auto after = co_await term.next();
        CHECK_FALSE(after);
        // the session is over: writes are a usage error, not a silent drop
        CHECK_THROWS_AS(term.write("x"), wrenn::usage_error);

        auto args = co_await cap.pty({.cmd = "/bin/echo", .args = {"from", "args"}});
        std::string out;
        bool seen5 = co_await read_until(args, "from args", out);
        CHECK(seen5);
        co_await cap.destroy();
    });
}

TEST_CASE("pty: errors are typed and name the problem", "[pty]") {
    local_server srv;
    auto cfg = srv.config();
    std::string id;
    wrenn_test::run(cfg, [&](wrenn::client c) -> asio::awaitable<void> {
        auto cap = co_await capsule::create(c, {.wait = true});
        id = cap.id();
        auto term = co_await cap.pty();
        CHECK_THROWS_AS(term.resize(0, 10), wrenn::usage_error);
        CHECK_THROWS_AS(term.resize(80, 0), wrenn::usage_error);
        co_await term.kill();
    });
    auto e1 = wrenn_test::failure_of(cfg, [&](wrenn::client c) -> asio::awaitable<void> {
        co_await capsule(c, id).pty_connect("pty-00000000");
    });
    auto nf = wrenn_test::as<wrenn::not_found_error>(e1);
    CHECK(nf.message().find("pty-00000000") != std::string::npos);
    auto e2 = wrenn_test::failure_of(cfg, [&](wrenn::client c) -> asio::awaitable<void> {
        co_await capsule(c, "cl-0000000000000000000000000").pty();
    });
    wrenn_test::as<wrenn::not_found_error>(e2);
    wrenn_test::run(cfg, [&](wrenn::client c) -> asio::awaitable<void> { co_await capsule(c, id).pause(); });
    auto e3 = wrenn_test::failure_of(cfg, [&](wrenn::client c) -> asio::awaitable<void> {
        co_await capsule(c, id).pty();
    });
    wrenn_test::as<wrenn::conflict_error>(e3);
}

TEST_CASE("pty: keepalive pings are consumed silently, a cancelled read keeps the session", "[pty]") {
    local_server srv({.extra_args = {"--pty-ping-interval-ms", "50"}});
    wrenn_test::run(srv.config(), [](wrenn::client c) -> asio::awaitable<void> {
        auto cap = co_await capsule::create(c, {.wait = true});
        auto ex = co_await asio::this_coro::executor;
        auto term = co_await cap.pty({.cmd = "/bin/cat"});  // prints nothing until typed at
        auto first = co_await term.next();
        REQUIRE(first);
        CHECK(first->is_started());
        // ~10 pings arrive while nothing is printed: next() must not return for them
        asio::steady_timer t(ex, 500ms);
        auto r = co_await (term.next() || t.async_wait(asio::use_awaitable));
        CHECK(r.index() == 1);
        CHECK_FALSE(term.done());
        std::string screen;
        co_await term.write("still-here\n");
        bool seen6 = co_await read_until(term, "still-here\r\nstill-here", screen);  // echo, then cat
        CHECK(seen6);
        co_await term.kill();
        co_await cap.destroy();
    });
}

TEST_CASE("pty: the blocking API", "[pty][sync]") {
    local_server srv;
    wrenn::sync::client c(srv.config());
    wrenn::sync::scoped_capsule cap(c, {.wait = true});
    auto term = cap->pty({.cmd = "/bin/sh"});
    CHECK(term.tag().rfind("pty-", 0) == 0);
    term.write("echo sync-$((2*21)); exit 3\n");
    std::string screen;
    int code = -2;
    for (const auto& ev : term) {
        if (ev.is_output()) screen += ev.data;
        if (ev.is_exit()) code = ev.exit_code;
    }
    CHECK(screen.find("sync-42") != std::string::npos);
    CHECK(code == 3);
}

TEST_CASE("pty: a second next() while one waits is a usage_error, and the first one still gets the output", "[pty]") {
    local_server srv;
    wrenn_test::run(srv.config(), [](wrenn::client c) -> asio::awaitable<void> {
        auto cap = co_await capsule::create(c, {.wait = true});
        auto ex = co_await asio::this_coro::executor;
        auto term = co_await cap.pty({.cmd = "/bin/cat"});  // prints nothing until typed at
        auto first = co_await term.next();
        REQUIRE(first);
        CHECK(first->is_started());
        std::optional<wrenn::pty_event> got;
        asio::steady_timer done(ex, 15s);  // cancelled once the first next() has its event
        bool waiting = co_await wrenn_test::next_in_background(term, got, done);
        REQUIRE(waiting);
        std::string code, message;
        try {
            (void)co_await term.next();
        } catch (const wrenn::usage_error& e) {
            code = e.code();
            message = e.what();
        }
        CHECK(code == "concurrent_receive");
        CHECK(message.find("one at a time") != std::string::npos);
        CHECK_FALSE(term.done());
        co_await term.write("both-fine\n");
        co_await done.async_wait(asio::as_tuple(asio::use_awaitable));
        REQUIRE(got);
        CHECK(got->is_output());
        std::string screen = got->data;
        bool seen = co_await read_until(term, "both-fine\r\nboth-fine", screen);  // echo, then cat
        CHECK(seen);
        co_await term.kill();
        co_await cap.destroy();
    });
}
