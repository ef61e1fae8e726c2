// wrenn-local: the REST routes (WIRE.md §1.3, §3, §4, §5, §6; files in files.cpp).
#include "common.hpp"
#include "front.hpp"

#include <wrenn/models.hpp>
#include <wrenn/protocol/base64.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>

#include <algorithm>
#include <csignal>
#include <fstream>

#include <sys/wait.h>
#include <unistd.h>

namespace wl {

namespace {

using namespace std::chrono_literals;
using asio::use_awaitable;

constexpr std::size_t output_limit = 64 * 1024 * 1024;
const std::string name_rule = "name must match ^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$";

answer bad_id() { return error_answer(400, "invalid_request", "invalid sandbox ID"); }
answer not_running(const capsule& c) {
    return error_answer(409, "invalid_state", "sandbox is not running (status: " + c.status + ")");
}

std::string get(const query_map& m, const std::string& k) {
    auto it = m.find(k);
    return it == m.end() ? std::string{} : it->second;
}

// ---------------------------------------------------------------- exec
// A foreground command's output, collected from its hub.
struct fg_output {
    std::string out, err;
};

asio::awaitable<answer> exec(app_state& app, const std::string& id, const request& req) {
    if (!valid_capsule_id(id)) co_return bad_id();
    auto c = find_capsule(app, id);
    if (!c) co_return error_answer(404, "not_found", "sandbox not found");
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
        co_await ensure_init(app, c);
        spec.ns_pid = c->ns_pid;
        sp = co_await spawn_process_async(spec);
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

// ---------------------------------------------------------------- processes
asio::awaitable<answer> list_processes(app_state& app, const std::string& id) {
    if (!valid_capsule_id(id)) co_return bad_id();
    auto c = find_capsule(app, id);
    if (!c) co_return error_answer(404, "not_found", "sandbox not found");
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
    if (!c) co_return error_answer(404, "not_found", "sandbox not found");
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
    bool term = get(q, "signal") == "SIGTERM";
    signal_tree(target, term ? SIGTERM : SIGKILL, term);
    // After a SIGKILL, answer once the process is gone (2 s at most), so that
    // a process list right after the 204 no longer shows it.
    if (!term && hub) co_await hub->wait_exit(std::chrono::steady_clock::now() + 2s);
    co_return empty_answer(204);
}

// ---------------------------------------------------------------- capsules
// The code-runner-beta template (WIRE.md §13): a Jupyter server on 0.0.0.0:8888
// (no token, no password, any origin, no XSRF check) with a kernelspec
// `wrenn` (the default), as a background process tagged "jupyter". Waits (30 s
// at most) until GET /api/status answers 200 inside the capsule, as the real
// template's readiness check does; if it never does, the capsule is answered
// all the same (the SDK retries until its jupyter_timeout).
constexpr unsigned short jupyter_port = 8888;
const char* const jupyter_dir = "/opt/wrenn/jupyter";

asio::awaitable<void> start_jupyter(app_state& app, std::shared_ptr<capsule> c) {
    const auto t0 = std::chrono::steady_clock::now();
    {
        fs::path spec_dir = c->root / fs::path(jupyter_dir).relative_path() / "kernels/wrenn";
        std::error_code ec;
        fs::create_directories(spec_dir, ec);
        std::ofstream out(spec_dir / "kernel.json", std::ios::trunc);
        out << json_text(json::object{
            {"argv", json::array{"/usr/bin/python3", "-m", "ipykernel_launcher", "-f", "{connection_file}"}},
            {"display_name", "Python 3 (wrenn)"},
            {"language", "python"}});
        if (ec || !out) {
            log("capsule %s: cannot write the Jupyter kernelspec", c->id.c_str());
            co_return;
        }
    }
    const std::vector<std::string> args{"-m",
                                        "jupyter_server",
                                        "--ip=0.0.0.0",
                                        "--port=" + std::to_string(jupyter_port),
                                        // 8888 or nothing: never quietly another port
                                        "--ServerApp.port_retries=0",
                                        "--no-browser",
                                        "--allow-root",
                                        "--ServerApp.token=",
                                        "--ServerApp.password=",
                                        "--ServerApp.allow_origin=*",
                                        "--ServerApp.disable_check_xsrf=True",
                                        "--ServerApp.allow_remote_access=True",
                                        "--ServerApp.root_dir=" + std::string(home_dir),
                                        "--MappingKernelManager.default_kernel_name=wrenn"};
    const std::string cmd = "/usr/bin/python3";
    // No MPLBACKEND: ipykernel's inline backend sends figures as image/png.
    const std::map<std::string, std::string> extra{{"JUPYTER_PATH", jupyter_dir},
                                                   {"HOME", std::string(home_dir)},
                                                   {"PYDEVD_DISABLE_FILE_VALIDATION", "1"}};
    std::vector<std::string> argv{cmd};
    argv.insert(argv.end(), args.begin(), args.end());
    auto spec = capsule_spec(*c, std::move(argv), capsule_env(&extra), resolve_cwd(c->root, "").value_or("/"));
    spawned sp;
    try {
        co_await ensure_init(app, c);
        spec.ns_pid = c->ns_pid;
        sp = co_await spawn_process_async(spec);
    } catch (const std::exception& e) {
        log("capsule %s: cannot start Jupyter: %s", c->id.c_str(), e.what());
        co_return;
    }
    auto hub = start_hub(app, c, sp, proc_entry{sp.pid, "jupyter", cmd, args, true, nullptr});
    const auto deadline = t0 + 30s;
    asio::steady_timer pause(app.io);
    while (std::chrono::steady_clock::now() < deadline && !hub->finished() && c->status == "running") {
        unsigned status = co_await capsule_http_status(app, c, jupyter_port, "/api/status", 2s);
        if (status == 200) {
            auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
            log("capsule %s: Jupyter ready on port %u after %lld ms (pid %d)", c->id.c_str(), jupyter_port,
                static_cast<long long>(ms.count()), sp.pid);
            co_return;
        }
        pause.expires_after(100ms);
        (void)co_await pause.async_wait(asio::as_tuple(use_awaitable));
    }
    if (hub->finished())
        log("capsule %s: Jupyter exited with %d before it was ready", c->id.c_str(), hub->exit_code());
    else
        log("capsule %s: Jupyter not ready within 30 s (the client will retry)", c->id.c_str());
}

asio::awaitable<answer> create_capsule(app_state& app, const request& req) {
    auto checked_body = check_create_body(req.body);
    if (auto* refusal = std::get_if<answer>(&checked_body)) co_return std::move(*refusal);
    auto r = std::get<create_body>(std::move(checked_body));
    const std::string tname = r.template_name;
    auto tit = app.templates.find(tname);
    if (tit == app.templates.end() || !tit->second->ready)
        co_return error_answer(404, "not_found", "resource not found");
    auto t = tit->second;

    auto c = std::make_shared<capsule>();
    do c->id = new_capsule_id();
    while (app.capsules.count(c->id));
    c->status = "pending";
    c->template_name = tname;
    c->vcpus = r.vcpus;
    c->memory_mb = r.memory_mb;
    if (t->vcpus > 0) c->vcpus = t->vcpus;
    if (t->memory_mb > 0) c->memory_mb = t->memory_mb;
    c->timeout_sec = r.timeout_sec;
    c->created_at = c->last_updated = sys_clock::now();
    c->dir = app.state_dir / "capsules" / c->id;
    c->root = c->dir / "root";
    c->busy = true;
    app.capsules[c->id] = c;

    std::error_code ec;
    fs::create_directories(c->dir, ec);
    if (!t->dir.empty()) {
        std::vector<std::string> cmd_{"cp", "-a", "--", t->dir.string(), c->root.string()};
        int rc = co_await run_host(std::move(cmd_));
        if (rc != 0) ec = std::make_error_code(std::errc::io_error);
    }
    if (!ec) {
        fs::create_directories(c->root / "home/wrenn-user", ec);
        fs::create_directories(c->root / "tmp", ec);
        fs::permissions(c->root / "tmp", fs::perms::all | fs::perms::sticky_bit, ec);
    }
    c->busy = false;
    if (ec) {
        c->status = "error";
        c->touch();
        log("capsule %s: cannot prepare its root: %s", c->id.c_str(), ec.message().c_str());
        co_return error_answer(502, "agent_error", "failed to create sandbox: " + ec.message());
    }
    if (c->status == "pending") {
        c->has_cgroup = freezer_create(c->id);
        try {
            co_await ensure_init(app, c);
        } catch (const std::exception& e) {
            log("capsule %s: cannot start its namespace holder: %s", c->id.c_str(), e.what());
        }
        c->status = "running";
        c->started_at = c->last_active_at = sys_clock::now();
        c->touch();
        if (tname == "code-runner-beta") co_await start_jupyter(app, c);
    }
    log("capsule %s created from %s", c->id.c_str(), tname.c_str());
    co_return json_answer(201, capsule_json(*c, false));
}

asio::awaitable<answer> capsule_action(app_state& app, const std::string& id, const std::string& action) {
    if (!valid_capsule_id(id)) co_return bad_id();
    auto c = find_capsule(app, id);
    if (!c) co_return error_answer(404, "not_found", "resource not found");
    if (action == "pause") {
        if (c->status != "running") co_return error_answer(409, "invalid_state", "resource is not running");
        co_await pause_capsule(*c);
        log("capsule %s paused", c->id.c_str());
        co_return json_answer(200, capsule_json(*c, false));
    }
    if (action == "resume") {
        if (c->status != "paused") co_return error_answer(409, "invalid_state", "resource is not paused");
        thaw(*c);
        c->status = "running";
        c->started_at = c->last_active_at = sys_clock::now();
        c->touch();
        log("capsule %s resumed", c->id.c_str());
        co_return json_answer(200, capsule_json(*c, false));
    }
    // ping
    if (c->status != "running") co_return error_answer(409, "invalid_state", "resource is not running");
    c->last_active_at = sys_clock::now();
    co_return empty_answer(204);
}

answer metrics(app_state& app, const std::string& id, const std::map<std::string, std::string>& q) {
    if (!valid_capsule_id(id)) return bad_id();
    std::string range = get(q, "range");
    if (range.empty()) range = "10m";
    static const std::map<std::string, std::pair<int, int>> ranges{
        {"5m", {300, 0}},       {"10m", {600, 0}},      {"1h", {3600, 30}}, {"2h", {7200, 30}},
        {"6h", {21600, 300}},   {"12h", {43200, 300}},  {"24h", {86400, 300}}};
    auto rit = ranges.find(range);
    if (rit == ranges.end())
        return error_answer(400, "invalid_request", "range must be one of: 5m, 10m, 1h, 2h, 6h, 12h, 24h");
    auto c = find_capsule(app, id);
    if (!c) return error_answer(404, "not_found", "sandbox not found");
    if (c->status != "running" && c->status != "paused")
        return error_answer(404, "not_found", "metrics not available for sandbox in state: " + c->status);
    auto [window, bucket] = rit->second;
    auto now = static_cast<std::int64_t>(sys_clock::to_time_t(sys_clock::now()));
    wrenn::capsule_metrics m;
    m.capsule_id = c->id;
    m.range = range;
    std::int64_t cur_bucket = -1;
    int n = 0;
    for (auto& s : c->samples) {
        if (s.t < now - window) continue;
        if (bucket == 0) {
            m.points.push_back({s.t, s.cpu_pct, s.mem_bytes, s.disk_bytes});
            continue;
        }
        std::int64_t b = s.t / bucket * bucket;
        if (b != cur_bucket) {
            if (n > 0) {
                auto& p = m.points.back();
                p.cpu_pct /= n;
                p.mem_bytes /= n;
                p.disk_bytes /= n;
            }
            m.points.push_back({b, 0, 0, 0});
            cur_bucket = b;
            n = 0;
        }
        auto& p = m.points.back();
        p.cpu_pct += s.cpu_pct;
        p.mem_bytes += s.mem_bytes;
        p.disk_bytes += s.disk_bytes;
        ++n;
    }
    if (bucket != 0 && n > 0) {
        auto& p = m.points.back();
        p.cpu_pct /= n;
        p.mem_bytes /= n;
        p.disk_bytes /= n;
    }
    return json_answer(200, json::value_from(m));
}

answer stats(app_state& app, const std::map<std::string, std::string>& q) {
    std::string range = get(q, "range");
    if (range.empty()) range = "1h";
    static const std::map<std::string, int> ranges{
        {"5m", 300}, {"1h", 3600}, {"6h", 21600}, {"24h", 86400}, {"30d", 30 * 86400}};
    auto rit = ranges.find(range);
    if (rit == ranges.end())
        return error_answer(400, "invalid_request", "range must be one of: 5m, 1h, 6h, 24h, 30d");
    wrenn::team_stats s;
    s.range = range;
    for (auto& [id, c] : app.capsules)
        if (c->status == "running") {
            ++s.current.running_count;
            s.current.vcpus_reserved += c->vcpus;
            s.current.memory_mb_reserved += c->memory_mb;
        }
    s.current.sampled_at = rfc3339(sys_clock::now());
    s.peaks = {s.current.running_count, s.current.vcpus_reserved, s.current.memory_mb_reserved};
    auto now = static_cast<std::int64_t>(sys_clock::to_time_t(sys_clock::now()));
    const std::int64_t step = std::max<std::int64_t>(30, rit->second / 60);
    std::int64_t cur = -1;
    for (auto& [t, v] : app.stats_history) {
        if (t < now - rit->second) continue;
        s.peaks.running_count = std::max(s.peaks.running_count, v[0]);
        s.peaks.vcpus = std::max(s.peaks.vcpus, v[1]);
        s.peaks.memory_mb = std::max(s.peaks.memory_mb, v[2]);
        std::int64_t b = t / step * step;
        if (b != cur) {
            cur = b;
            s.series.labels.push_back(rfc3339(sys_clock::from_time_t(b)));
            s.series.running.push_back(v[0]);
            s.series.vcpus.push_back(v[1]);
            s.series.memory_mb.push_back(v[2]);
        } else {
            s.series.running.back() = std::max<std::int64_t>(s.series.running.back(), v[0]);
            s.series.vcpus.back() = std::max<std::int64_t>(s.series.vcpus.back(), v[1]);
            s.series.memory_mb.back() = std::max<std::int64_t>(s.series.memory_mb.back(), v[2]);
        }
    }
    return json_answer(200, json::value_from(s));
}

answer usage(app_state& app, const std::map<std::string, std::string>& q) {
    auto today = *parse_date(iso_date(sys_clock::now()));
    auto from = today - std::chrono::hours(24 * 30), to = today;
    if (auto f = get(q, "from"); !f.empty()) {
        auto d = parse_date(f);
        if (!d) return error_answer(400, "invalid_request", "invalid 'from' date, expected YYYY-MM-DD");
        from = *d;
    }
    if (auto t = get(q, "to"); !t.empty()) {
        auto d = parse_date(t);
        if (!d) return error_answer(400, "invalid_request", "invalid 'to' date, expected YYYY-MM-DD");
        to = *d;
    }
    if (from > to) return error_answer(400, "invalid_request", "'from' must not be after 'to'");
    if (to - from > std::chrono::hours(24 * 366))
        return error_answer(400, "invalid_request", "date range must not exceed 366 days");
    wrenn::team_usage u;
    u.from = iso_date(from);
    u.to = iso_date(to);
    for (auto d = from; d <= to; d += std::chrono::hours(24)) {
        auto key = iso_date(d);
        auto it = app.usage.find(key);
        u.points.push_back({key, it == app.usage.end() ? 0.0 : it->second.first,
                            it == app.usage.end() ? 0.0 : it->second.second});
    }
    return json_answer(200, json::value_from(u));
}

// ---------------------------------------------------------------- snapshots
void write_template_meta(app_state& app, const template_entry& t) {
    std::ofstream out(app.state_dir / "templates" / (t.name + ".json"));
    out << json_text(json::object{{"vcpus", t.vcpus},
                                  {"memory_mb", t.memory_mb},
                                  {"created_unix", static_cast<std::int64_t>(sys_clock::to_time_t(t.created_at))}});
}

asio::awaitable<bool> do_snapshot(app_state& app, std::shared_ptr<capsule> c, std::shared_ptr<template_entry> t,
                                  std::string prev, bool restore) {
    c->busy = true;
    if (prev == "running") co_await freeze(*c);
    std::error_code ec;
    {
        std::vector<std::string> cmd_{"rm", "-rf", "--one-file-system", t->dir.string()};
        if (fs::exists(t->dir, ec)) co_await run_host(std::move(cmd_));
    }
    std::vector<std::string> cmd_{"cp", "-a", "--", c->root.string(), t->dir.string()};
    int rc = co_await run_host(std::move(cmd_));
    bool ok = rc == 0 && c->status != "stopped";
    if (ok) {
        t->size_bytes = dir_size(t->dir);
        t->vcpus = c->vcpus;
        t->memory_mb = c->memory_mb;
        t->created_at = sys_clock::now();
        t->ready = true;
        write_template_meta(app, *t);
        log("snapshot %s of %s written (%lld bytes)", t->name.c_str(), c->id.c_str(),
            static_cast<long long>(t->size_bytes));
    } else {
        log("snapshot %s of %s failed (cp exit %d)", t->name.c_str(), c->id.c_str(), rc);
        auto it = app.templates.find(t->name);
        if (it != app.templates.end() && it->second == t) app.templates.erase(it);
        {
            std::vector<std::string> cmd_{"rm", "-rf", "--one-file-system", t->dir.string()};
            co_await run_host(std::move(cmd_));
        }
    }
    if (restore && c->status == "snapshotting") {
        if (prev == "running") thaw(*c);
        c->status = prev;
        c->touch();
    }
    c->busy = false;
    co_return ok;
}

asio::awaitable<answer> create_snapshot(app_state& app, const request& req) {
    auto checked_body = check_snapshot_body(req.body);
    if (auto* refusal = std::get_if<answer>(&checked_body)) co_return std::move(*refusal);
    auto sb = std::get<snapshot_body>(std::move(checked_body));
    const std::string sid = sb.sandbox_id;
    std::string name = sb.name;
    if (name.empty()) name = "template-" + random_hex(4);
    if (auto it = app.templates.find(name); it != app.templates.end()) {
        if (it->second->platform)
            co_return error_answer(409, "name_reserved", "template name is reserved by a global template");
        co_return error_answer(409, "template_name_taken",
                               "snapshot name already exists; delete the existing snapshot first to reuse this name");
    }
    auto c = find_capsule(app, sid);
    if (!c) co_return error_answer(404, "not_found", "sandbox not found");
    if ((c->status != "running" && c->status != "paused") || c->busy)
        co_return error_answer(409, "invalid_state", "sandbox must be running or paused");
    auto t = std::make_shared<template_entry>();
    t->name = name;
    t->type = "snapshot";
    t->ready = false;
    t->dir = app.state_dir / "templates" / name;
    t->created_at = sys_clock::now();
    app.templates[name] = t;
    std::string prev = c->status;
    if (app.snapshot_status == 202) {
        c->status = "snapshotting";
        c->touch();
        auto a = json_answer(202, capsule_json(*c, false));
        asio::co_spawn(app.io, do_snapshot(app, c, t, prev, true), asio::detached);
        co_return a;
    }
    c->status = "paused";
    c->touch();
    bool ok = co_await do_snapshot(app, c, t, prev, false);
    if (!ok) {
        if (prev == "running" && c->status == "paused") {
            thaw(*c);
            c->status = "running";
        }
        co_return error_answer(502, "agent_error", "failed to create snapshot");
    }
    co_return json_answer(201, template_json(*t));
}

answer list_snapshots(app_state& app, const std::map<std::string, std::string>& q) {
    std::string type = get(q, "type");
    std::vector<std::shared_ptr<template_entry>> v;
    for (auto& [n, t] : app.templates)
        if (t->ready && (type.empty() || t->type == type)) v.push_back(t);
    std::stable_sort(v.begin(), v.end(), [](auto& a, auto& b) {
        if (a->platform != b->platform) return !a->platform;
        return a->created_at > b->created_at;
    });
    json::array arr;
    for (auto& t : v) arr.push_back(template_json(*t));
    return json_answer(200, arr);
}

asio::awaitable<answer> delete_snapshot(app_state& app, const std::string& name) {
    if (!valid_name(name)) co_return error_answer(400, "invalid_request", "invalid snapshot name: " + name_rule);
    if (name == "minimal") co_return error_answer(403, "forbidden", "the minimal template cannot be deleted");
    auto it = app.templates.find(name);
    if (it == app.templates.end() || !it->second->ready)
        co_return error_answer(404, "not_found", "template not found");
    if (it->second->platform)
        co_return error_answer(403, "forbidden", "platform templates cannot be deleted here");
    auto t = it->second;
    app.templates.erase(it);
    std::error_code ec;
    fs::remove(app.state_dir / "templates" / (name + ".json"), ec);
    std::vector<std::string> cmd_{"rm", "-rf", "--one-file-system", t->dir.string()};
    int rc = co_await run_host(std::move(cmd_));
    if (rc != 0) co_return error_answer(500, "agent_error", "failed to delete snapshot files");
    log("snapshot %s deleted", name.c_str());
    co_return empty_answer(204);
}

} // namespace

asio::awaitable<answer> handle_request(app_state& app, request req) {
    route_plan plan = plan_route(app, req);
    if (plan.early) co_return std::move(*plan.early);
    const std::string& id = plan.id;
    switch (plan.route) {
    case route_id::list_capsules: {
        std::vector<std::shared_ptr<capsule>> v;
        for (auto& [cid, c] : app.capsules)
            if (c->status != "stopped" && c->status != "error") v.push_back(c);
        std::sort(v.begin(), v.end(), [](auto& a, auto& b) {
            return a->created_at != b->created_at ? a->created_at > b->created_at : a->id > b->id;
        });
        json::array arr;
        for (auto& c : v) arr.push_back(capsule_json(*c, false));
        co_return json_answer(200, arr);
    }
    case route_id::create_capsule:
        co_return co_await create_capsule(app, req);
    case route_id::get_capsule: {
        auto c = find_capsule(app, id);
        if (!c) co_return error_answer(404, "not_found", "sandbox not found");
        co_return json_answer(200, capsule_json(*c, true));
    }
    case route_id::delete_capsule: {
        auto c = find_capsule(app, id);
        if (!c) co_return error_answer(404, "not_found", "resource not found");
        if (c->status != "stopped") co_await destroy_capsule(app, c);
        co_return empty_answer(204);
    }
    case route_id::capsule_action:
        co_return co_await capsule_action(app, id, plan.arg);
    case route_id::exec:
        co_return co_await exec(app, id, req);
    case route_id::metrics:
        co_return metrics(app, id, plan.query);
    case route_id::list_processes:
        co_return co_await list_processes(app, id);
    case route_id::kill_process:
        co_return co_await kill_process(app, id, plan.arg, plan.query);
    case route_id::files:
        co_return co_await file_route(app, id, plan.arg, req);
    case route_id::stats:
        co_return stats(app, plan.query);
    case route_id::usage:
        co_return usage(app, plan.query);
    case route_id::create_snapshot:
        co_return co_await create_snapshot(app, req);
    case route_id::list_snapshots:
        co_return list_snapshots(app, plan.query);
    case route_id::delete_snapshot:
        co_return co_await delete_snapshot(app, id);
    }
    co_return error_answer(404, "not_found", "route not found");
}

} // namespace wl
