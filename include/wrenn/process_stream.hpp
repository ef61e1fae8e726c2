// A live process stream: the output of a command started with
// commands.stream() or of a running process attached with commands.connect().
//
//     auto s = co_await cap.commands.stream("make -j2");
//     while (auto ev = co_await s.next())
//         if (ev->is_stdout()) std::cout << ev->data;
//
// Events come in order: start (pid) first, stdout/stderr as produced, exit
// (code) or error last; after that next() gives nullopt. A connection that
// ends before exit or error raises protocol_error — a stream never ends
// silently — and a server that stops answering raises timeout_error within
// the config's idle timeout (client pings keep a quiet but live stream open).
//
// Cancelling next() (Asio per-operation cancellation) or destroying the
// stream sends "stop" and closes the socket; the process itself keeps
// running (WIRE.md §8.1): kill it with commands.kill(pid) if you need to.
// One next() at a time: a second one while the first waits throws
// usage_error("concurrent_receive") and the stream goes on.
#pragma once

#include <wrenn/completion.hpp>
#include <wrenn/detail/config.hpp>
#include <wrenn/events.hpp>

#include <boost/asio/awaitable.hpp>

#include <memory>
#include <optional>
#include <string>

namespace wrenn {

namespace detail {
struct process_stream_state;
}

class process_stream {
public:
    process_stream() = default;
    explicit process_stream(std::shared_ptr<detail::process_stream_state> s);
    process_stream(process_stream&&) noexcept;
    process_stream& operator=(process_stream&&) noexcept;
    process_stream(const process_stream&) = delete;
    process_stream& operator=(const process_stream&) = delete;
    ~process_stream();
    boost::asio::any_io_executor get_executor() const;  // its connection's strand

    // The next event; nullopt after exit or error.
    boost::asio::awaitable<std::optional<stream_event>> next();
    template <class CompletionToken>
    auto next(CompletionToken&& token) {
        return detail::complete_with(get_executor(), next(),
                                     std::forward<CompletionToken>(token));
    }

    int pid() const noexcept;
    // True once exit or error was delivered (or the stream was closed).
    bool done() const noexcept;
    // The exit code, once the exit event was delivered.
    std::optional<int> exit_code() const noexcept;

    // Stops following the process and closes the socket (the process keeps
    // running). Waits for the socket to close.
    boost::asio::awaitable<void> close();
    template <class CompletionToken>
    auto close(CompletionToken&& token) {
        return detail::complete_with(get_executor(), close(),
                                     std::forward<CompletionToken>(token));
    }

private:
    std::shared_ptr<detail::process_stream_state> s_;
};

namespace detail {
class client_impl;
// Opens `path` (a capsule's exec/stream or processes/{selector}/stream),
// sends `start_message` when not empty and waits for the start event:
// in-band setup errors raise their typed error; an attach that closes with
// no start raises not_found_error. A start cancelled after its message left
// leaves no process behind: the start event is still awaited (briefly,
// uncancellably) and the process it names killed in `capsule_id`.
WRENN_DECL boost::asio::awaitable<process_stream> open_process_stream(std::shared_ptr<client_impl> c,
                                                                     std::string path,
                                                                     std::string start_message,
                                                                     std::string operation, bool attach,
                                                                     std::string capsule_id = {});
} // namespace detail

} // namespace wrenn

#ifdef WRENN_HEADER_ONLY
#include <wrenn/impl/process_stream.ipp>
#endif
