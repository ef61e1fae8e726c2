// Capsule lifecycle and foreground commands against a real wrenn-local,
// over HTTP and over TLS.
#include <catch2/catch.hpp>

#include <cstdlib>

#include <wrenn/wrenn.hpp>
#include <wrenn/protocol/answers.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "async.hpp"
#include "local_server.hpp"
#include "run.hpp"

#include <algorithm>
#include <sstream>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using wrenn::capsule;
using wrenn::capsule_state;
using wrenn_test::local_server;
using wrenn_test::sleep_for;

namespace {
bool listed(const std::vector<wrenn::capsule_info>& all, const std::string& id) {
    return std::any_of(all.begin(), all.end(), [&](auto& c) { return c.id == id; });
}
} // namespace

TEST_CASE("create, run commands, destroy", "[lifecycle]") {
    auto tls = GENERATE(false, true);
    CAPTURE(tls);
    local_server srv({.tls = tls});
    wrenn_test::run(srv.config(), [](wrenn::client c) -> asio::awaitable<void> {
        auto cap = co_await capsule::create(c, {.wait = true});
        REQUIRE(cap.info());
        CHECK(cap.info()->status == capsule_state::running);
        CHECK(cap.id().rfind("cl-", 0) == 0);
        CHECK(cap.id().size() == 28);
        CHECK(cap.info()->template_name == "minimal-ubuntu");
        {
            auto v0 = co_await cap.is_running();
            CHECK(v0);
        }

        auto hello = co_await cap.commands.run("echo hello");
        CHECK(hello.stdout_text == "hello\n");
        CHECK(hello.stderr_text.empty());
        CHECK(hello.exit_code == 0);
        CHECK(hello.duration_ms.has_value());

        auto mixed = co_await cap.commands.run("echo out; echo err >&2; exit 3");
        CHECK(mixed.stdout_text == "out\n");
        CHECK(mixed.stderr_text == "err\n");
        CHECK(mixed.exit_code == 3);

        const wrenn::env_var vars[] = {{"GREETING", "hi"}, {"OTHER", "there"}};
        auto env = co_await cap.commands.run("echo \"$GREETING $OTHER\"", {.envs = vars});
        CHECK(env.stdout_text == "hi there\n");

        auto home = co_await cap.commands.run("pwd; echo $HOME");
        CHECK(home.stdout_text == "/home/wrenn-user\n/home/wrenn-user\n");

        auto mk = co_await cap.commands.run("mkdir -p /app/sub && echo data > /app/sub/f");
        CHECK(mk.exit_code == 0);
        auto cwd = co_await cap.commands.run("pwd; cat sub/f", {.cwd = "/app"});
        CHECK(cwd.stdout_text == "/app\ndata\n");

        // Output that is not UTF-8 comes back byte-exact.
        auto raw = co_await cap.commands.run("printf '\\377\\376A'; printf '\\200' >&2");
        CHECK(raw.stdout_text == std::string("\xff\xfe" "A"));
        CHECK(raw.stderr_text == std::string("\x80"));

        auto missing = co_await cap.commands.run("no-such-program-xyz");
        CHECK(missing.exit_code == 127);

        auto listed_before = co_await capsule::list(c);
        CHECK(listed(listed_before, cap.id()));

        co_await cap.destroy();
        auto after = co_await cap.get_info();
        CHECK(after.status == capsule_state::stopped);
        {
            auto v1 = co_await capsule::list(c);
            CHECK_FALSE(listed(v1, cap.id()));
        }
        // destroy is idempotent
        co_await capsule::destroy(c, cap.id());
    });
}

TEST_CASE("capsules are isolated from each other and from the host", "[lifecycle]") {
    local_server srv;
    wrenn_test::run(srv.config(), [](wrenn::client c) -> asio::awaitable<void> {
        auto a = co_await capsule::create(c, {.wait = true});
        auto b = co_await capsule::create(c, {.wait = true});
        {
            auto v2 = co_await a.commands.run("echo secret > /tmp/only-a && echo mine > ~/note");
            CHECK(v2.exit_code == 0);
        }
        {
            auto v3 = co_await a.commands.run("cat /tmp/only-a ~/note");
            CHECK(v3.stdout_text == "secret\nmine\n");
        }
        {
            auto v4 = co_await b.commands.run("test -e /tmp/only-a");
            CHECK(v4.exit_code != 0);
        }
        {
            auto v5 = co_await b.commands.run("test -e ~/note");
            CHECK(v5.exit_code != 0);
        }
        // host system directories are read-only inside
        {
            auto v6 = co_await b.commands.run("touch /usr/wrenn-write-test");
            CHECK(v6.exit_code != 0);
        }
        co_await a.destroy();
        co_await b.destroy();
    });
}

TEST_CASE("a foreground command past its timeout is killed", "[lifecycle]") {
    auto tls = GENERATE(false, true);
    CAPTURE(tls);
    local_server srv({.tls = tls});
    wrenn_test::run(srv.config(), [](wrenn::client c) -> asio::awaitable<void> {
        auto cap = co_await capsule::create(c, {.wait = true});
        bool timed_out = false;
        try {
            co_await cap.commands.run("sleep 2; touch /tmp/late", {.timeout = 1s});
        } catch (const wrenn::agent_error& e) {
            timed_out = true;
            CHECK(std::string(e.what()).find("deadline") != std::string::npos);
        }
        CHECK(timed_out);
        // Had it survived, it would touch the file 2 s after starting.
        co_await sleep_for(2500ms);
        {
            auto v7 = co_await cap.commands.run("test -e /tmp/late");
            CHECK(v7.exit_code == 1);
        }
        co_await cap.destroy();
    });
}

TEST_CASE("pause freezes the capsule's processes and resume continues them", "[lifecycle]") {
    auto tls = GENERATE(false, true);
    CAPTURE(tls);
    local_server srv({.tls = tls});
    wrenn_test::run(srv.config(), [](wrenn::client c) -> asio::awaitable<void> {
        auto cap = co_await capsule::create(c, {.wait = true});
        // A background ticker writing a timestamp (ms) every 50 ms.
        wrenn::exec_request ticker = wrenn::protocol::shell_exec_request(
            "while :; do date +%s%3N >> /tmp/ticks; sleep 0.05; done");
        co_await c.capsules().exec_background(cap.id(), ticker);
        // wait until it ticks
        for (int i = 0; i < 100; ++i) {
            if ((co_await cap.commands.run("test -s /tmp/ticks")).exit_code == 0) break;
            co_await sleep_for(50ms);
        }
        auto paused = co_await cap.pause();
        CHECK(paused.status == capsule_state::paused);
        {
            auto v8 = co_await cap.is_running();
            CHECK_FALSE(v8);
        }

        bool refused = false;
        try {
            co_await cap.commands.run("true");
        } catch (const wrenn::conflict_error& e) {
            refused = e.code() == "invalid_state" && e.status() == 409;
        }
        CHECK(refused);

        bool fails_fast = false;
        try {
            co_await cap.wait_ready({.timeout = 10s});
        } catch (const wrenn::capsule_state_error&) {
            fails_fast = true;
        }
        CHECK(fails_fast);

        co_await sleep_for(1500ms);  // the window in which a frozen ticker must not tick
        auto resumed = co_await cap.resume();
        CHECK(resumed.status == capsule_state::running);
        co_await cap.wait_ready();
        co_await cap.ping();

        // Wait (10 s at most) for two ticks after the resume: a loaded
        // machine may take a moment to schedule the thawed ticker.
        auto lines = [&]() -> asio::awaitable<long> {
            auto r = co_await cap.commands.run("wc -l < /tmp/ticks");
            co_return std::atol(r.stdout_text.c_str());
        };
        const long at_resume = co_await lines();
        for (int i = 0; i < 200; ++i) {
            if (co_await lines() >= at_resume + 2) break;
            co_await sleep_for(50ms);
        }
        // Find the largest gap between consecutive ticks: the pause.
        auto ticks = (co_await cap.commands.run("cat /tmp/ticks")).stdout_text;
        std::istringstream in(ticks);
        long long prev = 0, t = 0, gap = 0;
        while (in >> t) {
            if (prev) gap = std::max(gap, t - prev);
            prev = t;
        }
        CHECK(gap >= 1400);
        co_await cap.destroy();
    });
}

TEST_CASE("connect binds to an existing capsule and resumes it when paused", "[lifecycle]") {
    auto tls = GENERATE(false, true);
    CAPTURE(tls);
    local_server srv({.tls = tls});
    wrenn_test::run(srv.config(), [](wrenn::client c) -> asio::awaitable<void> {
        auto cap = co_await capsule::create(c, {.wait = true});
        co_await cap.pause();
        auto again = co_await capsule::connect(c, cap.id());
        CHECK(again.id() == cap.id());
        CHECK(again.info()->status == capsule_state::running);
        {
            auto v9 = co_await again.commands.run("echo back");
            CHECK(v9.stdout_text == "back\n");
        }
        co_await capsule::destroy(c, cap.id());
        bool stopped_fails = false;
        try {
            co_await again.wait_ready({.timeout = 5s});
        } catch (const wrenn::capsule_state_error&) {
            stopped_fails = true;
        }
        CHECK(stopped_fails);
    });
}

TEST_CASE("metrics, ping, team stats and usage", "[lifecycle]") {
    auto tls = GENERATE(false, true);
    CAPTURE(tls);
    local_server srv({.tls = tls});
    wrenn_test::run(srv.config(), [](wrenn::client c) -> asio::awaitable<void> {
        auto cap = co_await capsule::create(c, {.vcpus = 2, .memory_mb = 256, .timeout_sec = 0, .wait = true});
        CHECK(cap.info()->vcpus == 2);
        CHECK(cap.info()->memory_mb == 256);
        co_await cap.ping();
        auto m = co_await cap.metrics("5m");
        CHECK(m.capsule_id == cap.id());
        CHECK(m.range == "5m");
        auto stats = co_await c.capsules().stats();
        CHECK(stats.current.running_count >= 1);
        auto usage = co_await c.capsules().usage();
        CHECK_FALSE(usage.from.empty());
        co_await cap.destroy();
    });
}

TEST_CASE("snapshots keep a capsule's files as a template", "[lifecycle][snapshot]") {
    auto answer = GENERATE(std::string("202"), std::string("201"));
    CAPTURE(answer);
    auto tls = GENERATE(false, true);
    CAPTURE(tls);
    local_server srv({.tls = tls, .extra_args = {"--snapshot-answer", answer}});
    wrenn_test::run(srv.config(), [&](wrenn::client c) -> asio::awaitable<void> {
        auto cap = co_await capsule::create(c, {.wait = true});
        {
            auto v10 = co_await cap.commands.run("mkdir -p /app && echo kept > /app/data");
            CHECK(v10.exit_code == 0);
        }
        auto snap = co_await cap.create_snapshot("snap-test");
        CHECK(snap.name == "snap-test");
        if (answer == "202") {
            REQUIRE(snap.capsule);
            CHECK(snap.capsule->status == capsule_state::snapshotting);
        } else {
            REQUIRE(snap.snapshot);
            CHECK(snap.snapshot->name == "snap-test");
            CHECK(snap.snapshot->type == "snapshot");
        }
        // The template appears once the copy is done.
        bool present = false;
        for (int i = 0; i < 200 && !present; ++i) {
            auto all = co_await c.snapshots().list("snapshot");
            present = std::any_of(all.begin(), all.end(), [](auto& t) { return t.name == "snap-test"; });
            if (!present) co_await sleep_for(50ms);
        }
        REQUIRE(present);
        auto bases = co_await c.snapshots().list("base");
        CHECK(std::any_of(bases.begin(), bases.end(), [](auto& t) { return t.name == "minimal" && t.platform; }));

        auto child = co_await capsule::create(c, {.template_name = "snap-test", .wait = true});
        {
            auto v11 = co_await child.commands.run("cat /app/data");
            CHECK(v11.stdout_text == "kept\n");
        }
        co_await child.destroy();
        co_await cap.destroy();
        co_await c.snapshots().remove("snap-test");
        auto after = co_await c.snapshots().list();
        CHECK_FALSE(std::any_of(after.begin(), after.end(), [](auto& t) { return t.name == "snap-test"; }));
    });
}

TEST_CASE("with_capsule destroys the capsule also when the body throws", "[lifecycle]") {
    auto tls = GENERATE(false, true);
    CAPTURE(tls);
    local_server srv({.tls = tls});
    wrenn_test::run(srv.config(), [](wrenn::client c) -> asio::awaitable<void> {
        std::string id;
        bool thrown = false;
        try {
            co_await wrenn::with_capsule(c, {.wait = true}, [&](capsule& cap) -> asio::awaitable<void> {
                id = cap.id();
                co_await cap.commands.run("true");
                throw std::runtime_error("boom");
            });
        } catch (const std::runtime_error& e) {
            thrown = std::string(e.what()) == "boom";
        }
        CHECK(thrown);
        REQUIRE_FALSE(id.empty());
        {
            auto v12 = co_await c.capsules().get(id);
            CHECK(v12.status == capsule_state::stopped);
        }

        auto value = co_await wrenn::with_capsule(c, {}, [&](capsule& cap) -> asio::awaitable<std::string> {
            id = cap.id();
            co_return (co_await cap.commands.run("echo 42")).stdout_text;
        });
        CHECK(value == "42\n");
        {
            auto v13 = co_await c.capsules().get(id);
            CHECK(v13.status == capsule_state::stopped);
        }

        // a body may own what it captures (move-only). (Named, not a temporary
        // in the co_await: g++ 12 destroys such a temporary's captures twice.)
        std::string out;
        auto body = [&out, &id, cmd = std::make_unique<std::string>("echo owned")](capsule& cap)
            -> asio::awaitable<void> {
            id = cap.id();
            out = (co_await cap.commands.run(*cmd)).stdout_text;
        };
        co_await wrenn::with_capsule(c, {}, std::move(body));
        CHECK(out == "owned\n");
        {
            auto v14 = co_await c.capsules().get(id);
            CHECK(v14.status == capsule_state::stopped);
        }
    });
}

TEST_CASE("a client made from an io_context runs on that context", "[lifecycle]") {
    local_server srv;
    asio::io_context ioc;
    wrenn::client c(ioc, srv.config());
    CHECK(c.get_executor() == asio::any_io_executor(ioc.get_executor()));
    std::optional<std::size_t> listed_count;
    std::exception_ptr failure;
    asio::co_spawn(
        c.get_executor(), [](wrenn::client c) -> asio::awaitable<std::size_t> { co_return (co_await c.capsules().list()).size(); }(c),
        [&](std::exception_ptr e, std::size_t n) {
            failure = e;
            if (!e) listed_count = n;
        });
    ioc.run();  // returns once the request is done: nothing of the client keeps it busy
    if (failure) std::rethrow_exception(failure);
    CHECK(listed_count == 0u);
}
