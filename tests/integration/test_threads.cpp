// One client shared by many threads, against a real wrenn-local: an
// io_context run by 4 threads, and two io_contexts of 2 threads each sharing
// the client, drive mixed operations (foreground and callback runs, streams
// read to exit, terminals, files and streamed transfers, get/list, code
// cells on one runner, operations cancelled by timers mid-flight) on 20
// capsules, with no strand or lock in the test. Every result is checked
// against its own capsule and input. The blocking client is shared by 8
// threads the same way. Proven clean under ThreadSanitizer in CI.
//
// WRENN_THREADS_OPERATIONS overrides the number of mixed operations (2,000).
#include <catch2/catch.hpp>

#include <wrenn/wrenn.hpp>
#include <wrenn/sync/capsule.hpp>
#include <wrenn/sync/client.hpp>

#include "build_kind.hpp"
#include "local_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <thread>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using wrenn::capsule;
using wrenn_test::local_server;

namespace {

int operation_count() {
    if (const char* v = std::getenv("WRENN_THREADS_OPERATIONS")) return std::max(1, std::atoi(v));
    return 2000;
}

// io_contexts run by threads of their own until the test is over.
struct thread_pool {
    std::vector<std::unique_ptr<asio::io_context>> contexts;
    std::vector<asio::executor_work_guard<asio::io_context::executor_type>> work;
    std::vector<std::thread> threads;

    thread_pool(int contexts_n, int threads_each) {
        for (int k = 0; k < contexts_n; ++k) {
            contexts.push_back(std::make_unique<asio::io_context>(threads_each));
            work.push_back(asio::make_work_guard(*contexts.back()));
        }
        for (auto& ctx : contexts)
            for (int t = 0; t < threads_each; ++t) threads.emplace_back([c = ctx.get()] { c->run(); });
    }
    ~thread_pool() { stop(); }
    void stop() {
        work.clear();
        for (auto& ctx : contexts) ctx->stop();
        for (auto& t : threads)
            if (t.joinable()) t.join();
    }
    asio::any_io_executor executor(std::size_t k) { return contexts[k % contexts.size()]->get_executor(); }
};

// Waits for a future the pool's threads complete, within a deadline.
template <class T>
T await_future(std::future<T>& f, std::chrono::seconds limit, const char* what) {
    if (f.wait_for(limit) != std::future_status::ready) FAIL(std::string(what) + ": not done within the deadline");
    return f.get();
}

struct outcomes {
    std::mutex mu;
    std::vector<std::string> failures;
    void fail(std::string what) {
        std::lock_guard lock(mu);
        failures.push_back(std::move(what));
    }
    std::string first() {
        std::lock_guard lock(mu);
        return failures.empty() ? std::string("none") : failures.front();
    }
    std::size_t count() {
        std::lock_guard lock(mu);
        return failures.size();
    }
};

// Reads a terminal until `needle` shows, within 20 s.
asio::awaitable<bool> read_until(wrenn::pty_session& s, const std::string& needle) {
    auto ex = co_await asio::this_coro::executor;
    auto deadline = std::chrono::steady_clock::now() + 20s;
    std::string screen;
    while (screen.find(needle) == std::string::npos) {
        asio::steady_timer t(ex, deadline);
        auto r = co_await (s.next() || t.async_wait(asio::use_awaitable));
        if (r.index() == 1) co_return false;
        auto ev = std::get<0>(std::move(r));
        if (!ev || ev->is_exit()) co_return false;
        if (ev->is_output()) screen += ev->data;
    }
    co_return true;
}

std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// One mixed operation, number i, on caps[i % caps.size()]. Returns what
// went wrong ("" when the result is the one expected).
asio::awaitable<std::string> mixed_operation(wrenn::client& c, std::vector<capsule>& caps, wrenn::code_runner& runner,
                                             const std::filesystem::path& dir, int i) {
    auto& cap = caps[static_cast<std::size_t>(i) % caps.size()];
    const std::string n = std::to_string(i);
    const std::string expect = n + "@" + cap.id();
    const std::string who = "printf '%s@' " + n + "; cat /tmp/whoami";
    auto ex = co_await asio::this_coro::executor;
    std::string got;
    switch (i % 10) {
    case 0: {
        auto r = co_await cap.commands.run(who);
        got = r.stdout_text;
        break;
    }
    case 1: {
        std::string out;
        auto r = co_await cap.commands.run(who, {.on_stdout = [&](std::string_view s) { out += s; }});
        got = out;
        if (r.stdout_text != out) got += " (result differs from callbacks: '" + r.stdout_text + "')";
        break;
    }
    case 2: {
        auto s = co_await cap.commands.stream(who);
        while (auto ev = co_await s.next())
            if (ev->is_stdout()) got += ev->data;
        if (s.exit_code() != 0) got += " (exit " + std::to_string(s.exit_code().value_or(-1)) + ")";
        break;
    }
    case 3: {
        auto term = co_await cap.pty({.cmd = "cat"});
        co_await term.write("typed-" + expect + "\n");
        bool seen = co_await read_until(term, "typed-" + expect);
        co_await term.close();
        got = seen ? expect : "(the terminal did not echo 'typed-" + expect + "')";
        break;
    }
    case 4: {
        auto path = "/tmp/op-" + n;
        co_await cap.files.write(path, std::string_view(expect));
        got = co_await cap.files.read(path);
        break;
    }
    case 5: {
        auto up = dir / ("up-" + n), down = dir / ("down-" + n);
        std::string body(64 * 1024 + static_cast<std::size_t>(i), 'x');
        body.replace(0, expect.size(), expect);
        std::ofstream(up, std::ios::binary) << body;
        co_await cap.files.upload_stream("/tmp/big-" + n, up);
        auto size = co_await cap.files.download_stream("/tmp/big-" + n, down);
        auto back = slurp(down);
        got = back == body && size == body.size() ? expect : "(streamed transfer differs: " + std::to_string(size) + " bytes)";
        std::filesystem::remove(up);
        std::filesystem::remove(down);
        break;
    }
    case 6: {
        auto info = co_await c.capsules().get(cap.id());
        got = n + "@" + info.id;
        if (!(info.status == wrenn::capsule_state::running)) got += " (not running)";
        break;
    }
    case 7: {
        auto all = co_await capsule::list(c);
        bool listed = std::any_of(all.begin(), all.end(), [&](const auto& x) { return x.id == cap.id(); });
        got = listed ? expect : "(not listed)";
        break;
    }
    case 8: {
        if (i % 20 == 8) {  // a code cell on the one shared runner
            auto cell = co_await runner.run_code("print('" + expect + "')");
            got = cell.logs.stdout_text();
            if (!got.empty() && got.back() == '\n') got.pop_back();
            if (cell.error) got += " (error " + cell.error->name + ")";
        } else {  // a terminal resize and kill
            auto term = co_await cap.pty({.cmd = "cat"});
            co_await term.resize(100, 30);
            co_await term.kill();
            std::optional<int> code;
            for (;;) {
                auto ev = co_await term.next();
                if (!ev) break;
                if (ev->is_exit()) code = ev->exit_code;
            }
            got = code ? expect : "(the killed terminal reported no exit)";
        }
        break;
    }
    default: {
        // cancelled by a timer mid-flight: a run, or a stream's next()
        const auto after_ms = std::chrono::milliseconds(20 + i % 80);
        if (i % 20 == 9) {
            asio::steady_timer t(ex, after_ms);
            // (a plain run's command, cancelled, runs on until its own timeout: README, Threads)
            auto r = co_await (cap.commands.run("sleep 3; echo late", {.timeout = 4s}) ||
                               t.async_wait(asio::use_awaitable));
            got = r.index() == 1 ? expect : "(the 3 s command beat the timer)";
        } else {
            auto s = co_await cap.commands.stream("sleep 30; echo late");
            auto start = co_await s.next();  // there already: not what the timer is for
            if (!start || !start->is_start()) co_return "the stream began with no start event";
            asio::steady_timer t(ex, after_ms);
            auto r = co_await (s.next() || t.async_wait(asio::use_awaitable));
            // a cancelled next() ends the stream and leaves the command running (README): stop it here
            auto after = co_await s.next();
            co_await cap.commands.kill(s.pid());
            if (r.index() != 1) got = "(the stream of a 30 s command gave an event before the timer)";
            else if (after) got = "(the stream gave an event after its next() was cancelled)";
            else got = expect;
        }
        break;
    }
    }
    co_return got == expect ? std::string() : "expected '" + expect + "', got '" + got + "'";
}

// The whole run: 20 capsules made at once, a code runner, `operations` mixed
// operations spread over the pool's io_contexts 32 at a time, then every
// capsule checked and destroyed.
void drive(thread_pool& pool, wrenn::client& c, int operations) {
    constexpr int capsule_count = 20, width = 32;
    auto dir = std::filesystem::temp_directory_path() / ("wrenn-threads-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);

    // (optional: co_spawn's result must be default-constructible)
    std::vector<std::future<std::optional<capsule>>> creating;
    for (int k = 0; k < capsule_count; ++k)
        creating.push_back(asio::co_spawn(
            pool.executor(static_cast<std::size_t>(k)),
            [&c]() -> asio::awaitable<std::optional<capsule>> {
                auto cap = co_await capsule::create(c, {.wait = true});
                co_await cap.files.write("/tmp/whoami", std::string_view(cap.id()));
                co_return cap;
            },
            asio::use_future));
    auto runner_future = asio::co_spawn(
        pool.executor(0),
        [&c]() -> asio::awaitable<std::optional<wrenn::code_runner>> {
            co_return co_await wrenn::code_runner::create(c, {.wait = true});
        },
        asio::use_future);
    std::vector<capsule> caps;
    for (auto& f : creating) caps.push_back(*await_future(f, 300s, "creating the capsules"));
    auto runner = *await_future(runner_future, 300s, "creating the code runner");

    std::atomic<int> next = 0;
    std::vector<std::atomic<int>> completed(static_cast<std::size_t>(operations));
    outcomes out;
    std::vector<std::future<void>> workers;
    for (int w = 0; w < width; ++w)
        workers.push_back(asio::co_spawn(
            pool.executor(static_cast<std::size_t>(w)),
            [&]() -> asio::awaitable<void> {
                for (int i; (i = next++) < operations;) {
                    try {
                        auto problem = co_await mixed_operation(c, caps, runner, dir, i);
                        if (!problem.empty()) out.fail("operation " + std::to_string(i) + ": " + problem);
                    } catch (const std::exception& e) {
                        out.fail("operation " + std::to_string(i) + " threw: " + e.what());
                    }
                    ++completed[static_cast<std::size_t>(i)];
                }
            },
            asio::use_future));
    for (auto& f : workers) await_future(f, 900s, "the mixed operations");
    INFO("failures: " << out.count() << ", first: " << out.first());
    CHECK(out.count() == 0);
    CHECK(std::all_of(completed.begin(), completed.end(), [](auto& n) { return n.load() == 1; }));

    // Every capsule still answers, and the cancelled commands were killed.
    std::vector<std::future<std::string>> checks;
    for (std::size_t k = 0; k < caps.size(); ++k)
        checks.push_back(asio::co_spawn(
            pool.executor(k),
            [&cap = caps[k]]() -> asio::awaitable<std::string> {
                auto r = co_await cap.commands.run("cat /tmp/whoami");
                auto procs = co_await cap.commands.list();
                std::string out = r.stdout_text;
                for (auto& p : procs) {
                    std::string line = p.cmd.value_or("");
                    for (auto& a : p.args.value_or(std::vector<std::string>{})) line += " " + a;
                    if (line.find("sleep 30") != std::string::npos) out += " (a cancelled stream's command still runs)";
                }
                co_await cap.destroy();
                co_return out;
            },
            asio::use_future));
    for (std::size_t k = 0; k < caps.size(); ++k) CHECK(await_future(checks[k], 120s, "the final checks") == caps[k].id());
    auto gone = asio::co_spawn(pool.executor(0), runner.destroy(), asio::use_future);
    await_future(gone, 60s, "destroying the code runner");
    std::filesystem::remove_all(dir);
}

// The server's config, with room for connecting under a sanitizer: hundreds
// of operations start at once, and each new connection's TLS handshake (or
// a kernel's WebSocket upgrade) then queues behind the others on both sides.
wrenn::config threads_config(const local_server& srv) {
    auto cfg = srv.config();
    cfg.timeouts.connect *= wrenn_test::slowdown;
    return cfg;
}

} // namespace

TEST_CASE("threads: one client on an io_context run by 4 threads, mixed operations on 20 capsules", "[threads]") {
    auto tls = GENERATE(false, true);
    CAPTURE(tls);
    local_server srv({.tls = tls});
    thread_pool pool(1, 4);
    wrenn::client c(pool.executor(0), threads_config(srv));
    drive(pool, c, operation_count() / 2);
    pool.stop();
}

TEST_CASE("threads: two io_contexts of 2 threads each share one client", "[threads]") {
    local_server srv;
    thread_pool pool(2, 2);
    wrenn::client c(pool.executor(0), threads_config(srv));
    drive(pool, c, operation_count());
    pool.stop();
}

TEST_CASE("threads: one blocking client shared by 8 threads, each call blocking its own thread only", "[threads]") {
    local_server srv;
    wrenn::sync::client c(threads_config(srv));
    std::vector<wrenn::sync::capsule> caps;
    for (int k = 0; k < 4; ++k) {
        caps.push_back(wrenn::sync::capsule::create(c, {.wait = true}));
        caps.back().files.write("/tmp/whoami", std::string_view(caps.back().id()));
    }
    outcomes out;
    std::atomic<int> done = 0;
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&, t] {
            for (int j = 0; j < 25; ++j) {
                int i = t * 100 + j;
                auto& cap = caps[static_cast<std::size_t>(i) % caps.size()];
                std::string expect = std::to_string(i) + "@" + cap.id(), got;
                try {
                    switch (j % 4) {
                    case 0: got = cap.commands.run("printf '%s@' " + std::to_string(i) + "; cat /tmp/whoami").stdout_text; break;
                    case 1: {
                        auto path = "/tmp/sync-" + std::to_string(i);
                        cap.files.write(path, std::string_view(expect));
                        got = cap.files.read(path);
                        break;
                    }
                    case 2: {
                        for (const auto& ev : cap.commands.stream("printf '%s@' " + std::to_string(i) + "; cat /tmp/whoami"))
                            if (ev.is_stdout()) got += ev.data;
                        break;
                    }
                    default: got = std::to_string(i) + "@" + c.capsules().get(cap.id()).id; break;
                    }
                } catch (const std::exception& e) {
                    got = std::string("threw: ") + e.what();
                }
                if (got != expect) out.fail("call " + std::to_string(i) + ": expected '" + expect + "', got '" + got + "'");
                ++done;
            }
        });
    for (auto& th : threads) th.join();
    INFO("failures: " << out.count() << ", first: " << out.first());
    CHECK(out.count() == 0);
    CHECK(done == 200);
    for (auto& cap : caps) cap.destroy();
}
