#pragma once

#include <wrenn/error.hpp>
#include <wrenn/sync/runner.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>

namespace wrenn::sync {

// Any number of threads may call at once. One of them at a time drives the
// io_context (the leader) until its own call is done, and meanwhile runs
// every other caller's work too; the others wait for their result or for
// the lead to be free. So each call blocks its own thread only, and the
// SDK starts no thread of its own.
struct runner::state {
    boost::asio::io_context ioc{1};  // one thread at a time runs it
    // run_one() waits for work rather than returning while another caller's
    // operation is only being set up
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{ioc.get_executor()};
    std::mutex mu;
    std::condition_variable changed;  // a call finished, or the lead was given up
    bool leading = false;             // a thread is driving ioc
};

WRENN_DECL runner::runner() : s_(std::make_unique<state>()) {}
WRENN_DECL runner::~runner() = default;

WRENN_DECL boost::asio::any_io_executor runner::get_executor() { return s_->ioc.get_executor(); }

WRENN_DECL void runner::run(boost::asio::awaitable<void> op) {
    auto& s = *s_;
    if (s.ioc.get_executor().running_in_this_thread())
        throw usage_error("blocking_in_coroutine",
                          "A blocking wrenn::sync call was made from a coroutine running on the same "
                          "io_context; use the awaitable API (wrenn::client) there instead");
    std::exception_ptr failure;
    std::atomic<bool> done = false;
    boost::asio::co_spawn(s.ioc, std::move(op), [&](std::exception_ptr e) {
        failure = e;
        {
            std::lock_guard lock(s.mu);
            done = true;
        }
        s.changed.notify_all();
    });
    std::unique_lock lock(s.mu);
    while (!done) {
        if (s.leading) {
            s.changed.wait(lock);
            continue;
        }
        s.leading = true;
        lock.unlock();
        struct give_up_lead {
            state& s;
            ~give_up_lead() {
                {
                    std::lock_guard lock(s.mu);
                    s.leading = false;
                }
                s.changed.notify_all();  // a waiting caller whose call is not done takes the lead
            }
        };
        {
            give_up_lead guard{s};
            while (!done) s.ioc.run_one();
            // Let what the call left behind move on (e.g. a finished stream's
            // close frame): between blocking calls nothing else drives this io_context.
            s.ioc.poll();
        }
        lock.lock();
    }
    lock.unlock();
    if (failure) std::rethrow_exception(failure);
}

} // namespace wrenn::sync

#ifndef WRENN_HEADER_ONLY
#define WRENN_SYNC_STORE(T)                                                                                          \
    template boost::asio::awaitable<void> wrenn::sync::runner::store<T>(boost::asio::awaitable<T>, std::optional<T>&);
WRENN_SYNC_RESULT_TYPES(WRENN_SYNC_STORE)
#undef WRENN_SYNC_STORE
#endif
