#pragma once

#include <wrenn/client.hpp>
#include <wrenn/commands.hpp>
#include <wrenn/error.hpp>
#include <wrenn/protocol/answers.hpp>

namespace wrenn {

WRENN_DECL boost::asio::awaitable<command_result> commands::run(std::string cmd, run_options opts) const {
    auto req = protocol::shell_exec_request(cmd);
    if (!opts.envs.empty()) req.envs = opts.envs.to_map();
    if (!opts.cwd.empty()) req.cwd = std::string(opts.cwd);
    if (!opts.background) {
        if (opts.timeout) req.timeout_sec = static_cast<int>(opts.timeout->count());
        // not a coroutine itself: the awaitable holds the client and id, not `this`
        return capsules_api(c_).exec(id_, std::move(req));
    }
    if (!opts.tag.empty()) req.tag = std::string(opts.tag);
    return [](capsules_api api, std::string id, exec_request req) -> boost::asio::awaitable<command_result> {
        auto h = co_await api.exec_background(std::move(id), std::move(req));
        command_result r;
        r.pid = h.pid;
        r.tag = std::move(h.tag);
        co_return r;
    }(capsules_api(c_), id_, std::move(req));
}

WRENN_DECL boost::asio::awaitable<std::vector<process_info>> commands::list() const {
    return capsules_api(c_).processes(id_);
}

WRENN_DECL boost::asio::awaitable<void> commands::kill(int pid, kill_signal signal) const {
    return capsules_api(c_).kill_process(id_, std::to_string(pid), signal);
}

WRENN_DECL boost::asio::awaitable<void> commands::kill(std::string tag, kill_signal signal) const {
    if (tag.empty() || tag.find_first_not_of("0123456789") == std::string::npos)
        throw usage_error("invalid_tag", "commands.kill: '" + tag +
                                             "' is not a usable tag (empty or all digits reads as a pid); "
                                             "pass the pid as an int instead");
    return capsules_api(c_).kill_process(id_, std::move(tag), signal);
}

} // namespace wrenn
