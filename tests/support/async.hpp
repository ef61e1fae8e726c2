// Waiting inside test coroutines: a timer sleep, and polling a condition with
// a deadline (for effects the server applies asynchronously).
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace wrenn_test {

inline boost::asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
    boost::asio::steady_timer t(co_await boost::asio::this_coro::executor, d);
    co_await t.async_wait(boost::asio::use_awaitable);
}

// Polls `cond` (a coroutine returning bool) every 50 ms for up to 10 s.
template <class F>
boost::asio::awaitable<bool> eventually(F cond) {
    for (int i = 0; i < 200; ++i) {
        if (co_await cond()) co_return true;
        co_await sleep_for(std::chrono::milliseconds(50));
    }
    co_return false;
}

// Starts `s.next()` (a stream or terminal) in a coroutine of its own and
// returns true once that next() is waiting; when it has its event, `got`
// holds it and `done` is cancelled.
template <class Session, class Event>
boost::asio::awaitable<bool> next_in_background(Session& s, std::optional<Event>& got,
                                                boost::asio::steady_timer& done) {
    auto ex = co_await boost::asio::this_coro::executor;
    auto waiting = std::make_shared<bool>(false);
    boost::asio::co_spawn(
        ex,
        [](Session& s, std::optional<Event>& got, boost::asio::steady_timer& done,
           std::shared_ptr<bool> waiting) -> boost::asio::awaitable<void> {
            *waiting = true;
            got = co_await s.next();
            done.cancel();
        }(s, got, done, waiting),
        boost::asio::detached);
    for (int i = 0; i < 1000 && !*waiting; ++i) co_await boost::asio::post(ex, boost::asio::use_awaitable);
    co_return *waiting;
}

// Runs `task(i)` (a coroutine) for every i in [0, n), at most `width` at a
// time, on this coroutine's executor. Returns the texts of the failures
// (empty: every task succeeded).
template <class F>
boost::asio::awaitable<std::vector<std::string>> run_all(int n, int width, F task) {
    auto ex = co_await boost::asio::this_coro::executor;
    int next = 0, running = 0;
    std::vector<std::string> failures;
    boost::asio::steady_timer all_done(ex, boost::asio::steady_timer::time_point::max());
    auto worker = [&]() -> boost::asio::awaitable<void> {
        while (next < n) {
            int i = next++;
            try {
                co_await task(i);
            } catch (const std::exception& e) {
                failures.push_back("task " + std::to_string(i) + ": " + e.what());
            }
        }
    };
    for (int w = 0; w < width && w < n; ++w) {
        ++running;
        boost::asio::co_spawn(ex, worker(), [&](std::exception_ptr) {
            if (--running == 0) all_done.cancel();
        });
    }
    if (running > 0) (void)co_await all_done.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    co_return failures;
}

} // namespace wrenn_test
