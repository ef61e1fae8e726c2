// The engine of the blocking API: a private io_context on which each call
// runs its coroutine to completion, on the calling thread. Not for use from
// inside a coroutine running on that same context (it would deadlock): that
// is detected and reported as a usage_error.
#pragma once

#include <wrenn/detail/config.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <memory>
#include <optional>

namespace wrenn::sync {

class runner {
public:
    runner();
    ~runner();
    runner(const runner&) = delete;
    runner& operator=(const runner&) = delete;

    boost::asio::any_io_executor get_executor();
    // Runs `op` to completion; rethrows what it threw.
    void run(boost::asio::awaitable<void> op);

    template <class T>
    T run(boost::asio::awaitable<T> op) {
        std::optional<T> out;
        run(store(std::move(op), out));
        return std::move(*out);
    }

private:
    template <class T>
    static boost::asio::awaitable<void> store(boost::asio::awaitable<T> op, std::optional<T>& out) {
        out.emplace(co_await std::move(op));
    }

    struct state;
    std::unique_ptr<state> s_;
};

} // namespace wrenn::sync

#ifdef WRENN_HEADER_ONLY
#include <wrenn/impl/runner.ipp>
#endif
