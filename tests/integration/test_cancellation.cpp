// Cancellation and deadlines, operation kind by operation kind, over HTTP and
// TLS: the cancelled or timed-out call ends at once with the right outcome,
// and afterwards the connection pool is healthy (no connection left in use,
// none waiting) and the next call works.
#include <catch2/catch.hpp>

#include <wrenn/wrenn.hpp>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "async.hpp"
#include "expect.hpp"
#include "local_server.hpp"
#include "run.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using wrenn::capsule;
using wrenn_test::local_server;

namespace {

// Races `op` against a timer; true when the timer won (op was cancelled).
template <class T>
asio::awaitable<bool> cancelled_after(asio::awaitable<T> op, std::chrono::milliseconds after) {
    asio::steady_timer t(co_await asio::this_coro::executor, after);
    auto r = co_await (std::move(op) || t.async_wait(asio::use_awaitable));
    co_return r.index() == 1;
}

// Every connection is back in the pool and nobody waits for one.
void check_pool_healthy(const wrenn::client& c) {
    auto p = c.pool();
    CHECK(p.open == p.idle);
    CHECK(p.waiting == 0);
}

} // namespace

TEST_CASE("cancellation: every kind of operation, then the pool is healthy and the next call works",
          "[cancel]") {
    auto tls = GENERATE(false, true);
    CAPTURE(tls);
    local_server srv({.tls = tls});
    wrenn_test::run(srv.config(), [](wrenn::client c) -> asio::awaitable<void> {
        auto cap = co_await capsule::create(c, {.wait = true});

        // a foreground command (REST exec)
        bool cancelled = co_await cancelled_after(cap.commands.run("sleep 29"), 200ms);
        CHECK(cancelled);
        check_pool_healthy(c);

        // a command with output callbacks (exec stream): killed when cancelled
        auto ignore = [](std::string_view) {};
        cancelled = co_await cancelled_after(cap.commands.run("sleep 31; echo never", {.on_stdout = ignore}), 200ms);
        CHECK(cancelled);
        // killed before the cancelled call ended; gone from the list once the kill took effect
        auto gone = [&]() -> asio::awaitable<bool> {
            for (auto& p : co_await cap.commands.list()) {
                std::string line = p.cmd.value_or("");
                for (auto& a : p.args.value_or(std::vector<std::string>{})) line += " " + a;
                if (line.find("sleep 31") != std::string::npos) co_return false;
            }
            co_return true;
        };
        CHECK(co_await wrenn_test::eventually(gone));

        // a streamed upload whose source is slow
        auto slow_source = [n = 0]() mutable -> asio::awaitable<std::string> {
            asio::steady_timer t(co_await asio::this_coro::executor, 20ms);
            co_await t.async_wait(asio::use_awaitable);
            co_return ++n > 1000 ? std::string() : std::string(4096, 'x');
        };
        cancelled = co_await cancelled_after(cap.files.upload_stream("/tmp/partial.bin", slow_source), 300ms);
        CHECK(cancelled);
        check_pool_healthy(c);

        // a download read slowly, then abandoned mid-body
        co_await cap.commands.run("head -c 50000000 /dev/zero > /tmp/big.bin");
        {
            auto dl = co_await cap.files.download_stream("/tmp/big.bin");
            auto first = co_await dl.next();
            CHECK(!first.empty());
            cancelled = co_await cancelled_after(
                [](wrenn::file_download& d) -> asio::awaitable<void> {
                    for (;;) {
                        auto piece = co_await d.next();
                        if (piece.empty()) co_return;
                        asio::steady_timer t(co_await asio::this_coro::executor, 5ms);
                        co_await t.async_wait(asio::use_awaitable);
                    }
                }(dl),
                200ms);
            CHECK(cancelled);
        }  // the half-read connection is closed, not pooled
        check_pool_healthy(c);

        // a stream being read
        auto stream = co_await cap.commands.stream("sleep 30");
        cancelled = co_await cancelled_after(
            [](wrenn::process_stream& st) -> asio::awaitable<void> {
                while (co_await st.next()) {  // the start event, then silence
                }
            }(stream),
            200ms);
        CHECK(cancelled);

        // a terminal being read: the session stays usable
        auto term = co_await cap.pty();
        cancelled = co_await cancelled_after(
            [](wrenn::pty_session& t) -> asio::awaitable<void> {
                for (;;) (void)co_await t.next();  // the shell prints its prompt, then nothing
            }(term),
            300ms);
        CHECK(cancelled);
        co_await term.write("exit 3\n");
        std::optional<int> code;
        while (auto ev = co_await term.next())
            if (ev->is_exit()) code = ev->exit_code;
        CHECK(code == 3);

        // after all that: healthy, and calls work on the same client
        check_pool_healthy(c);
        auto ok = co_await cap.commands.run("echo still-fine");
        CHECK(ok.stdout_text == "still-fine\n");
        auto exists = co_await cap.files.exists("/tmp/big.bin");
        CHECK(exists);
        check_pool_healthy(c);
        co_await cap.destroy();
    });
}

TEST_CASE("deadlines: a frozen server gives the right timeout for REST and streams, then recovery",
          "[cancel][timeout]") {
    auto tls = GENERATE(false, true);
    CAPTURE(tls);
    local_server srv({.tls = tls});
    auto cfg = srv.config();
    cfg.timeouts.idle = 500ms;
    cfg.retry.max_attempts = 1;  // the deadline itself is under test here
    wrenn_test::run(cfg, [&srv](wrenn::client c) -> asio::awaitable<void> {
        auto cap = co_await capsule::create(c, {.wait = true});
        auto stream = co_await cap.commands.stream("sleep 30");

        srv.freeze();
        std::string rest_code, stream_code;
        bool cancelled_while_frozen = false;
        try {
            co_await cap.get_info();
        } catch (const wrenn::timeout_error& e) {
            rest_code = e.code();
        }
        try {
            while (co_await stream.next()) {
            }
        } catch (const wrenn::timeout_error& e) {
            stream_code = e.code();
        }
        // cancelling a call the frozen server never answers
        cancelled_while_frozen = co_await cancelled_after(cap.commands.list(), 100ms);
        srv.thaw();

        CHECK(rest_code == "idle_timeout");
        CHECK(stream_code == "idle_timeout");
        CHECK(cancelled_while_frozen);
        check_pool_healthy(c);
        auto info = co_await cap.get_info();
        CHECK(info.id == cap.id());
        check_pool_healthy(c);
        co_await cap.destroy();
    });
}
