// Waiting inside test coroutines: a timer sleep, and polling a condition with
// a deadline (for effects the server applies asynchronously).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>

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

} // namespace wrenn_test
