// wrenn-local: the commands and processes of a capsule: exec (foreground,
// collected, or background) and the process list and kill.
#include "api_errors.hpp"
#include "routes.hpp"
#include "proc_control.hpp"

#include <wrenn/models.hpp>
#include <wrenn/protocol/base64.hpp>

#include <boost/json/value_from.hpp>

#include <csignal>

namespace wl {

namespace {

using namespace std::chrono_literals;

constexpr std::size_t output_limit = 64 * 1024 * 1024;

// A foreground command's output, collected from its hub.
struct fg_output {
    std::string out, err;
};

} // namespace

asio::awaitable<answer> exec(app_state& app, const std::string& id, const request& req) {
    if (!valid_capsule_id(id)) co_return bad_id();
    auto c = find_capsule(app, id);
    if (!c) co_return errors::capsule_not_found();
    if (c->status != "running") co_return not_running(*c);
    auto checked_body = check_exec_body(req.body);
    if (auto* refusal = std::get_if<answer>(&checked_body)) co_return std::move(*refusal);
    auto er = std::get<wrenn::exec_request>(std::move(checked_body));
    auto cwd = resolve_cwd(c->root, er.cwd.value_or(""));
    if (!cwd)
        co_return error_answer(502, "agent_error",
                               "failed to start process: chdir " + er.cwd.value_or("") +
                                   ": no such file or directory");
    std::vector<std::string> argv{er.cmd};
    argv.insert(argv.end(), er.args.begin(), er.args.end());
    // capture: background output too, the process stream attaches to it
    auto spec = capsule_spec(*c, std::move(argv), capsule_env(er.envs ? &*er.envs : nullptr), *cwd);
    auto t0 = std::chrono::steady_clock::now();
    spawned sp;
    try {
        sp = co_await spawn_in_capsule(app, c, std::move(spec));
    } catch (const std::system_error& e) {
        co_return error_answer(502, "agent_error", std::string("failed to start process: ") + e.what());
    }
    c->last_active_at = sys_clock::now();
    c->touch();
    if (er.background) {
        std::string tag = er.tag.value_or("");
        if (tag.empty()) tag = "proc-" + random_hex(4);
        start_hub(app, c, sp, proc_entry{sp.pid, tag, er.cmd, er.args, true, nullptr});
        log("capsule %s: background %s pid %d tag %s", c->id.c_str(), er.cmd.c_str(), sp.pid, tag.c_str());
        co_return json_answer(202, json::object{{"sandbox_id", c->id}, {"cmd", er.cmd}, {"pid", sp.pid}, {"tag", tag}});
    }
    auto hub = start_hub(app, c, sp, proc_entry{sp.pid, {}, er.cmd, er.args, false, nullptr});
    auto collected = std::make_shared<fg_output>();
    auto sub = hub->subscribe([collected](const proc_event& e) {
        std::string* to = e.kind == proc_event::out ? &collected->out
                          : e.kind == proc_event::err ? &collected->err
                                                      : nullptr;
        if (to && to->size() < output_limit) to->append(e.data.substr(0, output_limit - to->size()));
    });
    int timeout = er.timeout_sec && *er.timeout_sec > 0 ? *er.timeout_sec : 30;
    bool timed_out = false;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout);
    bool exited = co_await hub->wait_exit(deadline);
    if (!exited) {
        timed_out = true;
        signal_tree(sp.pid, SIGKILL, false);
        co_await hub->wait_exit(std::chrono::steady_clock::time_point::max());
    }
    c->last_active_at = sys_clock::now();
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    if (timed_out)
        co_return error_answer(502, "agent_error",
                               "exec failed: process timed out after " + std::to_string(timeout) +
                                   "s: context deadline exceeded");
    const fg_output& r = *collected;
    int code = hub->exit_code();
    bool utf8 = valid_utf8(r.out) && valid_utf8(r.err);
    json::object o{{"sandbox_id", c->id},
                   {"cmd", er.cmd},
                   {"stdout", utf8 ? r.out : wrenn::protocol::base64_encode(r.out)},
                   {"stderr", utf8 ? r.err : wrenn::protocol::base64_encode(r.err)},
                   {"exit_code", code},
                   {"duration_ms", ms},
                   {"encoding", utf8 ? "utf-8" : "base64"}};
    co_return json_answer(200, o);
}

asio::awaitable<answer> list_processes(app_state& app, const std::string& id) {
    if (!valid_capsule_id(id)) co_return bad_id();
    auto c = find_capsule(app, id);
    if (!c) co_return errors::capsule_not_found();
    if (c->status != "running") co_return not_running(*c);
    c->last_active_at = sys_clock::now();
    json::array arr;
    for (auto& [pid, e] : c->procs) {
        wrenn::process_info pi;
        pi.pid = pid;
        if (!e.tag.empty()) pi.tag = e.tag;
        pi.cmd = e.cmd;
        if (!e.args.empty()) pi.args = e.args;
        arr.push_back(json::value_from(pi));
    }
    co_return json_answer(200, json::object{{"processes", std::move(arr)}});
}

asio::awaitable<answer> kill_process(app_state& app, const std::string& id, const std::string& selector,
                                     const std::map<std::string, std::string>& q) {
    if (!valid_capsule_id(id)) co_return bad_id();
    auto c = find_capsule(app, id);
    if (!c) co_return errors::capsule_not_found();
    if (c->status != "running") co_return not_running(*c);
    c->last_active_at = sys_clock::now();
    bool numeric = !selector.empty() && selector.size() <= 10 &&
                   selector.find_first_not_of("0123456789") == std::string::npos &&
                   std::stoull(selector) <= 0xffffffffULL;
    pid_t target = 0;
    std::shared_ptr<proc_hub> hub;
    for (auto& [pid, e] : c->procs)
        if ((numeric && std::to_string(pid) == std::to_string(std::stoull(selector))) ||
            (!numeric && e.tag == selector)) {
            target = pid;
            hub = e.hub;
            break;
        }
    if (!target)
        co_return error_answer(404, "not_found",
                               numeric ? "process with pid " + selector + " not found"
                                       : "process with tag " + selector + " not found");
    bool term = query_value(q, "signal") == "SIGTERM";
    signal_tree(target, term ? SIGTERM : SIGKILL, term);
    // After a SIGKILL, answer once the process is gone (2 s at most), so that
    // a process list right after the 204 no longer shows it.
    if (!term && hub) co_await hub->wait_exit(std::chrono::steady_clock::now() + 2s);
    co_return empty_answer(204);
}

} // namespace wl
