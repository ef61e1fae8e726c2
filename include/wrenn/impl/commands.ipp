#pragma once

#include <wrenn/client.hpp>
#include <wrenn/commands.hpp>
#include <wrenn/protocol/answers.hpp>

namespace wrenn {

WRENN_DECL boost::asio::awaitable<command_result> commands::run(std::string cmd, run_options opts) const {
    auto req = protocol::shell_exec_request(cmd);
    if (opts.timeout) req.timeout_sec = static_cast<int>(opts.timeout->count());
    if (!opts.envs.empty()) req.envs = opts.envs.to_map();
    if (!opts.cwd.empty()) req.cwd = std::string(opts.cwd);
    // not a coroutine itself: the awaitable holds the client and id, not `this`
    return capsules_api(c_).exec(id_, std::move(req));
}

} // namespace wrenn
