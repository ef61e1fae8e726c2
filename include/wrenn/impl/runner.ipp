#pragma once

#include <wrenn/error.hpp>
#include <wrenn/sync/runner.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

namespace wrenn::sync {

struct runner::state {
    boost::asio::io_context ioc{1};
};

WRENN_DECL runner::runner() : s_(std::make_unique<state>()) {}
WRENN_DECL runner::~runner() = default;

WRENN_DECL boost::asio::any_io_executor runner::get_executor() { return s_->ioc.get_executor(); }

WRENN_DECL void runner::run(boost::asio::awaitable<void> op) {
    if (s_->ioc.get_executor().running_in_this_thread())
        throw usage_error("blocking_in_coroutine",
                          "A blocking wrenn::sync call was made from a coroutine running on the same "
                          "io_context; use the awaitable API (wrenn::client) there instead");
    std::exception_ptr failure;
    bool done = false;
    boost::asio::co_spawn(s_->ioc, std::move(op), [&](std::exception_ptr e) {
        failure = e;
        done = true;
    });
    s_->ioc.restart();
    while (!done && s_->ioc.run_one() > 0) {
    }
    // Let what the call left behind move on (e.g. a finished stream's close
    // frame): between blocking calls nothing else drives this io_context.
    s_->ioc.poll();
    if (failure) std::rethrow_exception(failure);
}

} // namespace wrenn::sync

#ifndef WRENN_HEADER_ONLY
#define WRENN_SYNC_STORE(T)                                                                                          \
    template boost::asio::awaitable<void> wrenn::sync::runner::store<T>(boost::asio::awaitable<T>, std::optional<T>&);
WRENN_SYNC_RESULT_TYPES(WRENN_SYNC_STORE)
#undef WRENN_SYNC_STORE
#endif
