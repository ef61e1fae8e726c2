// wrenn-local: creating a capsule (its root from the template, its freezer
// cgroup and namespace holder, Jupyter for code-runner-beta) and the capsule
// actions pause, resume and ping.
#include "api_errors.hpp"
#include "routes.hpp"
#include "proc_control.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fstream>

namespace wl {

namespace {

using namespace std::chrono_literals;
using asio::use_awaitable;

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
        sp = co_await spawn_in_capsule(app, c, std::move(spec));
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

} // namespace

namespace {

// From pending (0.2) or starting (0.4) to running: the capsule's root from
// its template, its freezer cgroup, its namespace holder, and Jupyter for
// code-runner-beta. "" when it runs, else what failed (the capsule is then
// `error`). A capsule destroyed meanwhile stays stopped.
asio::awaitable<std::string> boot(app_state& app, std::shared_ptr<capsule> c, std::shared_ptr<template_entry> t) {
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
        if (c->status != "stopped") c->status = "error";
        c->touch();
        log("capsule %s: cannot prepare its root: %s", c->id.c_str(), ec.message().c_str());
        co_return "failed to create sandbox: " + ec.message();
    }
    if (c->status == "pending" || c->status == "starting") {
        c->has_cgroup = freezer_create(c->id);
        try {
            co_await ensure_init(app, c);
        } catch (const std::exception& e) {
            log("capsule %s: cannot start its namespace holder: %s", c->id.c_str(), e.what());
        }
        if (c->status != "stopped") {
            c->status = "running";
            c->started_at = c->last_active_at = sys_clock::now();
            c->touch();
            if (c->template_name == "code-runner-beta") co_await start_jupyter(app, c);
        }
    }
    log("capsule %s created from %s", c->id.c_str(), c->template_name.c_str());
    co_return std::string();
}

asio::awaitable<void> boot_in_background(app_state& app, std::shared_ptr<capsule> c, std::shared_ptr<template_entry> t) {
    (void)co_await boot(app, std::move(c), std::move(t));
}

// 0.4: an action answers at once, in its transient status, and finishes here.
asio::awaitable<void> pause_in_background(std::shared_ptr<capsule> c) {
    co_await pause_capsule(*c);
    log("capsule %s paused", c->id.c_str());
}

void resume_now(capsule& c) {
    thaw(c);
    c.status = "running";
    c.started_at = c.last_active_at = sys_clock::now();
    c.touch();
    log("capsule %s resumed", c.id.c_str());
}

// 0.4: the capsule takes its transient status, the 202 answer shows it, and
// `rest` finishes the action after the answer.
answer answer_then(app_state& app, capsule& c, const char* transient, asio::awaitable<void> rest) {
    c.status = transient;
    c.touch();
    auto a = json_answer(202, capsule_json(c, false));
    asio::co_spawn(app.io, std::move(rest), asio::detached);
    return a;
}

asio::awaitable<void> resume_in_background(std::shared_ptr<capsule> c) {
    co_await asio::post(co_await asio::this_coro::executor, use_awaitable);  // after the answer
    if (c->status == "resuming") resume_now(*c);
}

} // namespace

asio::awaitable<answer> create_capsule(app_state& app, const request& req) {
    auto checked_body = check_create_body(req.body);
    if (auto* refusal = std::get_if<answer>(&checked_body)) co_return std::move(*refusal);
    auto r = std::get<create_body>(std::move(checked_body));
    const std::string tname = r.template_name;
    // <team-slug>/<name> (0.4): this server's one team, or the platform's
    std::string lookup = tname;
    if (auto slash = tname.find('/'); slash != std::string::npos) {
        auto team = tname.substr(0, slash);
        lookup = tname.substr(slash + 1);
        auto it = app.templates.find(lookup);
        bool visible = it != app.templates.end() &&
                       (it->second->platform ? team == "wrenn" : team == local_team_slug);
        if (!visible) co_return errors::template_not_found(tname);
    }
    auto tit = app.templates.find(lookup);
    if (tit == app.templates.end() || !tit->second->ready)
        co_return api_04() ? errors::template_not_found(tname) : error_answer(404, "not_found", "resource not found");
    if (!r.volume_ids.empty())  // no volume exists yet on this server
        co_return error_04(404, "volume_not_found", "Volume \"" + r.volume_ids.front() + "\" not found.");
    auto t = tit->second;

    auto c = std::make_shared<capsule>();
    do c->id = new_capsule_id();
    while (app.capsules.count(c->id));
    c->status = api_04() ? "starting" : "pending";
    c->template_name = tname;
    c->vcpus = r.vcpus;
    c->memory_mb = r.memory_mb;
    if (t->vcpus > 0) c->vcpus = t->vcpus;
    if (t->memory_mb > 0) c->memory_mb = t->memory_mb;
    c->timeout_sec = r.timeout_sec;
    c->labels = std::move(r.metadata);
    c->created_at = c->last_updated = sys_clock::now();
    c->dir = app.state_dir / "capsules" / c->id;
    c->root = c->dir / "root";
    c->busy = true;
    app.capsules[c->id] = c;

    if (api_04()) {  // 202 starting; the boot goes on after the answer (WIRE-0.4 §3.1)
        auto a = json_answer(202, capsule_json(*c, false));
        asio::co_spawn(app.io, boot_in_background(app, c, t), asio::detached);
        co_return a;
    }
    auto failure = co_await boot(app, c, t);
    if (!failure.empty()) co_return error_answer(502, "agent_error", failure);
    co_return json_answer(201, capsule_json(*c, false));
}

asio::awaitable<answer> capsule_action(app_state& app, const std::string& id, const std::string& action) {
    if (!valid_capsule_id(id)) co_return bad_id();
    auto c = find_capsule(app, id);
    if (!c) co_return errors::capsule_not_found("resource not found");
    if (action == "pause") {
        if (api_04() && (c->status == "paused" || c->status == "pausing"))
            co_return json_answer(202, capsule_json(*c, false));  // a no-op
        if (c->status != "running") co_return errors::not_running(c->status, "resource is not running");
        if (api_04()) co_return answer_then(app, *c, "pausing", pause_in_background(c));
        co_await pause_capsule(*c);
        log("capsule %s paused", c->id.c_str());
        co_return json_answer(200, capsule_json(*c, false));
    }
    if (action == "resume") {
        if (api_04() && c->status == "running") co_return json_answer(202, capsule_json(*c, false));  // a no-op
        if (c->status != "paused") co_return errors::not_paused(c->status);
        if (api_04()) co_return answer_then(app, *c, "resuming", resume_in_background(c));
        resume_now(*c);
        co_return json_answer(200, capsule_json(*c, false));
    }
    // ping
    if (c->status != "running") co_return errors::not_running(c->status, "resource is not running");
    c->last_active_at = sys_clock::now();
    co_return empty_answer(204);
}

} // namespace wl
