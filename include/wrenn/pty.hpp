// An interactive terminal in a capsule: a real PTY running `cmd` (bash by
// default), driven over a WebSocket (WIRE.md §11).
//
//     auto term = co_await cap.pty({.cols = 120, .rows = 40});
//     co_await term.write("ls\n");
//     while (auto ev = co_await term.next())
//         if (ev->is_output()) std::cout << ev->data;
//
// Events: started (tag, pid) first, output (raw bytes) as the program
// writes, exit (code) last; error (fatal: the session is over). The server's
// keepalive pings are consumed silently. Cancelling next() leaves the session
// usable (poll with a timer). Closing or destroying a session only closes
// its socket: the terminal keeps running and capsule.pty_connect(tag)
// re-attaches to it (output produced meanwhile is not replayed). kill() ends
// the terminal itself. One next() at a time: a second one while the first
// waits throws usage_error("concurrent_receive") and the session goes on.
#pragma once

#include <wrenn/arg_list.hpp>
#include <wrenn/completion.hpp>
#include <wrenn/detail/config.hpp>
#include <wrenn/env.hpp>
#include <wrenn/events.hpp>

#include <boost/asio/awaitable.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace wrenn {

namespace detail {
struct pty_state;
}

// Options are views, consumed before pty() returns its awaitable (env.hpp).
struct pty_options {
    std::string_view cmd{};  // empty: /bin/bash
    arg_list args{};
    unsigned cols = 80;      // 0: 80
    unsigned rows = 24;      // 0: 24
    env_view envs{};         // e.g. {{"TERM", "xterm-256color"}}: no TERM is set otherwise
    std::string_view cwd{};  // empty: the capsule user's home
};
static_assert(std::is_trivially_destructible_v<pty_options>, "options must stay views (see env.hpp)");

class pty_session {
public:
    pty_session() = default;
    explicit pty_session(std::shared_ptr<detail::pty_state> s);
    pty_session(pty_session&&) noexcept;
    pty_session& operator=(pty_session&&) noexcept;
    pty_session(const pty_session&) = delete;
    pty_session& operator=(const pty_session&) = delete;
    ~pty_session();
    boost::asio::any_io_executor get_executor() const;  // its connection's strand

    // The next event; nullopt after exit or a fatal error.
    boost::asio::awaitable<std::optional<pty_event>> next();
    template <class CompletionToken>
    auto next(CompletionToken&& token) {
        return detail::complete_with(get_executor(), next(),
                                     std::forward<CompletionToken>(token));
    }

    // Sends keystrokes / bytes to the terminal (copied before returning).
    boost::asio::awaitable<void> write(std::string_view bytes);
    template <class CompletionToken>
    auto write(std::string_view bytes, CompletionToken&& token) {
        return detail::complete_with(get_executor(), write(bytes),
                                     std::forward<CompletionToken>(token));
    }
    // Changes the window size; the program gets SIGWINCH. Zero is a usage_error.
    boost::asio::awaitable<void> resize(unsigned cols, unsigned rows);
    template <class CompletionToken>
    auto resize(unsigned cols, unsigned rows, CompletionToken&& token) {
        return detail::complete_with(get_executor(), resize(cols, rows),
                                     std::forward<CompletionToken>(token));
    }
    // SIGKILL to the terminal's process; an exit event follows.
    boost::asio::awaitable<void> kill();
    template <class CompletionToken>
    auto kill(CompletionToken&& token) {
        return detail::complete_with(get_executor(), kill(),
                                     std::forward<CompletionToken>(token));
    }
    // Closes the socket; the terminal keeps running (see pty_connect).
    boost::asio::awaitable<void> close();
    template <class CompletionToken>
    auto close(CompletionToken&& token) {
        return detail::complete_with(get_executor(), close(),
                                     std::forward<CompletionToken>(token));
    }

    const std::string& tag() const noexcept;
    int pid() const noexcept;
    bool done() const noexcept;
    std::optional<int> exit_code() const noexcept;

private:
    std::shared_ptr<detail::pty_state> s_;
};

namespace detail {
class client_impl;
// A new terminal: sends `start_message` and waits for `started` (fatal
// errors raise their typed error).
WRENN_DECL boost::asio::awaitable<pty_session> open_pty(std::shared_ptr<client_impl> c, std::string capsule_id,
                                                       std::string start_message);
// Re-attaches to the running terminal `tag` (not_found_error when the
// capsule runs no process with that tag).
WRENN_DECL boost::asio::awaitable<pty_session> connect_pty(std::shared_ptr<client_impl> c, std::string capsule_id,
                                                          std::string tag);
} // namespace detail

} // namespace wrenn

#ifdef WRENN_HEADER_ONLY
#include <wrenn/impl/pty.ipp>
#endif
