// wrenn-local: processes in bubblewrap sandboxes: what the host offers
// (detect_sandbox), where a command's working directory is, and the command
// line that runs a command inside a capsule (nsenter into its namespace
// holder, a bwrap of its own, or unisolated when bwrap does not work here).
// The process itself is started by spawn.hpp.
#include "common.hpp"
#include "capsule_init.hpp"
#include "spawn.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <system_error>

#include <fcntl.h>
#include <unistd.h>

namespace wl {

sandbox_config sandbox;

namespace {

std::string find_on_path(const char* name) {
    const char* path = std::getenv("PATH");
    std::string p = path ? path : "/usr/local/bin:/usr/bin:/bin";
    std::stringstream ss(p);
    std::string dir;
    while (std::getline(ss, dir, ':')) {
        if (dir.empty()) continue;
        std::string cand = dir + "/" + name;
        if (::access(cand.c_str(), X_OK) == 0) return cand;
    }
    return {};
}

// Host location of a path inside the capsule (for existence checks and for
// the unisolated mode).
fs::path host_path(const fs::path& root, const std::string& inside) {
    fs::path p(inside);
    auto it = p.begin();
    if (it != p.end()) ++it;  // skip "/"
    std::string first = it != p.end() ? it->string() : std::string{};
    if (first == "usr" || first == "etc" || first == "proc" || first == "dev") return p;
    if (first == "bin" || first == "sbin" || first == "lib" || first == "lib64") return fs::path("/usr") / p.relative_path();
    return root / p.relative_path();
}

} // namespace

void detect_sandbox() {
    sandbox.bwrap_path = find_on_path("bwrap");
    if (!sandbox.bwrap_path.empty()) {
        // Check that it can actually create namespaces here.
        std::string cmd = sandbox.bwrap_path +
                          " --unshare-pid --unshare-ipc --unshare-uts --ro-bind / / true >/dev/null 2>&1";
        sandbox.bwrap = std::system(cmd.c_str()) == 0;
        if (!sandbox.bwrap) log("bwrap at %s does not work here", sandbox.bwrap_path.c_str());
    }
    sandbox.setsid_path = ::access("/usr/bin/setsid", X_OK) == 0 ? "/usr/bin/setsid" : "";
    if (sandbox.bwrap) {
        sandbox.nsenter_path = find_on_path("nsenter");
        if (sandbox.nsenter_path.empty() || ::access("/usr/bin/setpriv", X_OK) != 0) {
            sandbox.nsenter_path.clear();
            log("nsenter/setpriv missing: one pid namespace per command instead of per capsule");
        }
    }
    // A network namespace per capsule: needs bwrap --unshare-net, slirp4netns
    // for the outside link, and root (the proxy creates its sockets inside
    // the capsule's namespace with setns).
    if (sandbox.bwrap && !sandbox.nsenter_path.empty()) {
        std::string why;
        sandbox.slirp_path = find_on_path("slirp4netns");
        std::string cmd = sandbox.bwrap_path +
                          " --unshare-net --unshare-pid --unshare-ipc --unshare-uts --ro-bind / / true >/dev/null 2>&1";
        if (sandbox.slirp_path.empty()) why = "slirp4netns is not on PATH";
        else if (::geteuid() != 0) why = "not running as root";
        else if (std::system(cmd.c_str()) != 0) why = "bwrap --unshare-net does not work here";
        else if ((sandbox.host_netns_fd = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) < 0)
            why = std::string("cannot open /proc/thread-self/ns/net: ") + std::strerror(errno);
        sandbox.netns = why.empty();
        if (sandbox.netns)
            log("network: one namespace per capsule (slirp4netns %s; the host's loopback is "
                "host.wrenn.internal = 10.0.2.2)", sandbox.slirp_path.c_str());
        else
            log("network: capsules share the host's network (%s)", why.c_str());
    }
    for (const char* l : {"bin", "sbin", "lib", "lib64", "lib32"}) {
        std::error_code ec;
        if (fs::is_directory(fs::path("/usr") / l, ec)) sandbox.usr_links.push_back(l);
    }
    const fs::path base = "/sys/fs/cgroup/freezer";
    std::error_code ec;
    if (fs::exists(base / "cgroup.procs", ec)) {
        fs::path mine = base / ("wrenn-local-" + std::to_string(::getpid()));
        fs::create_directory(mine, ec);
        if (!ec && fs::exists(mine / "freezer.state", ec)) sandbox.freezer_root = mine.string();
    }
}

std::optional<std::string> resolve_cwd(const fs::path& root, std::string_view cwd) {
    std::string p;
    if (cwd.empty() || cwd == "~") p = home_dir;
    else if (cwd.substr(0, 2) == "~/") p = std::string(home_dir) + std::string(cwd.substr(1));
    else if (cwd[0] != '/') p = std::string(home_dir) + "/" + std::string(cwd);
    else p = cwd;
    std::string norm = fs::path(p).lexically_normal().string();
    while (norm.size() > 1 && norm.back() == '/') norm.pop_back();
    if (norm.find("/..") == 0) norm = "/";
    std::error_code ec;
    if (!fs::is_directory(host_path(root, norm), ec)) return std::nullopt;
    return norm;
}

namespace {
forked start_process(const spawn_spec& spec) {
    if (sandbox.bwrap && spec.ns_pid > 0 && !sandbox.nsenter_path.empty()) {
        // Join the capsule's namespaces (one pid namespace per capsule, so
        // orphans survive their parent like in a VM); no capabilities.
        std::vector<std::string> a{sandbox.nsenter_path, "-t", std::to_string(spec.ns_pid), "-p", "-m", "-u", "-i"};
        if (sandbox.netns) a.push_back("-n");
        a.insert(a.end(), {"-r", "--wd=" + spec.root.string(), "--", "/usr/bin/setpriv", "--bounding-set=-all",
                           "--inh-caps=-all", "--no-new-privs", "--"});
        // A PTY's session (and so its process groups) must live in the
        // capsule's pid namespace, or shells cannot manage the terminal's
        // foreground group (dash exits 2 on "Cannot set tty process group").
        bool inner_session = spec.tty_fd >= 0 && !sandbox.setsid_path.empty();
        if (inner_session) a.insert(a.end(), {sandbox.setsid_path, "-c", "-w"});
        a.insert(a.end(), {"/bin/sh", "-c", "cd \"$1\" || exit 1; shift; exec \"$@\"", "--", spec.cwd});
        a.insert(a.end(), spec.argv.begin(), spec.argv.end());
        return fork_child(sandbox.nsenter_path, a, spec.env, {}, spec.cgroup_procs, spec.capture, false, -1,
                          spec.tty_fd, !inner_session);
    }
    if (sandbox.bwrap) {
        std::vector<std::string> a{sandbox.bwrap_path, "--die-with-parent", "--unshare-pid", "--unshare-ipc",
                                   "--unshare-uts", "--hostname", "capsule", "--bind", spec.root.string(), "/",
                                   "--ro-bind", "/usr", "/usr"};
        // /bin -> usr/bin etc. live in the capsule root itself (bwrap's
        // --symlink fails once the link exists in a persistent root).
        for (auto& l : sandbox.usr_links) {
            std::error_code ec;
            if (!fs::is_symlink(spec.root / l, ec)) fs::create_directory_symlink("usr/" + l, spec.root / l, ec);
        }
        a.insert(a.end(), {"--ro-bind", "/etc", "/etc"});
        // The capsule's /etc/hosts (host.wrenn.internal = 127.0.0.1 here: no netns without nsenter).
        std::error_code hec;
        fs::path hosts = spec.root.parent_path() / "hosts";
        if (!fs::is_regular_file(hosts, hec)) {
            try {
                hosts = write_capsule_hosts(spec.root);
            } catch (const std::exception& e) {
                log("cannot write %s: %s", hosts.c_str(), e.what());
            }
        }
        if (fs::is_regular_file(hosts, hec)) a.insert(a.end(), {"--ro-bind", hosts.string(), "/etc/hosts"});
        a.insert(a.end(), {"--proc", "/proc", "--dev", "/dev", "--chdir", spec.cwd, "--"});
        bool inner_session = spec.tty_fd >= 0 && !sandbox.setsid_path.empty();
        if (inner_session) a.insert(a.end(), {sandbox.setsid_path, "-c", "-w"});
        // Like envd: through a shell, so a missing binary is exit 127 + message.
        a.insert(a.end(), {"/bin/sh", "-c", "exec \"$@\"", "--"});
        a.insert(a.end(), spec.argv.begin(), spec.argv.end());
        return fork_child(sandbox.bwrap_path, a, spec.env, {}, spec.cgroup_procs, spec.capture, false, -1,
                          spec.tty_fd, !inner_session);
    }
    std::vector<std::string> env = spec.env;
    std::string host_home = (spec.root / "home/wrenn-user").string();
    for (auto& e : env)
        if (e.rfind("HOME=", 0) == 0 && e == "HOME=" + std::string(home_dir)) e = "HOME=" + host_home;
    std::vector<std::string> argv{"/bin/sh", "-c", "exec \"$@\"", "--"};
    argv.insert(argv.end(), spec.argv.begin(), spec.argv.end());
    return fork_child("/bin/sh", argv, env, host_path(spec.root, spec.cwd).string(), spec.cgroup_procs, spec.capture,
                      false, -1, spec.tty_fd);
}
} // namespace

spawned spawn_process(const spawn_spec& spec) { return wait_exec_sync(start_process(spec)); }

asio::awaitable<spawned> spawn_in_capsule(app_state& app, std::shared_ptr<capsule> c, spawn_spec spec) {
    co_await ensure_init(app, c);
    spec.ns_pid = c->ns_pid;
    co_return co_await spawn_process_async(spec);
}

asio::awaitable<spawned> spawn_process_async(const spawn_spec& spec) {
    forked f;
    try {
        f = start_process(spec);
    } catch (...) {
        if (spec.tty_fd >= 0) ::close(spec.tty_fd);
        throw;
    }
    // The child has its copy: later forks must not inherit the slave.
    if (spec.tty_fd >= 0) ::close(spec.tty_fd);
    co_return co_await wait_exec(std::move(f));
}

} // namespace wl
