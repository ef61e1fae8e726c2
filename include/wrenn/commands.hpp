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
#include <type_traits>

namespace wrenn {

namespace detail {
class client_impl;
}

using command_result = exec_result;

// Options are views, consumed before run() returns its awaitable (env.hpp).
struct run_options {
    // Server-side limit: the command is killed when it runs longer. nullopt
    // leaves the server default (30 s).
    std::optional<std::chrono::seconds> timeout = std::chrono::seconds(30);
    env_view envs{};          // added to the command's environment
    std::string_view cwd{};   // empty: the capsule user's home
};
static_assert(std::is_trivially_destructible_v<run_options>, "options must stay views (see env.hpp)");

class commands {
public:
    commands(std::shared_ptr<detail::client_impl> c, std::string capsule_id)
        : c_(std::move(c)), id_(std::move(capsule_id)) {}

    // Runs `cmd` through /bin/sh -c and waits for it. A non-zero exit code is
    // not an error: it is in the result.
    boost::asio::awaitable<command_result> run(std::string cmd, run_options opts = {}) const;

private:
    std::shared_ptr<detail::client_impl> c_{};
    std::string id_{};
};

} // namespace wrenn

#ifdef WRENN_HEADER_ONLY
#include <wrenn/impl/commands.ipp>
#endif
