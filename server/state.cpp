// wrenn-local: capsule and template state, lifecycle helpers, the reaper.
#include "api_errors.hpp"
#include "common.hpp"
#include "capsule_init.hpp"
#include "proc_control.hpp"

#include <wrenn/models.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value_from.hpp>

#include <cerrno>
#include <csignal>
#include <system_error>
#include <fstream>
#include <set>
#include <sstream>

#include <sys/wait.h>
#include <unistd.h>

namespace wl {

namespace {
constexpr std::int64_t mib = 1024 * 1024;

std::string read_text(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::vector<pid_t> capsule_pids(capsule& c) {
    std::vector<pid_t> roots;
    for (auto& [pid, e] : c.procs) roots.push_back(pid);
    if (c.init_pid > 0) roots.push_back(c.init_pid);
    auto pids = process_tree(roots);
    if (c.has_cgroup)
        for (pid_t p : freezer_procs(c.id)) pids.push_back(p);
    std::set<pid_t> uniq(pids.begin(), pids.end());
    return {uniq.begin(), uniq.end()};
}

asio::awaitable<void> sleep_ms(int ms) {
    asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(ms));
    (void)co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
}
} // namespace

json::value capsule_json(const capsule& c, bool single) {
    wrenn::capsule_info ci;
    ci.id = c.id;
    ci.status = wrenn::capsule_status(std::string_view(c.status));
    ci.template_name = c.template_name;
    ci.vcpus = c.vcpus;
    ci.memory_mb = c.memory_mb;
    ci.timeout_sec = c.timeout_sec;
    ci.created_at = rfc3339(c.created_at);
    ci.last_updated = rfc3339(c.last_updated);
    if (c.started_at) ci.started_at = rfc3339(*c.started_at);
    if (c.last_active_at) ci.last_active_at = rfc3339(*c.last_active_at);
    ci.metadata = c.labels;
    ci.metadata["agent_version"] = std::string(agent_version);  // the system's keys win
    ci.disk_size_mb = c.status == "starting" ? 0 : 5120;  // set from the host once booted (0.4.0)
    if (single) {
        std::error_code ec;
        ci.disk_used_mb = fs::exists(c.root, ec) ? (dir_size(c.root) + mib - 1) / mib : 0;
    }
    return json::value_from(ci);
}

json::value template_json(const template_entry& t) {
    wrenn::template_info ti;
    ti.name = t.name;
    ti.type = t.type;
    ti.vcpus = t.vcpus;
    ti.memory_mb = t.memory_mb;
    ti.size_bytes = t.size_bytes;
    ti.created_at = rfc3339(t.created_at);
    ti.platform = t.platform;
    ti.is_protected = t.is_protected;
    if (api_04()) {  // one team here: it owns every snapshot
        ti.is_public = t.is_public;
        ti.owned = !t.platform;
        ti.team_slug = t.platform ? "wrenn" : local_team_slug;
    }
    return json::value_from(ti);
}

void load_templates(app_state& app) {
    // 2026-05-01T00:00:00Z: a fixed creation time for the built-in templates.
    const auto builtin_time = sys_clock::from_time_t(1777593600);
    for (const char* n : {"minimal", "minimal-ubuntu", "base-python", "code-runner-beta"}) {
        auto t = std::make_shared<template_entry>();
        t->name = n;
        t->type = "base";
        t->platform = t->is_protected = true;
        t->created_at = builtin_time;
        app.templates[n] = t;
    }
    std::error_code ec;
    for (auto& d : fs::directory_iterator(app.state_dir / "templates", ec)) {
        auto name = d.path().filename().string();
        if (!d.is_directory() || !valid_name(name) || app.templates.count(name)) continue;
        auto t = std::make_shared<template_entry>();
        t->name = name;
        t->type = "snapshot";
        t->dir = d.path();
        t->size_bytes = dir_size(d.path());
        t->created_at = sys_clock::now();
        boost::system::error_code jec;
        auto meta = json::parse(read_text(app.state_dir / "templates" / (name + ".json")), jec);
        if (!jec && meta.is_object()) {
            auto& o = meta.get_object();
            if (auto* v = o.if_contains("vcpus"); v && v->is_int64()) t->vcpus = static_cast<int>(v->get_int64());
            if (auto* v = o.if_contains("memory_mb"); v && v->is_int64())
                t->memory_mb = static_cast<int>(v->get_int64());
            if (auto* v = o.if_contains("created_unix"); v && v->is_int64())
                t->created_at = sys_clock::from_time_t(v->get_int64());
        }
        app.templates[name] = t;
        log("loaded snapshot template %s", name.c_str());
    }
}

std::shared_ptr<capsule> find_capsule(app_state& app, std::string_view id) {
    auto it = app.capsules.find(std::string(id));
    return it == app.capsules.end() ? nullptr : it->second;
}

asio::awaitable<void> freeze(capsule& c) {
    if (c.has_cgroup && freezer_set(c.id, true)) {
        for (int i = 0; i < 200 && freezer_state(c.id) != "FROZEN"; ++i) {
            co_await sleep_ms(10);
            if (i % 20 == 19) freezer_set(c.id, true);
        }
        co_return;
    }
    // Fallback: stop every process of the capsule (twice, to catch forks).
    for (int pass = 0; pass < 2; ++pass)
        for (pid_t p : capsule_pids(c)) ::kill(p, SIGSTOP);
}

void thaw(capsule& c) {
    if (c.has_cgroup && freezer_set(c.id, false)) return;
    for (pid_t p : capsule_pids(c)) ::kill(p, SIGCONT);
}

asio::awaitable<void> kill_all(capsule& c) {
    for (int pass = 0; pass < 3; ++pass) {
        // The processes we started go first, so that each reports -1. Killed
        // after the capsule's init, a PTY that had just started once reported
        // 1 (CI, 2026-12-03): its nsenter, still joining the dying pid
        // namespace, exited by itself before its SIGKILL came.
        for (auto& [pid, e] : c.procs) ::kill(pid, SIGKILL);
        auto pids = capsule_pids(c);
        for (pid_t p : pids) ::kill(p, SIGKILL);
        if (c.has_cgroup) freezer_set(c.id, false);
        else
            for (pid_t p : pids) ::kill(p, SIGCONT);
        if (pids.empty()) break;
        // Let the watchers reap them.
        for (int i = 0; i < 50 && (!c.procs.empty() || c.init_pid > 0 || c.slirp_pid > 0 ||
                                   (c.has_cgroup && !freezer_procs(c.id).empty()));
             ++i)
            co_await sleep_ms(10);
    }
}

void close_capsule_net(capsule& c) {
    if (c.slirp_exit_fd >= 0) ::close(std::exchange(c.slirp_exit_fd, -1));  // slirp4netns exits
    if (c.netns_fd >= 0) ::close(std::exchange(c.netns_fd, -1));
}

namespace {
asio::awaitable<void> watch_init(std::shared_ptr<capsule> c, pid_t pid, int pidfd) {
    co_await wait_child(pid, pidfd);
    if (c->init_pid == pid) {
        c->init_pid = c->ns_pid = -1;
        close_capsule_net(*c);
    }
}

asio::awaitable<void> watch_slirp(std::shared_ptr<capsule> c, pid_t pid, int pidfd) {
    int st = co_await wait_child(pid, pidfd);
    if (c->slirp_pid != pid) co_return;
    c->slirp_pid = -1;
    if (c->slirp_exit_fd >= 0) {  // it ended on its own: the capsule lost its outside link
        ::close(std::exchange(c->slirp_exit_fd, -1));
        log("capsule %s: slirp4netns exited (status %d): loopback only from now on", c->id.c_str(), st);
    }
}
} // namespace

asio::awaitable<void> ensure_init(app_state& app, std::shared_ptr<capsule> c) {
    if (!sandbox.bwrap || sandbox.nsenter_path.empty()) co_return;
    for (;;) {
        if (c->init_pid > 0 && c->ns_pid > 0 && ::kill(c->ns_pid, 0) == 0) co_return;
        auto starting = c->init_starting;
        if (!starting) break;
        (void)co_await starting->async_wait(asio::as_tuple(asio::use_awaitable));  // cancelled when done
    }
    if (c->status == "stopped" || c->status == "error")
        throw std::system_error(ESRCH, std::generic_category(), "the sandbox is gone");
    std::string cg = c->has_cgroup ? freezer_dir(c->id) + "/cgroup.procs" : std::string{};
    auto done = std::make_shared<asio::steady_timer>(app.io, asio::steady_timer::time_point::max());
    c->init_starting = done;
    capsule_init ci;
    std::exception_ptr failed;
    try {
        ci = co_await spawn_capsule_init(c->root, cg);
    } catch (...) {
        failed = std::current_exception();
    }
    c->init_starting.reset();
    done->cancel();
    if (failed) std::rethrow_exception(failed);
    close_capsule_net(*c);  // a previous init's, if its watcher has not run yet
    c->init_pid = ci.init.pid;
    c->ns_pid = ci.ns_pid;
    c->netns_fd = ci.netns_fd;
    c->slirp_pid = ci.slirp.pid;
    c->slirp_exit_fd = ci.slirp_exit_fd;
    asio::co_spawn(app.io, watch_init(c, ci.init.pid, ci.init.pidfd), asio::detached);
    if (ci.slirp.pid > 0) asio::co_spawn(app.io, watch_slirp(c, ci.slirp.pid, ci.slirp.pidfd), asio::detached);
    if (c->status == "stopped") {  // destroyed while it started: its watcher cleans up
        ::kill(ci.init.pid, SIGKILL);
        throw std::system_error(ESRCH, std::generic_category(), "the sandbox is gone");
    }
}

asio::awaitable<void> destroy_capsule(app_state&, std::shared_ptr<capsule> c) {
    c->status = "stopped";
    c->touch();
    co_await kill_all(*c);
    std::error_code ec;
    if (fs::exists(c->dir, ec)) {
        std::vector<std::string> cmd_{"rm", "-rf", "--one-file-system", c->dir.string()};
        int rc = co_await run_host(std::move(cmd_));
        if (rc != 0) log("rm -rf %s failed (%d)", c->dir.c_str(), rc);
    }
    if (c->has_cgroup) {
        freezer_remove(c->id);
        c->has_cgroup = false;
    }
    log("capsule %s destroyed", c->id.c_str());
}

void kill_everything(app_state& app) {
    for (auto& [id, c] : app.capsules) {
        for (pid_t p : capsule_pids(*c)) ::kill(p, SIGKILL);
        if (c->has_cgroup) freezer_set(c->id, false);
        close_capsule_net(*c);
    }
    for (int i = 0; i < 100; ++i) {
        bool any = false;
        for (auto& [id, c] : app.capsules) {
            for (auto& [pid, e] : c->procs) ::waitpid(pid, nullptr, WNOHANG);
            if (c->has_cgroup && !freezer_procs(c->id).empty()) any = true;
            if (c->slirp_pid > 0) {
                if (::waitpid(c->slirp_pid, nullptr, WNOHANG) == 0) any = true;
                else c->slirp_pid = -1;
            }
        }
        if (!any) break;
        ::usleep(10000);
    }
    for (auto& [id, c] : app.capsules)
        if (c->has_cgroup) freezer_remove(c->id);
    if (!sandbox.freezer_root.empty()) ::rmdir(sandbox.freezer_root.c_str());
}

std::int64_t dir_size(const fs::path& p) {
    std::int64_t total = 0;
    std::error_code ec;
    fs::recursive_directory_iterator it(p, fs::directory_options::skip_permission_denied, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
        std::error_code e2;
        auto st = it->symlink_status(e2);
        if (!e2 && fs::is_regular_file(st)) {
            auto sz = it->file_size(e2);
            if (!e2) total += static_cast<std::int64_t>(sz);
        }
    }
    return total;
}

void sample_metrics(capsule& c) {
    static const long ticks = ::sysconf(_SC_CLK_TCK);
    static const long page = ::sysconf(_SC_PAGESIZE);
    double cpu_ticks = 0;
    std::int64_t rss = 0;
    for (pid_t p : capsule_pids(c)) {
        std::string stat = read_text("/proc/" + std::to_string(p) + "/stat");
        auto rp = stat.rfind(')');
        if (rp == std::string::npos) continue;
        std::istringstream ss(stat.substr(rp + 2));
        std::vector<std::string> f;
        std::string tok;
        while (ss >> tok) f.push_back(tok);
        // fields after ')' start at field 3 (state): utime=14, stime=15, rss=24
        if (f.size() < 22) continue;
        cpu_ticks += std::stod(f[11]) + std::stod(f[12]);
        rss += std::stoll(f[21]) * page;
    }
    auto now = std::chrono::steady_clock::now();
    double pct = 0;
    if (c.last_cpu_ticks >= 0) {
        double secs = std::chrono::duration<double>(now - c.last_cpu_time).count();
        if (secs > 0)
            pct = (cpu_ticks - c.last_cpu_ticks) / static_cast<double>(ticks) / secs / std::max(1, c.vcpus) * 100.0;
        pct = std::clamp(pct, 0.0, 100.0);
    }
    c.last_cpu_ticks = cpu_ticks;
    c.last_cpu_time = now;
    if (now - c.disk_checked > std::chrono::seconds(30)) {
        c.disk_bytes = dir_size(c.root);
        c.disk_checked = now;
    }
    auto t = sys_clock::to_time_t(sys_clock::now());
    c.samples.push_back({static_cast<std::int64_t>(t), pct, rss, c.disk_bytes});
    if (!c.samples.empty() && c.samples.front().t < t - 24 * 3600) {
        auto it = std::find_if(c.samples.begin(), c.samples.end(),
                               [&](const metric_sample& s) { return s.t >= t - 24 * 3600; });
        c.samples.erase(c.samples.begin(), it);
    }
}

asio::awaitable<void> pause_capsule(capsule& c) {
    c.status = "pausing";
    c.touch();
    co_await freeze(c);
    if (c.status == "pausing") {  // unless destroyed meanwhile
        c.status = "paused";
        c.touch();
    }
}

namespace {
asio::awaitable<void> auto_pause(std::shared_ptr<capsule> c) {
    log("capsule %s idle for %d s: pausing", c->id.c_str(), c->timeout_sec);
    co_await pause_capsule(*c);
}

asio::awaitable<void> reaper(app_state& app) {
    asio::steady_timer t(co_await asio::this_coro::executor);
    for (;;) {
        t.expires_after(std::chrono::seconds(2));
        (void)co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
        auto now = sys_clock::now();
        int running = 0, vcpus = 0, mem = 0;
        auto& day = app.usage[iso_date(now)];
        for (auto& [id, c] : app.capsules) {
            if (c->status != "running") continue;
            ++running;
            vcpus += c->vcpus;
            mem += c->memory_mb;
            day.first += 2.0 / 60.0 * c->vcpus;
            day.second += 2.0 / 60.0 * c->memory_mb;
            try {
                sample_metrics(*c);
            } catch (const std::exception& e) {
                log("metrics sampling of %s failed: %s", c->id.c_str(), e.what());
            }
            if (c->timeout_sec > 0 && !c->busy) {
                auto last = c->last_active_at.value_or(c->created_at);
                if (now - last >= std::chrono::seconds(c->timeout_sec))
                    asio::co_spawn(app.io, auto_pause(c), asio::detached);
            }
        }
        app.peak_running = std::max(app.peak_running, running);
        app.peak_vcpus = std::max(app.peak_vcpus, vcpus);
        app.peak_memory = std::max(app.peak_memory, mem);
        auto tnow = static_cast<std::int64_t>(sys_clock::to_time_t(now));
        if (app.stats_history.empty() || app.stats_history.back().first <= tnow - 30)
            app.stats_history.push_back({tnow, {running, vcpus, mem}});
        while (!app.stats_history.empty() && app.stats_history.front().first < tnow - 30 * 86400)
            app.stats_history.pop_front();
    }
}
} // namespace

void start_reaper(app_state& app) {
    asio::co_spawn(app.io, reaper(app), [](std::exception_ptr e) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                log("reaper stopped: %s", ex.what());
            }
        }
    });
}

spawn_spec capsule_spec(const capsule& c, std::vector<std::string> argv, std::vector<std::string> env, std::string cwd) {
    spawn_spec spec;
    spec.argv = std::move(argv);
    spec.env = std::move(env);
    spec.cwd = std::move(cwd);
    spec.root = c.root;
    if (c.has_cgroup) spec.cgroup_procs = freezer_dir(c.id) + "/cgroup.procs";
    return spec;
}

} // namespace wl
