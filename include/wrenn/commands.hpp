// capsule.commands: running shell commands inside a capsule.
#pragma once

#include <wrenn/arg_list.hpp>
#include <wrenn/completion.hpp>
#include <wrenn/detail/config.hpp>
#include <wrenn/env.hpp>
#include <wrenn/models.hpp>
#include <wrenn/output_callback.hpp>
#include <wrenn/process_stream.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>
#include <type_traits>

namespace wrenn {

namespace detail {
class client_impl;
}

using command_result = exec_result;

// Options are views, consumed before run() returns its awaitable (env.hpp).
struct run_options {
    // Limit for a foreground command: killed when it runs longer.
    // nullopt leaves the server default (30 s). Ignored for background runs.
    std::optional<std::chrono::seconds> timeout = std::chrono::seconds(30);
    env_view envs{};          // added to the command's environment
    std::string_view cwd{};   // empty: the capsule user's home
    bool background = false;  // start it and return at once (result has pid and tag)
    std::string_view tag{};   // background: a name to find it by (default proc-xxxxxxxx)
    // Called with each chunk of output as it arrives (foreground only). With
    // either set, the command runs over the exec stream: output is text (bytes
    // that are not UTF-8 arrive as U+FFFD), and on timeout the command is
    // killed and timeout_error raised.
    output_callback on_stdout{};
    output_callback on_stderr{};
};
static_assert(std::is_trivially_destructible_v<run_options>, "options must stay views (see env.hpp)");

struct stream_options {
    arg_list args{};         // empty: `cmd` runs through /bin/sh -c; else `cmd` is the program
    env_view envs{};         // the stream endpoint has no env or cwd: both are applied
    std::string_view cwd{};  // by a /bin/sh wrapper (empty: the user's home)
};
static_assert(std::is_trivially_destructible_v<stream_options>, "options must stay views (see env.hpp)");

class commands {
public:
    commands(std::shared_ptr<detail::client_impl> c, std::string capsule_id)
        : c_(std::move(c)), id_(std::move(capsule_id)) {}
    boost::asio::any_io_executor get_executor() const;  // the client's

    // Runs `cmd` through /bin/sh -c. Foreground: waits for it; a non-zero exit
    // code is not an error, it is in the result. Background: returns at once
    // with the process's pid and tag.
    boost::asio::awaitable<command_result> run(std::string cmd, run_options opts = {}) const;
    template <class CompletionToken>
    auto run(std::string cmd, run_options opts, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), run(std::move(cmd), std::move(opts)),
                                     std::forward<CompletionToken>(token));
    }

    // Starts `cmd` and streams its output as it is produced (process_stream.hpp).
    boost::asio::awaitable<process_stream> stream(std::string cmd, stream_options opts = {}) const;
    template <class CompletionToken>
    auto stream(std::string cmd, stream_options opts, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), stream(std::move(cmd), std::move(opts)),
                                     std::forward<CompletionToken>(token));
    }

    // Attaches to a running process (a background command, a stream, a
    // terminal) by pid or tag: its output from now on, then its exit.
    // not_found_error when no such process runs.
    boost::asio::awaitable<process_stream> connect(int pid) const;
    template <class CompletionToken>
    auto connect(int pid, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), connect(pid),
                                     std::forward<CompletionToken>(token));
    }
    boost::asio::awaitable<process_stream> connect(std::string tag) const;
    template <class CompletionToken>
    auto connect(std::string tag, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), connect(std::move(tag)),
                                     std::forward<CompletionToken>(token));
    }

    // The processes running in the capsule (background commands, running
    // foreground ones, terminals).
    boost::asio::awaitable<std::vector<process_info>> list() const;
    template <class CompletionToken>
    auto list(CompletionToken&& token) const {
        return detail::complete_with(get_executor(), list(),
                                     std::forward<CompletionToken>(token));
    }

    // Signals a process by pid or by tag. The server sends SIGKILL for
    // anything but kill_signal::sigterm.
    boost::asio::awaitable<void> kill(int pid, kill_signal signal = kill_signal::sigkill) const;
    template <class CompletionToken>
    auto kill(int pid, kill_signal signal, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), kill(pid, signal),
                                     std::forward<CompletionToken>(token));
    }
    boost::asio::awaitable<void> kill(std::string tag, kill_signal signal = kill_signal::sigkill) const;
    template <class CompletionToken>
    auto kill(std::string tag, kill_signal signal, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), kill(std::move(tag), signal),
                                     std::forward<CompletionToken>(token));
    }

private:
    std::shared_ptr<detail::client_impl> c_;
    std::string id_;
};

} // namespace wrenn

#ifdef WRENN_HEADER_ONLY
#include <wrenn/impl/commands.ipp>
#endif
