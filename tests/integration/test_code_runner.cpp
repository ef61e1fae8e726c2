// The code runner against real Jupyter servers in wrenn-local capsules
// (template code-runner-beta), reached through the capsule proxy.
#include <catch2/catch.hpp>

#include <wrenn/wrenn.hpp>
#include <wrenn/impl/client_impl.hpp>
#include <wrenn/detail/http.hpp>

#include "build_kind.hpp"
#include "expect.hpp"
#include "local_server.hpp"
#include "run.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>


namespace asio = boost::asio;
using namespace std::chrono_literals;
using wrenn::code_runner;
using wrenn::log_chunk;
using wrenn::log_stream;
using wrenn_test::local_server;

namespace {

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

std::uint32_t big_endian32(const std::string& s, std::size_t at) {
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
    return v;
}

// GET `url` (http(s)://host[:port]/path) with the SDK's own transport.
asio::awaitable<wrenn::detail::http_response> http_get(const wrenn::client& c, const std::string& url) {
    auto parsed = wrenn::protocol::parse_url(url);
    REQUIRE(parsed);
    wrenn::detail::transport_settings ts;
    ts.origin = *parsed;
    ts.ca_file = wrenn::detail::client_access::impl(c)->cfg.ca_file;
    auto t = wrenn::detail::make_http_transport(wrenn::detail::client_access::impl(c)->executor, ts);
    wrenn::detail::http_request req;
    req.target = parsed->path.empty() ? "/" : parsed->path;
    co_return co_await wrenn::detail::send(t, std::move(req));
}

std::string http_form(std::string ws_url) {
    auto scheme_end = ws_url.find("://");
    return (ws_url.rfind("wss", 0) == 0 ? "https" : "http") + ws_url.substr(scheme_end);
}

} // namespace

TEST_CASE("code runner: state persists across cells, results are verbatim, output and errors are in order",
          "[code_runner]") {
    local_server srv;
    wrenn_test::run(srv.config(), [](wrenn::client c) -> asio::awaitable<void> {
        auto runner = co_await code_runner::create(c, {.wait = true});
        CHECK(runner.kernel_name() == "wrenn");
        CHECK(contains(runner.jupyter_url(), "8888-" + runner.id() + "."));

        auto set = co_await runner.run_code("x = 41\nimport math\ndef twice(v):\n    return 2 * v\n");
        CHECK(set.results.empty());
        CHECK(!set.error);
        CHECK(!set.timed_out);
        REQUIRE(set.execution_count);
        const auto first_kernel = runner.kernel_id();
        REQUIRE(first_kernel);

        auto sum = co_await runner.run_code("x + 1");
        CHECK(sum.text() == std::optional<std::string>("42"));
        REQUIRE(sum.results.size() == 1);
        CHECK(sum.results[0].is_main_result);
        CHECK(sum.results[0].formats() == std::vector<std::string>{"text"});
        REQUIRE(sum.execution_count);
        CHECK(*sum.execution_count == *set.execution_count + 1);
        CHECK(runner.kernel_id() == first_kernel);  // the same kernel, reused

        auto persisted = co_await runner.run_code("twice(math.isqrt(16))");
        CHECK(persisted.text() == std::optional<std::string>("8"));

        auto quoted = co_await runner.run_code("'hi'");
        CHECK(quoted.text() == std::optional<std::string>("'hi'"));

        // stdout and stderr interleaved, each print flushed as its own message.
        std::vector<log_chunk> seen;
        auto on_out = [&seen](std::string_view t) { seen.push_back({log_stream::out, std::string(t)}); };
        auto on_err = [&seen](std::string_view t) { seen.push_back({log_stream::err, std::string(t)}); };
        auto printed = co_await runner.run_code(
            "import sys\n"
            "print('one', flush=True)\n"
            "print('two', file=sys.stderr, flush=True)\n"
            "print('three', flush=True)\n",
            {.on_stdout = on_out, .on_stderr = on_err});
        const std::vector<log_chunk> expected{
            {log_stream::out, "one\n"}, {log_stream::err, "two\n"}, {log_stream::out, "three\n"}};
        CHECK(printed.logs.chunks == expected);
        CHECK(seen == expected);
        CHECK(printed.logs.stdout_text() == "one\nthree\n");
        CHECK(printed.logs.stderr_text() == "two\n");
        CHECK(printed.results.empty());

        int errors_seen = 0;
        auto on_error = [&errors_seen](const wrenn::execution_error&) { ++errors_seen; };
        auto failed = co_await runner.run_code("def boom():\n    raise ValueError('bad value')\nprint('before')\nboom()",
                                               {.on_error = on_error});
        REQUIRE(failed.error);
        CHECK(failed.error->name == "ValueError");
        CHECK(failed.error->value == "bad value");
        CHECK(contains(failed.error->traceback, "ValueError"));
        CHECK(contains(failed.error->traceback, "boom"));
        CHECK(failed.logs.stdout_text() == "before\n");
        CHECK(errors_seen == 1);

        // A failed cell leaves the kernel usable.
        auto after = co_await runner.run_code("x");
        CHECK(after.text() == std::optional<std::string>("41"));
        co_await runner.destroy();
    });
}

TEST_CASE("code runner: a cell the kernel aborts unrun, because another cell failed just before it, is sent again",
          "[code_runner]") {
    // ipykernel aborts every execute_request that reaches it while it aborts
    // its queue after a failed cell (stop_on_error): here the second cell is
    // sent while the first still runs, so it is queued behind it and aborted
    // when the first fails. It must still run, and once.
    local_server srv;
    wrenn_test::run(srv.config(), [](wrenn::client c) -> asio::awaitable<void> {
        using namespace boost::asio::experimental::awaitable_operators;
        auto runner = co_await code_runner::create(c, {.wait = true});
        co_await runner.run_code("runs = 0");
        asio::steady_timer started(wrenn::detail::client_access::impl(c)->executor, 60s * wrenn_test::slowdown);
        auto first = runner.run_code("import time\nprint('started', flush=True)\ntime.sleep(3)\n"
                                     "raise ValueError('the first cell fails')",
                                     {.on_stdout = [&](std::string_view) { started.cancel(); }});
        auto second = [&]() -> asio::awaitable<wrenn::execution> {
            auto [ec] = co_await started.async_wait(asio::as_tuple(asio::use_awaitable));
            REQUIRE(ec == asio::error::operation_aborted);  // the first cell printed, within the deadline
            co_return co_await runner.run_code("runs += 1\nruns");
        };
        auto [failed, queued] = co_await (std::move(first) && second());
        REQUIRE(failed.error);
        CHECK(failed.error->name == "ValueError");
        INFO("the queued cell's error: " << (queued.error ? queued.error->name + ": " + queued.error->value : "none"));
        CHECK_FALSE(queued.error);
        CHECK(queued.text() == std::optional<std::string>("1"));  // it ran, once
        auto after = co_await runner.run_code("runs");
        CHECK(after.text() == std::optional<std::string>("1"));
        co_await runner.destroy();
    });
}

TEST_CASE("code runner: a matplotlib figure comes back as a PNG result with valid bytes", "[code_runner]") {
    local_server srv;
    wrenn_test::run(srv.config(), [](wrenn::client c) -> asio::awaitable<void> {
        auto runner = co_await code_runner::create(c);
        int results_seen = 0;
        auto on_result = [&results_seen](const wrenn::result& r) { results_seen += r.png ? 1 : 0; };
        auto plotted = co_await runner.run_code(
            "import matplotlib.pyplot as plt\n"
            "fig = plt.figure(figsize=(4, 3), dpi=50)\n"
            "plt.plot([0, 1, 2], [0, 1, 4])\n"
            "plt.show()\n",
            {.timeout = 120s, .on_result = on_result});
        CHECK(!plotted.error);
        const wrenn::result* png = nullptr;
        for (auto& r : plotted.results)
            if (r.png) png = &r;
        REQUIRE(png);
        CHECK(!png->is_main_result);  // display_data
        CHECK(results_seen == 1);
        auto decoded = wrenn::decode_binary(*png->png);
        auto bytes = &decoded;
        REQUIRE(bytes->size() > 24);
        CHECK(bytes->substr(0, 8) == std::string("\x89PNG\r\n\x1a\n", 8));
        CHECK(bytes->substr(12, 4) == "IHDR");
        // At most 4 in x 50 dpi by 3 in x 50 dpi (the inline backend crops it tight).
        const auto width = big_endian32(*bytes, 16), height = big_endian32(*bytes, 20);
        CHECK(width > 100);
        CHECK(width <= 200);
        CHECK(height > 75);
        CHECK(height <= 150);
        CHECK(bytes->substr(bytes->size() - 8, 4) == "IEND");  // complete
        co_await runner.destroy();
    });
}

TEST_CASE("code runner: with_code_runner runs the block and destroys the capsule, also when it throws",
          "[code_runner]") {
    local_server srv;
    wrenn_test::run(srv.config(), [](wrenn::client c) -> asio::awaitable<void> {
        std::string id, text;
        co_await wrenn::with_code_runner(c, {}, [&](code_runner& runner) -> asio::awaitable<void> {
            id = runner.id();
            text = (co_await runner.run_code("6 * 7")).text().value_or("");
        });
        CHECK(text == "42");
        auto after = co_await c.capsules().get(id);
        CHECK(after.status == wrenn::capsule_state::stopped);
        bool thrown = false;
        try {
            co_await wrenn::with_code_runner(c, {}, [&](code_runner& runner) -> asio::awaitable<void> {
                id = runner.id();
                co_await runner.run_code("1");
                throw std::runtime_error("boom");
            });
        } catch (const std::runtime_error& e) {
            thrown = std::string(e.what()) == "boom";
        }
        CHECK(thrown);
        auto after_throw = co_await c.capsules().get(id);
        CHECK(after_throw.status == wrenn::capsule_state::stopped);
    });
}

TEST_CASE("code runner: a cell past its timeout comes back timed_out and the next cell runs at once",
          "[code_runner]") {
    local_server srv;
    wrenn_test::run(srv.config(), [](wrenn::client c) -> asio::awaitable<void> {
        auto runner = co_await code_runner::create(c);
        co_await runner.run_code("marker = 'still here'");
        std::string streamed;
        auto on_out = [&streamed](std::string_view t) { streamed += t; };
        auto slow = co_await runner.run_code("import time\nprint('started', flush=True)\ntime.sleep(600)",
                                             {.timeout = 2s, .on_stdout = on_out});
        CHECK(slow.timed_out);
        CHECK(slow.logs.stdout_text() == "started\n");
        CHECK(streamed == "started\n");
        // The kernel was interrupted: the sleep ended with KeyboardInterrupt.
        REQUIRE(slow.error);
        CHECK(slow.error->name == "KeyboardInterrupt");
        // Had the sleep not been interrupted, this cell would queue behind it
        // and time out too.
        auto next = co_await runner.run_code("marker", {.timeout = 60s});
        CHECK(!next.timed_out);
        CHECK(next.text() == std::optional<std::string>("'still here'"));
        co_await runner.destroy();
    });
}

TEST_CASE("code runner: a cell that kills its kernel ends at once with DeadKernelError, and the next cell runs",
          "[code_runner]") {
    local_server srv;
    wrenn_test::run(srv.config(), [](wrenn::client c) -> asio::awaitable<void> {
        auto runner = co_await code_runner::create(c);
        co_await runner.run_code("lost = 1");
        // Without the restart notice this would wait out the whole timeout.
        auto died = co_await runner.run_code("import os\nos._exit(3)",
                                             {.timeout = 600s});
        CHECK(!died.timed_out);
        REQUIRE(died.error);
        CHECK(died.error->name == "DeadKernelError");
        // Jupyter restarted the kernel: it answers again, with a fresh namespace.
        auto fresh = co_await runner.run_code("'lost' in dir()", {.timeout = 60s});
        CHECK(!fresh.timed_out);
        CHECK(fresh.text() == std::optional<std::string>("False"));
        co_await runner.destroy();
    });
}

TEST_CASE("code runner: a kernel deleted behind its back is started again", "[code_runner]") {
    local_server srv;
    wrenn_test::run(srv.config(), [](wrenn::client c) -> asio::awaitable<void> {
        auto runner = co_await code_runner::create(c);
        co_await runner.run_code("1");
        const auto first = runner.kernel_id();
        REQUIRE(first);
        // Someone else shuts the kernel down (here: a request from inside the capsule).
        const std::string shutdown =
            "python3 -c \"import urllib.request as u; u.urlopen(u.Request("
            "'http://127.0.0.1:8888/api/kernels/" + *first + "', method='DELETE'))\"";
        auto deleted = co_await runner.commands.run(shutdown);
        CHECK(deleted.exit_code == 0);
        auto again = co_await runner.run_code("6 * 7", {.timeout = 60s});
        CHECK(again.text() == std::optional<std::string>("42"));
        REQUIRE(runner.kernel_id());
        CHECK(runner.kernel_id() != first);
        co_await runner.destroy();
    });
}

TEST_CASE("code runner: a cancelled run_code interrupts the kernel", "[code_runner]") {
    using namespace boost::asio::experimental::awaitable_operators;
    local_server srv;
    wrenn_test::run(srv.config(), [](wrenn::client c) -> asio::awaitable<void> {
        auto runner = co_await code_runner::create(c);
        co_await runner.run_code("1");  // the kernel exists
        asio::steady_timer cancel_after(wrenn::detail::client_access::impl(c)->executor, 2s);
        auto cell = runner.run_code("import time\ntime.sleep(600)", {.timeout = std::nullopt});
        auto winner = co_await (std::move(cell) || cancel_after.async_wait(asio::use_awaitable));
        CHECK(winner.index() == 1);
        auto next = co_await runner.run_code("'free'", {.timeout = 60s});
        CHECK(!next.timed_out);
        CHECK(next.text() == std::optional<std::string>("'free'"));
        co_await runner.destroy();
    });
}

TEST_CASE("code runner: two code runners at once are isolated from each other", "[code_runner]") {
    using namespace boost::asio::experimental::awaitable_operators;
    local_server srv;
    wrenn_test::run(srv.config(), [](wrenn::client c) -> asio::awaitable<void> {
        auto [a, b] = co_await (code_runner::create(c) && code_runner::create(c));
        CHECK(a.id() != b.id());
        // Both Jupyter servers listen on 8888, each in its own capsule.
        auto [set_a, set_b] = co_await (a.run_code("who = 'a'\nopen('mine.txt', 'w').write('a')") &&
                                        b.run_code("who = 'b'\nopen('mine.txt', 'w').write('b')"));
        CHECK(!set_a.error);
        CHECK(!set_b.error);
        auto who_a = co_await a.run_code("who, open('mine.txt').read()");
        auto who_b = co_await b.run_code("who, open('mine.txt').read()");
        CHECK(who_a.text() == std::optional<std::string>("('a', 'a')"));
        CHECK(who_b.text() == std::optional<std::string>("('b', 'b')"));
        CHECK(a.kernel_id() != b.kernel_id());
        // The file is in each capsule's own home, seen by the files API too.
        auto file_a = co_await a.files.read("/home/wrenn-user/mine.txt");
        CHECK(file_a == "a");
        co_await a.destroy();
        // b is untouched by a's end.
        auto still = co_await b.run_code("who");
        CHECK(still.text() == std::optional<std::string>("'b'"));
        co_await b.destroy();
    });
}

TEST_CASE("code runner: a web server of the user's in the capsule is reached through get_url", "[code_runner]") {
    auto tls = GENERATE(false, true);
    CAPTURE(tls);
    local_server srv({.tls = tls});
    wrenn_test::run(srv.config(), [tls](wrenn::client c) -> asio::awaitable<void> {
        auto runner = co_await code_runner::create(c);
        // Everything a plain capsule has: commands and files too.
        const std::string greeting = "hello from " + runner.id();
        co_await runner.files.write("/home/wrenn-user/site/hello.txt", greeting);
        co_await runner.commands.run("cd site && exec python3 -m http.server 8000 >/dev/null 2>&1",
                                     {.background = true, .tag = "site"});
        // The server starts in the background: ask the kernel to wait for it.
        auto up = co_await runner.run_code(
            "import socket, time\n"
            "for _ in range(200):\n"
            "    try:\n"
            "        socket.create_connection(('127.0.0.1', 8000)).close(); break\n"
            "    except OSError:\n"
            "        time.sleep(0.05)\n"
            "'up'");
        CHECK(up.text() == std::optional<std::string>("'up'"));
        auto url = runner.get_url(8000);
        CHECK(url.rfind(tls ? "wss://8000-" : "ws://8000-", 0) == 0);
        auto page = co_await http_get(c, http_form(url) + "/hello.txt");
        CHECK(page.status == 200);
        CHECK(page.body == "hello from " + runner.id());
        co_await runner.destroy();
    });
}

TEST_CASE("code runner: the blocking API runs cells and the capsule's commands", "[code_runner]") {
    local_server srv;
    wrenn::sync::client c(srv.config());
    auto runner = wrenn::sync::code_runner::create(c);
    auto set = runner.run_code("y = [1, 2, 3]");
    CHECK(!set.error);
    auto total = runner.run_code("sum(y)");
    CHECK(total.text() == std::optional<std::string>("6"));
    auto echoed = runner.commands.run("echo from-shell");
    CHECK(echoed.stdout_text == "from-shell\n");
    auto again = wrenn::sync::code_runner::connect(c, runner.id());
    auto seen = again.run_code("sum(y) * 2");  // the same kernel, found by name
    CHECK(seen.text() == std::optional<std::string>("12"));
    runner.destroy();
}

TEST_CASE("code runner: Jupyter that never comes up is a timeout_error naming jupyter_timeout", "[code_runner]") {
    local_server srv;
    auto failure = wrenn_test::failure_of(srv.config(), [](wrenn::client c) -> asio::awaitable<void> {
        // A plain capsule: nothing listens on 8888, the proxy answers 502.
        auto runner = co_await code_runner::create(c, {.template_name = "minimal"});
        std::exception_ptr inner;
        try {
            // Long enough for one answer from the proxy even on a loaded,
            // sanitized server (2 s once saw none, so 'last' was a timeout).
            co_await runner.run_code("1", {.jupyter_timeout = 3s * wrenn_test::slowdown});
        } catch (...) {
            inner = std::current_exception();
        }
        co_await runner.destroy();
        std::rethrow_exception(inner);
    });
    auto e = wrenn_test::as<wrenn::timeout_error>(failure);
    CHECK(e.code() == "jupyter_timeout");
    CHECK(contains(e.what(), "Jupyter"));
    CHECK(contains(e.what(), "jupyter_timeout"));
    CHECK(contains(e.what(), "502"));  // the last answer seen
}

TEST_CASE("code runner: an unknown kernelspec is a not_found_error at once, not retried", "[code_runner]") {
    local_server srv;
    auto failure = wrenn_test::failure_of(srv.config(), [](wrenn::client c) -> asio::awaitable<void> {
        auto runner = co_await code_runner::create(c, {.kernel = "no-such-kernel"});
        std::exception_ptr inner;
        try {
            co_await runner.run_code("1", {.jupyter_timeout = 600s});  // a retry would outlast the test
        } catch (...) {
            inner = std::current_exception();
        }
        co_await runner.destroy();
        std::rethrow_exception(inner);
    });
    auto e = wrenn_test::as<wrenn::not_found_error>(failure);
    CHECK(e.code() == "unknown_kernel");
    CHECK(contains(e.what(), "'no-such-kernel'"));
    CHECK(contains(e.what(), "wrenn"));  // what it has instead
}

TEST_CASE("code runner: bad options are usage errors before any I/O", "[code_runner]") {
    local_server srv;
    auto zero = wrenn_test::failure_of(srv.config(), [](wrenn::client c) -> asio::awaitable<void> {
        code_runner runner(wrenn::capsule(c, "cl-none"));
        co_await runner.run_code("1", {.timeout = 0ms});
    });
    CHECK(contains(wrenn_test::as<wrenn::usage_error>(zero).what(), "run_code_options.timeout"));
    auto jt = wrenn_test::failure_of(srv.config(), [](wrenn::client c) -> asio::awaitable<void> {
        code_runner runner(wrenn::capsule(c, "cl-none"));
        co_await runner.run_code("1", {.jupyter_timeout = -1s});
    });
    CHECK(contains(wrenn_test::as<wrenn::usage_error>(jt).what(), "jupyter_timeout"));
}
