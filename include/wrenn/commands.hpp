// capsule.commands: running shell commands inside a capsule.
#pragma once

#include <wrenn/detail/config.hpp>
#include <wrenn/env.hpp>
#include <wrenn/models.hpp>

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
    // Server-side limit for a foreground command: killed when it runs longer.
    // nullopt leaves the server default (30 s). Ignored for background runs.
    std::optional<std::chrono::seconds> timeout = std::chrono::seconds(30);
    env_view envs{};          // added to the command's environment
    std::string_view cwd{};   // empty: the capsule user's home
    bool background = false;  // start it and return at once (result has pid and tag)
    std::string_view tag{};   // background: a name to find it by (default proc-xxxxxxxx)
};
static_assert(std::is_trivially_destructible_v<run_options>, "options must stay views (see env.hpp)");

class commands {
public:
    commands(std::shared_ptr<detail::client_impl> c, std::string capsule_id)
        : c_(std::move(c)), id_(std::move(capsule_id)) {}

    // Runs `cmd` through /bin/sh -c. Foreground: waits for it; a non-zero exit
    // code is not an error, it is in the result. Background: returns at once
    // with the process's pid and tag.
    boost::asio::awaitable<command_result> run(std::string cmd, run_options opts = {}) const;

    // The processes running in the capsule (background commands, running
    // foreground ones, terminals).
    boost::asio::awaitable<std::vector<process_info>> list() const;

    // Signals a process by pid or by tag. The server sends SIGKILL for
    // anything but kill_signal::sigterm.
    boost::asio::awaitable<void> kill(int pid, kill_signal signal = kill_signal::sigkill) const;
    boost::asio::awaitable<void> kill(std::string tag, kill_signal signal = kill_signal::sigkill) const;

private:
    std::shared_ptr<detail::client_impl> c_;
    std::string id_;
};

} // namespace wrenn

#ifdef WRENN_HEADER_ONLY
#include <wrenn/impl/commands.ipp>
#endif
