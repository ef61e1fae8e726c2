// Process streams against wrenn-local: commands.stream, commands.connect,
// run with output callbacks; order, volume, concurrency, faults, cancellation.
#include <catch2/catch.hpp>

#include <wrenn/wrenn.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "async.hpp"
#include "expect.hpp"
#include "build_kind.hpp"
#include "local_server.hpp"
#include "run.hpp"

#include <algorithm>
#include <sstream>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using wrenn::capsule;
using wrenn_test::eventually;
using wrenn_test::local_server;

namespace {

struct collected {
    std::vector<wrenn::stream_event> events;
    std::string out, err;
};

asio::awaitable<collected> drain(wrenn::process_stream& s) {
    collected c;
    while (auto ev = co_await s.next()) {
        if (ev->is_stdout()) c.out += ev->data;
        if (ev->is_stderr()) c.err += ev->data;
        c.events.push_back(std::move(*ev));
    }
    co_return c;
}

bool listed(const std::vector<wrenn::process_info>& ps, int pid) {
    return std::any_of(ps.begin(), ps.end(), [&](auto& p) { return p.pid == pid; });
}

} // namespace

TEST_CASE("stream: start first, output in order, exit last, then nothing", "[streams]") {
    auto tls = GENERATE(false, true);
    CAPTURE(tls);
    local_server srv({.tls = tls});
    wrenn_test::run(srv.config(), [](wrenn::client c) -> asio::awaitable<void> {
        auto cap = co_await capsule::create(c, {.wait = true});
        auto s = co_await cap.commands.stream("echo one; echo two >&2; echo three; exit 3");
        CHECK(s.pid() > 0);
        auto got = co_await drain(s);
        REQUIRE(got.events.size() >= 4);
        CHECK(got.events.front().is_start());
        CHECK(got.events.front().pid == s.pid());
        CHECK(got.events.back().is_exit());
        CHECK(got.events.back().exit_code == 3);
        for (std::size_t i = 1; i + 1 < got.events.size(); ++i) {
            CHECK((got.events[i].is_stdout() || got.events[i].is_stderr()));
        }
        CHECK(got.out == "one\nthree\n");
        CHECK(got.err == "two\n");
        CHECK(s.done());
        CHECK(s.exit_code() == std::optional<int>(3));
        auto after = co_await s.next();
        CHECK_FALSE(after);

        // program + args form, and env / cwd applied by the wrapper
        auto p = co_await cap.commands.stream("printf", {.args = {"%s|%s", "a b", "$HOME"}});
        auto pg = co_await drain(p);
        CHECK(pg.out == "a b|$HOME");
        const wrenn::env_var env[] = {{"GREETING", "hello there"}};
        auto e = co_await cap.commands.stream("echo \"$GREETING\"; pwd", {.envs = env, .cwd = "/tmp"});
        auto eg = co_await drain(e);
        CHECK(eg.out == "hello there\n/tmp\n");
        auto bad_cwd = co_await cap.commands.stream("pwd", {.cwd = "/no/such/dir"});
        auto bg = co_await drain(bad_cwd);
        CHECK(bg.events.back().is_exit());
        CHECK(bg.events.back().exit_code != 0);
        CHECK(bg.err.find("/no/such/dir") != std::string::npos);
        co_await cap.destroy();
    });
}

TEST_CASE("stream: 100,000 lines arrive complete and in order", "[streams]") {
    local_server srv;
    wrenn_test::run(srv.config(), [](wrenn::client c) -> asio::awaitable<void> {
        auto cap = co_await capsule::create(c, {.wait = true});
        auto s = co_await cap.commands.stream("seq 1 100000; echo tail >&2");
        auto got = co_await drain(s);
        CHECK(got.events.back().is_exit());
        CHECK(got.events.back().exit_code == 0);
        CHECK(got.err == "tail\n");
        std::istringstream lines(got.out);
        std::string line;
        long expect = 1;
        bool in_order = true;
        while (std::getline(lines, line)) {
            if (line != std::to_string(expect)) {
                in_order = false;
                break;
            }
            ++expect;
        }
        CHECK(in_order);
        CHECK(expect == 100001);
        co_await cap.destroy();
    });
}

TEST_CASE("stream: 1,000 concurrent streams on one io_context (a quarter under sanitizers)", "[streams][scale]") {
    local_server srv;
    auto cfg = srv.config();
    // 1,000 upgrades at once, each waiting behind the server's spawns (four
    // execs per stream in the sandbox): 11 s to 22 s on this VM depending on
    // its moment, so the upgrade gets 60 s (twice connect), more under sanitizers.
    // While it spawns, the server's pings can be late too: the idle deadline
    // scales the same way (a sanitized wrenn-local missed 30 s in CI).
    cfg.timeouts.connect = std::chrono::seconds(30) * wrenn_test::slowdown;
    cfg.timeouts.idle = std::chrono::seconds(30) * wrenn_test::slowdown;
    wrenn_test::run(cfg, [](wrenn::client c) -> asio::awaitable<void> {
        auto cap = co_await capsule::create(c, {.wait = true});
        auto ex = co_await asio::this_coro::executor;
        constexpr int n = 1000 / wrenn_test::load_divisor;
        int remaining = n, ok = 0;
        std::vector<std::string> failures;
        asio::steady_timer all_done(ex, asio::steady_timer::time_point::max());
        for (int i = 0; i < n; ++i) {
            auto one = [](capsule cap, int i) -> asio::awaitable<bool> {
                auto s = co_await cap.commands.stream("echo " + std::to_string(i));
                auto got = co_await drain(s);
                co_return got.out == std::to_string(i) + "\n" && got.events.front().is_start() &&
                    got.events.back().is_exit() && got.events.back().exit_code == 0;
            };
            asio::co_spawn(ex, one(cap, i), [&](std::exception_ptr e, bool good) {
                if (e) {
                    try {
                        std::rethrow_exception(e);
                    } catch (const std::exception& x) {
                        failures.push_back(x.what());
                    }
                } else if (good) {
                    ++ok;
                }
                if (--remaining == 0) all_done.cancel();
            });
        }
        (void)co_await all_done.async_wait(asio::as_tuple(asio::use_awaitable));
        if (!failures.empty()) WARN("first failure: " << failures.front());
        CHECK(failures.empty());
        CHECK(ok == n);
        co_await cap.destroy();
    });
}

TEST_CASE("stream: attach to a background process by tag and by pid, then kill it", "[streams][commands]") {
    auto tls = GENERATE(false, true);
    CAPTURE(tls);
    local_server srv({.tls = tls});
    wrenn_test::run(srv.config(), [](wrenn::client c) -> asio::awaitable<void> {
        auto cap = co_await capsule::create(c, {.wait = true});
        auto h = co_await cap.commands.run("i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.05; done",
                                           {.background = true, .tag = "ticker"});
        auto ps = co_await cap.commands.list();
        CHECK(listed(ps, h.pid));

        auto by_tag = co_await cap.commands.connect("ticker");
        CHECK(by_tag.pid() == h.pid);
        auto by_pid = co_await cap.commands.connect(h.pid);
        CHECK(by_pid.pid() == h.pid);
        for (auto* s : {&by_tag, &by_pid}) {
            auto first = co_await s->next();
            REQUIRE(first);
            CHECK(first->is_start());
            std::string out;
            while (out.find("tick") == std::string::npos) {
                auto ev = co_await s->next();
                REQUIRE(ev);
                REQUIRE(ev->is_stdout());
                out += ev->data;
            }
        }
        co_await cap.commands.kill("ticker");
        // both attached streams see the end
        for (auto* s : {&by_tag, &by_pid}) {
            auto got = co_await drain(*s);
            REQUIRE(!got.events.empty());
            CHECK(got.events.back().is_exit());
            CHECK(got.events.back().exit_code == -1);  // killed by a signal
        }
        bool gone = co_await eventually([&]() -> asio::awaitable<bool> {
            auto now = co_await cap.commands.list();
            co_return !listed(now, h.pid);
        });
        CHECK(gone);
        co_await cap.destroy();
    });
}

TEST_CASE("stream: typed errors for unknown processes and capsules", "[streams]") {
    local_server srv;
    auto cfg = srv.config();
    std::string id;
    wrenn_test::run(cfg, [&](wrenn::client c) -> asio::awaitable<void> {
        auto cap = co_await capsule::create(c, {.wait = true});
        id = cap.id();
        co_await cap.pause();
    });
    auto e1 = wrenn_test::failure_of(cfg, [&](wrenn::client c) -> asio::awaitable<void> {
        co_await capsule(c, id).commands.connect("no-such-tag");
    });
    // paused: not running
    auto paused = wrenn_test::as<wrenn::conflict_error>(e1);
    CHECK(paused.message().find("paused") != std::string::npos);
    wrenn_test::run(cfg, [&](wrenn::client c) -> asio::awaitable<void> { co_await capsule(c, id).resume(); });

    auto e2 = wrenn_test::failure_of(cfg, [&](wrenn::client c) -> asio::awaitable<void> {
        co_await capsule(c, id).commands.connect("no-such-tag");
    });
    auto nf = wrenn_test::as<wrenn::not_found_error>(e2);
    CHECK(nf.message().find("no-such-tag") != std::string::npos);
    auto e3 = wrenn_test::failure_of(cfg, [&](wrenn::client c) -> asio::awaitable<void> {
        co_await capsule(c, id).commands.connect(999999);
    });
    wrenn_test::as<wrenn::not_found_error>(e3);
    auto e4 = wrenn_test::failure_of(cfg, [&](wrenn::client c) -> asio::awaitable<void> {
        co_await capsule(c, "cl-0000000000000000000000000").commands.stream("true");
    });
    wrenn_test::as<wrenn::not_found_error>(e4);
    auto e5 = wrenn_test::failure_of(cfg, [&](wrenn::client c) -> asio::awaitable<void> {
        co_await capsule(c, "not-an-id").commands.stream("true");
    });
    wrenn_test::as<wrenn::validation_error>(e5);  // refused before the upgrade
    auto bad_key = cfg;
    bad_key.api_key = "wrong";
    auto e6 = wrenn_test::failure_of(bad_key, [&](wrenn::client c) -> asio::awaitable<void> {
        co_await capsule(c, id).commands.stream("true");
    });
    wrenn_test::as<wrenn::authentication_error>(e6);
    auto e7 = wrenn_test::failure_of(cfg, [&](wrenn::client c) -> asio::awaitable<void> {
        co_await capsule(c, id).commands.connect("123");
    });
    wrenn_test::as<wrenn::usage_error>(e7);
}

TEST_CASE("stream: a quiet stream stays open (pings), a dead or frozen server is an error, not a hang",
          "[streams][faults]") {
    auto cfg_with_idle = [](local_server& srv) {
        auto cfg = srv.config();
        cfg.timeouts.idle = 1s;
        return cfg;
    };
    SECTION("no output for 3 idle timeouts: the stream survives") {
        local_server srv;
        wrenn_test::run(cfg_with_idle(srv), [](wrenn::client c) -> asio::awaitable<void> {
            auto cap = co_await capsule::create(c, {.wait = true});
            auto s = co_await cap.commands.stream("sleep 3; echo awake");
            auto got = co_await drain(s);
            CHECK(got.out == "awake\n");
            CHECK(got.events.back().is_exit());
        });
    }
    SECTION("a consumer slower than the idle timeout is not mistaken for a dead server") {
        local_server srv;
        wrenn_test::run(cfg_with_idle(srv), [](wrenn::client c) -> asio::awaitable<void> {
            auto cap = co_await capsule::create(c, {.wait = true});
            auto s = co_await cap.commands.stream("for i in $(seq 1 60); do echo $i; sleep 0.01; done");
            auto first = co_await s.next();
            REQUIRE(first);
            co_await wrenn_test::sleep_for(2500ms);  // the consumer is busy elsewhere
            auto got = co_await drain(s);
            std::string expect;
            for (int i = 1; i <= 60; ++i) expect += std::to_string(i) + "\n";
            CHECK(got.out == expect);
            CHECK(got.events.back().is_exit());
        });
    }
    SECTION("the server is killed mid-stream") {
        local_server srv;
        auto failure = wrenn_test::failure_of(cfg_with_idle(srv), [&](wrenn::client c) -> asio::awaitable<void> {
            auto cap = co_await capsule::create(c, {.wait = true});
            auto s = co_await cap.commands.stream("while true; do echo x; sleep 0.05; done");
            for (;;) {
                auto ev = co_await s.next();
                if (ev && ev->is_stdout()) break;
            }
            srv.kill_now();
            for (;;) (void)co_await s.next();
        });
        REQUIRE(failure);
        try {
            std::rethrow_exception(failure);
        } catch (const wrenn::protocol_error& e) {
            CHECK(e.code() == "stream_ended");
        } catch (const wrenn::transport_error& e) {
            CHECK(e.code() == "connection_lost");
        } catch (const std::exception& e) {
            FAIL("unexpected: " << e.what());
        }
    }
    SECTION("the server freezes mid-stream: timeout_error within the idle timeout") {
        local_server srv;
        auto t0 = std::chrono::steady_clock::now();
        auto failure = wrenn_test::failure_of(cfg_with_idle(srv), [&](wrenn::client c) -> asio::awaitable<void> {
            auto cap = co_await capsule::create(c, {.wait = true});
            auto s = co_await cap.commands.stream("sleep 60");
            t0 = std::chrono::steady_clock::now();
            srv.freeze();
            for (;;) (void)co_await s.next();
        });
        auto waited = std::chrono::steady_clock::now() - t0;
        srv.thaw();
        auto e = wrenn_test::as<wrenn::timeout_error>(failure);
        CHECK(e.code() == "idle_timeout");
        CHECK(waited < 10s);  // a bound against hanging, not a speed target
    }
}

TEST_CASE("stream: cancelling or dropping the consumer stops following, the process keeps running",
          "[streams]") {
    local_server srv;
    wrenn_test::run(srv.config(), [](wrenn::client c) -> asio::awaitable<void> {
        auto cap = co_await capsule::create(c, {.wait = true});
        auto ex = co_await asio::this_coro::executor;
        int pid = 0;
        {
            auto s = co_await cap.commands.stream("sleep 120");
            pid = s.pid();
            auto first = co_await s.next();
            REQUIRE(first);
            CHECK(first->is_start());
            asio::steady_timer t(ex, 200ms);
            auto winner = co_await (s.next() || t.async_wait(asio::use_awaitable));
            CHECK(winner.index() == 1);  // the timer: the read was cancelled
            CHECK(s.done());
            auto after = co_await s.next();
            CHECK_FALSE(after);
        }
        auto ps = co_await cap.commands.list();
        CHECK(listed(ps, pid));  // stop does not kill (WIRE.md §8.1)
        int pid2 = 0;
        {
            auto s = co_await cap.commands.stream("sleep 120");
            pid2 = s.pid();
        }  // destroyed without reading
        ps = co_await cap.commands.list();
        CHECK(listed(ps, pid2));
        co_await cap.commands.kill(pid);
        co_await cap.commands.kill(pid2);
        co_await cap.destroy();
    });
}

TEST_CASE("run with on_stdout/on_stderr: callbacks fire while the command runs", "[streams][commands]") {
    auto tls = GENERATE(false, true);
    CAPTURE(tls);
    local_server srv({.tls = tls});
    wrenn_test::run(srv.config(), [](wrenn::client c) -> asio::awaitable<void> {
        auto cap = co_await capsule::create(c, {.wait = true});
        auto ex = co_await asio::this_coro::executor;
        // The command waits for a file that only the stdout callback creates:
        // it can finish only if the callback fired before the command ended.
        std::string out_seen, err_seen;
        bool released = false;
        auto on_out = [&](std::string_view chunk) {
            out_seen += chunk;
            if (!released && out_seen.find("ready") != std::string::npos) {
                released = true;
                asio::co_spawn(ex, cap.files.write("/tmp/go", std::string_view("1")), asio::detached);
            }
        };
        auto on_err = [&](std::string_view chunk) { err_seen += chunk; };
        const wrenn::env_var env[] = {{"WHO", "cb"}};
        auto r = co_await cap.commands.run(
            "echo ready; echo warn >&2; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo \"done $WHO\"; pwd; exit 4",
            {.timeout = 30s, .envs = env, .cwd = "/tmp", .on_stdout = on_out, .on_stderr = on_err});
        CHECK(released);
        CHECK(r.exit_code == 4);
        CHECK(r.stdout_text == "ready\ndone cb\n/tmp\n");
        CHECK(out_seen == r.stdout_text);
        CHECK(r.stderr_text == "warn\n");
        CHECK(err_seen == "warn\n");
        CHECK(r.pid > 0);
        CHECK(r.duration_ms.has_value());

        // timeout: timeout_error, and the command is killed
        std::string seen;
        auto slow = cap.commands.run("echo started; exec sleep 60",
                                     {.timeout = 1s, .on_stdout = [&](std::string_view s) { seen += s; }});
        std::exception_ptr failure;
        try {
            co_await std::move(slow);
        } catch (...) {
            failure = std::current_exception();
        }
        auto e = wrenn_test::as<wrenn::timeout_error>(failure);
        CHECK(e.code() == "command_timeout");
        CHECK(seen == "started\n");
        auto ps = co_await cap.commands.list();
        bool sleeping = std::any_of(ps.begin(), ps.end(), [](auto& p) {
            return p.args && !p.args->empty() && p.args->back().find("sleep 60") != std::string::npos;
        });
        CHECK_FALSE(sleeping);

        // a failing callback is reported as itself, at once (not as a timeout), and the command is killed
        failure = nullptr;
        auto boom = [](std::string_view) { throw std::runtime_error("callback failed"); };
        try {
            co_await cap.commands.run("echo boom; exec sleep 60", {.timeout = 20s, .on_stdout = boom});
        } catch (...) {
            failure = std::current_exception();
        }
        auto cb = wrenn_test::as<std::runtime_error>(failure);
        CHECK(std::string(cb.what()) == "callback failed");

        // background + callbacks is refused before any I/O
        CHECK_THROWS_AS(cap.commands.run("x", {.background = true, .on_stdout = on_err}), wrenn::usage_error);
        co_await cap.destroy();
    });
}

TEST_CASE("stream: the blocking API iterates with range-for", "[streams][sync]") {
    local_server srv;
    wrenn::sync::client c(srv.config());
    wrenn::sync::scoped_capsule cap(c, {.wait = true});
    std::string out;
    int exit_code = -2;
    bool first_is_start = false, first = true;
    for (const auto& ev : cap->commands.stream("echo a; echo b")) {
        if (first) first_is_start = ev.is_start();
        first = false;
        if (ev.is_stdout()) out += ev.data;
        if (ev.is_exit()) exit_code = ev.exit_code;
    }
    CHECK(first_is_start);
    CHECK(out == "a\nb\n");
    CHECK(exit_code == 0);

    // it prints only once released, so attaching first cannot miss the line
    auto h = cap->commands.run("while [ ! -e /tmp/release ]; do sleep 0.05; done; echo bye",
                               {.background = true, .tag = "bye"});
    auto s = cap->commands.connect("bye");
    CHECK(s.pid() == h.pid);
    cap->files.write("/tmp/release", std::string_view("1"));
    std::string tail;
    for (const auto& ev : s)
        if (ev.is_stdout()) tail += ev.data;
    CHECK(tail == "bye\n");
    CHECK(s.exit_code() == std::optional<int>(0));
}

TEST_CASE("stream: a second next() while one waits is a usage_error, and the stream goes on", "[streams]") {
    local_server srv;
    wrenn_test::run(srv.config(), [](wrenn::client c) -> asio::awaitable<void> {
        auto cap = co_await capsule::create(c, {.wait = true});
        auto ex = co_await asio::this_coro::executor;
        auto s = co_await cap.commands.stream("while [ ! -e /tmp/go ]; do sleep 0.05; done; echo late");
        auto first = co_await s.next();
        REQUIRE(first);
        CHECK(first->is_start());
        std::optional<wrenn::stream_event> got;
        asio::steady_timer done(ex, 15s);  // cancelled once the first next() has its event
        bool waiting = co_await wrenn_test::next_in_background(s, got, done);
        REQUIRE(waiting);
        std::string code;
        try {
            (void)co_await s.next();
        } catch (const wrenn::usage_error& e) {
            code = e.code();
        }
        CHECK(code == "concurrent_receive");
        CHECK_FALSE(s.done());
        auto go = co_await cap.commands.run("touch /tmp/go");
        CHECK(go.exit_code == 0);
        co_await done.async_wait(asio::as_tuple(asio::use_awaitable));
        REQUIRE(got);
        CHECK(got->is_stdout());
        CHECK(got->data == "late\n");
        auto rest = co_await drain(s);
        REQUIRE_FALSE(rest.events.empty());
        CHECK(rest.events.back().is_exit());
        co_await cap.destroy();
    });
}
