// The engine of the blocking API: a private io_context on which each call
// runs its coroutine to completion, on the calling thread. Not for use from
// inside a coroutine running on that same context (it would deadlock): that
// is detected and reported as a usage_error.
#pragma once

#include <wrenn/detail/config.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

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
    static boost::asio::awaitable<void> store(boost::asio::awaitable<T> op, std::optional<T>& out);

    struct state;
    std::unique_ptr<state> s_;
};

// Defined outside the class so that it is not inline: an `extern template`
// (below) does not stop an inline function from being instantiated.
template <class T>
boost::asio::awaitable<void> runner::store(boost::asio::awaitable<T> op, std::optional<T>& out) {
    out.emplace(co_await std::move(op));
}

} // namespace wrenn::sync

// The blocking API's result types. With separate compilation runner::store is
// instantiated for them once, in the library (impl/runner.ipp), not in every
// file that includes the blocking API: GCC emits a coroutine template's body
// wherever it is instantiated, and these were 1,600 functions, a third of the
// compile time of a file that only includes <wrenn/wrenn.hpp>.
#include <wrenn/code_runner.hpp>

#define WRENN_SYNC_RESULT_TYPES(X)                                                                                    \
    X(bool) X(std::uint64_t) X(std::string) X(std::optional<std::string>) X(std::vector<std::uint8_t>)               \
    X(std::optional<wrenn::pty_event>) X(std::optional<wrenn::stream_event>) X(std::vector<wrenn::capsule_info>)     \
    X(std::vector<wrenn::file_entry>) X(std::vector<wrenn::git_branch>) X(std::vector<wrenn::process_info>)          \
    X(std::vector<wrenn::template_info>) X(wrenn::capsule) X(wrenn::capsule_info) X(wrenn::capsule_metrics)          \
    X(wrenn::code_runner) X(wrenn::command_handle) X(wrenn::exec_result) X(wrenn::execution) X(wrenn::file_entry)    \
    X(wrenn::git_status) X(wrenn::process_stream) X(wrenn::pty_session) X(wrenn::snapshot_result)                    \
    X(wrenn::team_stats) X(wrenn::team_usage)

#ifndef WRENN_HEADER_ONLY
#define WRENN_SYNC_EXTERN_STORE(T)                                                                                   \
    extern template boost::asio::awaitable<void> wrenn::sync::runner::store<T>(boost::asio::awaitable<T>,            \
                                                                              std::optional<T>&);
WRENN_SYNC_RESULT_TYPES(WRENN_SYNC_EXTERN_STORE)
#undef WRENN_SYNC_EXTERN_STORE
#endif

#ifdef WRENN_HEADER_ONLY
#include <wrenn/impl/runner.ipp>
#endif
