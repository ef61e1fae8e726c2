// wrenn-local: processes in bubblewrap sandboxes, the freezer cgroup, /proc walks.
#include "common.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <functional>
#include <sstream>
#include <system_error>
#include <unordered_map>
#include <unordered_set>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
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

bool write_file(const std::string& path, std::string_view text) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    auto n = ::write(fd, text.data(), text.size());
    ::close(fd);
    return n == static_cast<ssize_t>(text.size());
}

std::string read_small(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
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

int errno_pipe_read(int fd) {
    int err = 0;
    for (;;) {
        auto n = ::read(fd, &err, sizeof err);
        if (n < 0 && errno == EINTR) continue;
        return n == static_cast<ssize_t>(sizeof err) ? err : 0;
    }
}

// A forked child on its way to exec: `fail_fd` reads its errno if exec (or
// chdir) fails, EOF once it has exec'd.
struct forked {
    spawned s;
    int fail_fd = -1;
    std::string what;  // for the error message
};

// Runs `child` (which execs or _exits) in a new process. vfork semantics,
// as posix_spawn has: the child borrows this process's memory, on a stack of
// its own, until it execs, and this thread waits until then. A fork copied
// the page tables and left every page copy-on-write: when 1,000 streams
// start at once, spawning was the server's bottleneck. Signals stay blocked
// across the clone so that none of our handlers runs in the child. Sanitizer
// builds fork: their instrumented code cannot run on a borrowed stack.
template <class Child>
pid_t spawn_child(Child& child, int& error) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    pid_t pid = ::fork();
    if (pid == 0) child();
    error = errno;
#else
    constexpr std::size_t stack_size = 64 * 1024;
    auto stack = std::make_unique<std::max_align_t[]>(stack_size / sizeof(std::max_align_t));
    sigset_t all, old;
    sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &old);
    auto run = [](void* c) -> int { (*static_cast<Child*>(c))(); return 127; };
    pid_t pid = ::clone(run, reinterpret_cast<char*>(stack.get()) + stack_size, CLONE_VM | CLONE_VFORK | SIGCHLD, &child);
    error = errno;
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
#endif
    return pid;
}

// A child (see spawn_child) that sets itself up (system calls only) and
// execs. The parent keeps the read ends of the pipes.
forked fork_child(const std::string& exe, const std::vector<std::string>& argv,
                 const std::vector<std::string>& env, const std::string& chdir_to,
                 const std::string& cgroup_procs, bool capture, bool inherit_stderr, int info_fd = -1,
                 int tty_fd = -1, bool tty_ctty = true, int fd4 = -1) {
    if (tty_fd >= 0) capture = false;
    std::vector<char*> cargv, cenv;
    for (auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    for (auto& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
    cenv.push_back(nullptr);

    int outp[2] = {-1, -1}, errp[2] = {-1, -1}, failp[2] = {-1, -1};
    auto close_all = [&] {
        for (int fd : {outp[0], outp[1], errp[0], errp[1], failp[0], failp[1]})
            if (fd >= 0) ::close(fd);
    };
    if ((capture && (::pipe2(outp, O_CLOEXEC) != 0 || ::pipe2(errp, O_CLOEXEC) != 0)) ||
        ::pipe2(failp, O_CLOEXEC) != 0) {
        int e = errno;
        close_all();
        throw std::system_error(e, std::generic_category(), "pipe");
    }
    char pidbuf[24];
    auto child = [&]() -> int {
        ::setsid();
        if (!cgroup_procs.empty()) {
            // pid as decimal text, written by the child itself before exec
            pid_t self = ::getpid();
            int n = 0;
            char tmp[24];
            do { tmp[n++] = static_cast<char>('0' + self % 10); self /= 10; } while (self > 0);
            for (int i = 0; i < n; ++i) pidbuf[i] = tmp[n - 1 - i];
            int fd = ::open(cgroup_procs.c_str(), O_WRONLY | O_CLOEXEC);
            if (fd >= 0) {
                (void)!::write(fd, pidbuf, static_cast<std::size_t>(n));
                ::close(fd);
            }
        }
        // our handlers are not the child's (blocked until now: see below)
        for (int s = 1; s < 32; ++s)
            if (s != SIGKILL && s != SIGSTOP) ::signal(s, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        int devnull = ::open("/dev/null", O_RDWR);
        if (tty_fd >= 0) {
            // The PTY slave on 0-2; the controlling terminal of this session,
            // unless a session inside the capsule takes it (setsid -c).
            if (tty_ctty) ::ioctl(tty_fd, TIOCSCTTY, 0);
            for (int fd = 0; fd < 3; ++fd) ::dup2(tty_fd, fd);
        } else {
            if (devnull >= 0) ::dup2(devnull, 0);
            if (capture) {
                ::dup2(outp[1], 1);
                ::dup2(errp[1], 2);
            } else if (devnull >= 0) {
                ::dup2(devnull, 1);
                if (!inherit_stderr) ::dup2(devnull, 2);
            }
        }
        ::syscall(SYS_close_range, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */);
        // info_fd inherited as fd 3, fd4 as fd 4 (moved out of the way
        // first: either may already sit on 3 or 4)
        int moved3 = info_fd >= 0 ? ::fcntl(info_fd, F_DUPFD_CLOEXEC, 10) : -1;
        int moved4 = fd4 >= 0 ? ::fcntl(fd4, F_DUPFD_CLOEXEC, 10) : -1;
        if (moved3 >= 0) ::dup2(moved3, 3);
        if (moved4 >= 0) ::dup2(moved4, 4);
        if (!chdir_to.empty() && ::chdir(chdir_to.c_str()) != 0) {
            int e = errno;
            (void)!::write(failp[1], &e, sizeof e);
            ::_exit(127);
        }
        ::execve(exe.c_str(), cargv.data(), cenv.data());
        int e = errno;
        (void)!::write(failp[1], &e, sizeof e);
        ::_exit(127);
    };
    int clone_errno = 0;
    pid_t pid = spawn_child(child, clone_errno);
    if (pid < 0) {
        close_all();
        throw std::system_error(clone_errno, std::generic_category(), "spawn");
    }
    ::close(failp[1]);
    if (capture) {
        ::close(outp[1]);
        ::close(errp[1]);
    }
    forked f;
    f.s.pid = pid;
    f.s.out_fd = outp[0];
    f.s.err_fd = errp[0];
    f.s.pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    f.fail_fd = failp[0];
    f.what = "exec " + argv[0];
    return f;
}

void close_spawned(const spawned& s) {
    for (int fd : {s.out_fd, s.err_fd, s.pidfd})
        if (fd >= 0) ::close(fd);
}

// Waits (blocking) until the child has exec'd; throws if it could not.
spawned wait_exec_sync(const forked& f) {
    int err = errno_pipe_read(f.fail_fd);
    ::close(f.fail_fd);
    if (err != 0) {
        int st;
        ::waitpid(f.s.pid, &st, 0);
        close_spawned(f.s);
        throw std::system_error(err, std::generic_category(), f.what);
    }
    return f.s;
}

// The same without blocking the server: other connections are served while
// the child joins its cgroup and execs (milliseconds, far more under load).
asio::awaitable<spawned> wait_exec(forked f) {
    asio::posix::stream_descriptor sd(co_await asio::this_coro::executor, f.fail_fd);
    char buf[sizeof(int)];
    std::size_t got = 0;
    while (got < sizeof buf) {
        auto [ec, n] = co_await sd.async_read_some(asio::buffer(buf + got, sizeof buf - got),
                                                   asio::as_tuple(asio::use_awaitable));
        got += n;
        if (ec) break;
    }
    int err = 0;
    if (got == sizeof buf) std::memcpy(&err, buf, sizeof err);
    if (err != 0) {
        int pidfd = f.s.pidfd;
        f.s.pidfd = -1;
        co_await wait_child(f.s.pid, pidfd);  // reaps it, closes the pidfd
        close_spawned(f.s);
        throw std::system_error(err, std::generic_category(), f.what);
    }
    co_return f.s;
}

spawned do_spawn(const std::string& exe, const std::vector<std::string>& argv,
                 const std::vector<std::string>& env, const std::string& chdir_to,
                 const std::string& cgroup_procs, bool capture, bool inherit_stderr, int info_fd = -1) {
    return wait_exec_sync(fork_child(exe, argv, env, chdir_to, cgroup_procs, capture, inherit_stderr, info_fd));
}

std::string search_exe(const std::string& cmd, const std::vector<std::string>& env) {
    if (cmd.find('/') != std::string::npos) return cmd;
    std::string path = "/usr/local/bin:/usr/bin:/bin";
    for (auto& e : env)
        if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
    std::stringstream ss(path);
    std::string dir;
    while (std::getline(ss, dir, ':'))
        if (!dir.empty() && ::access((dir + "/" + cmd).c_str(), X_OK) == 0) return dir + "/" + cmd;
    return cmd;
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

fs::path write_capsule_hosts(const fs::path& root) {
    fs::path file = root.parent_path() / "hosts";
    std::string text = read_small("/etc/hosts");
    if (!text.empty() && text.back() != '\n') text += '\n';
    text += "# wrenn-local: this capsule, and the host's loopback\n";
    text += "127.0.1.1\tcapsule\n";
    text += sandbox.netns ? "10.0.2.2\thost.wrenn.internal\n" : "127.0.0.1\thost.wrenn.internal\n";
    fs::path tmp = file;
    tmp += ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << text;
        if (!out) throw std::system_error(EIO, std::generic_category(), "write " + tmp.string());
    }
    std::error_code ec;
    fs::rename(tmp, file, ec);
    if (ec) throw std::system_error(ec, "rename " + file.string());
    return file;
}

int socket_in_netns(int netns_fd) {
    if (netns_fd < 0) {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
        return fd;
    }
    // setns changes this thread only: the socket belongs to the namespace it
    // was created in, whichever namespace later uses it.
    if (::setns(netns_fd, CLONE_NEWNET) != 0) throw std::system_error(errno, std::generic_category(), "setns");
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int err = errno;
    if (::setns(sandbox.host_netns_fd, CLONE_NEWNET) != 0) {
        // Every later socket of the server would live in the capsule.
        log("FATAL: cannot return to the server's network namespace: %s", std::strerror(errno));
        std::abort();
    }
    if (fd < 0) throw std::system_error(err, std::generic_category(), "socket");
    return fd;
}

namespace {
// Reads `fd` (owned: closed at the end) until `done(text)`, EOF or the
// deadline, without blocking the thread; returns what it read.
asio::awaitable<std::string> read_until(int fd, std::function<bool(const std::string&)> done,
                                        std::chrono::steady_clock::time_point deadline) {
    auto ex = co_await asio::this_coro::executor;
    asio::posix::stream_descriptor sd(ex, fd);
    asio::steady_timer timer(ex, deadline);
    timer.async_wait([&sd](const boost::system::error_code& ec) {
        if (!ec) {
            boost::system::error_code ig;
            sd.cancel(ig);
        }
    });
    std::string text;
    char buf[512];
    while (!done(text)) {
        auto [ec, n] = co_await sd.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
        text.append(buf, n);
        if (ec) break;
    }
    timer.cancel();
    co_return text;
}

asio::awaitable<void> kill_and_reap(spawned& s) {
    if (s.pid <= 0) co_return;
    ::kill(s.pid, SIGKILL);
    int pidfd = std::exchange(s.pidfd, -1);
    co_await wait_child(s.pid, pidfd);  // closes the pidfd
    s.pid = -1;
}

// slirp4netns for the namespace of `ns_pid`: tap0 10.0.2.100/24, gateway
// (and the host's loopback) 10.0.2.2, DNS 10.0.2.3. Not in the capsule's
// cgroup nor under its init; it exits once `exit_fd` (ours) is closed.
asio::awaitable<void> start_slirp(capsule_init& ci) {
    int ready[2], quit[2];
    if (::pipe2(ready, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
    if (::pipe2(quit, O_CLOEXEC) != 0) {
        int e = errno;
        ::close(ready[0]);
        ::close(ready[1]);
        throw std::system_error(e, std::generic_category(), "pipe");
    }
    std::vector<std::string> a{sandbox.slirp_path, "--configure", "--mtu=65520", "--ready-fd=3", "--exit-fd=4",
                               std::to_string(ci.ns_pid), "tap0"};
    forked f;
    try {
        f = fork_child(sandbox.slirp_path, a, {"PATH=/usr/bin:/bin"}, {}, {}, false, false, ready[1], -1, true,
                       quit[0]);
    } catch (...) {
        for (int fd : {ready[0], ready[1], quit[0], quit[1]}) ::close(fd);
        throw;
    }
    ::close(ready[1]);
    ::close(quit[0]);
    spawned s;
    try {
        s = co_await wait_exec(std::move(f));
    } catch (...) {
        ::close(ready[0]);
        ::close(quit[1]);
        throw;
    }
    // It writes "1" once tap0 is configured.
    auto got = co_await read_until(
        ready[0], [](const std::string& t) { return !t.empty(); },
        std::chrono::steady_clock::now() + std::chrono::seconds(5));
    if (got != "1") {
        ::close(quit[1]);
        co_await kill_and_reap(s);
        throw std::system_error(ETIMEDOUT, std::generic_category(), "slirp4netns did not get ready");
    }
    ci.slirp = s;
    ci.slirp_exit_fd = quit[1];
}
} // namespace

asio::awaitable<capsule_init> spawn_capsule_init(const fs::path& root, const std::string& cgroup_procs) {
    for (auto& l : sandbox.usr_links) {
        std::error_code ec;
        if (!fs::is_symlink(root / l, ec)) fs::create_directory_symlink("usr/" + l, root / l, ec);
    }
    const std::string hosts = write_capsule_hosts(root).string();
    int info[2];
    if (::pipe2(info, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
    std::vector<std::string> a{sandbox.bwrap_path, "--die-with-parent", "--unshare-pid", "--unshare-ipc",
                               "--unshare-uts"};
    if (sandbox.netns) a.push_back("--unshare-net");
    a.insert(a.end(), {"--hostname", "capsule", "--bind", root.string(), "/", "--ro-bind", "/usr", "/usr",
                       "--ro-bind", "/etc", "/etc", "--ro-bind", hosts, "/etc/hosts", "--proc", "/proc",
                       "--dev", "/dev", "--chdir", std::string(home_dir), "--info-fd", "3", "--",
                       // says "ready" from inside once the sandbox is complete (the
                       // info-fd pid comes before the mounts are done), then idles
                       "/bin/sh", "-c", "echo ready; exec /bin/sleep infinity >/dev/null 2>&1"});
    forked f;
    try {
        f = fork_child(sandbox.bwrap_path, a, {"PATH=/usr/bin:/bin"}, {}, cgroup_procs, true, true, info[1]);
    } catch (...) {
        ::close(info[0]);
        ::close(info[1]);
        throw;
    }
    ::close(info[1]);
    capsule_init ci;
    try {
        ci.init = co_await wait_exec(std::move(f));
    } catch (...) {
        ::close(info[0]);
        throw;
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    // bwrap writes {"child-pid": N, ...} once the namespaces exist.
    std::string text = co_await read_until(
        info[0], [](const std::string& t) { return t.find('}') != std::string::npos; }, deadline);
    if (auto k = text.find("\"child-pid\""); k != std::string::npos) {
        auto c = text.find(':', k);
        if (c != std::string::npos) ci.ns_pid = static_cast<pid_t>(std::atol(text.c_str() + c + 1));
    }
    // Wait for the init's "ready": only then can commands join it.
    std::string ready;
    int out_fd = std::exchange(ci.init.out_fd, -1);
    if (ci.ns_pid > 0)
        ready = co_await read_until(
            out_fd, [](const std::string& t) { return t.find('\n') != std::string::npos; }, deadline);
    else
        ::close(out_fd);
    ::close(std::exchange(ci.init.err_fd, -1));  // open until now: bwrap may complain while it sets up
    if (ready != "ready\n") ci.ns_pid = -1;
    if (ci.ns_pid > 0 && sandbox.netns) {
        std::string path = "/proc/" + std::to_string(ci.ns_pid) + "/ns/net";
        ci.netns_fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (ci.netns_fd < 0) ci.ns_pid = -1;
    }
    if (ci.ns_pid <= 0) {
        co_await kill_and_reap(ci.init);
        throw std::system_error(ESRCH, std::generic_category(), "bwrap did not start");
    }
    if (sandbox.netns) {
        // Without its link the capsule still works, with loopback only.
        std::string failure;
        try {
            co_await start_slirp(ci);
        } catch (const std::exception& e) {
            failure = e.what();
        }
        if (!failure.empty()) log("capsule network: %s (the capsule has loopback only)", failure.c_str());
    }
    co_return ci;
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

pty_fds open_pty(pid_t ns_pid, unsigned cols, unsigned rows) {
    pty_fds p;
    if (ns_pid > 0) {
        // The capsule's private devpts (bwrap --dev): /dev/ptmx -> pts/ptmx there.
        std::string ptmx = "/proc/" + std::to_string(ns_pid) + "/root/dev/ptmx";
        p.master = ::open(ptmx.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (p.master >= 0) {
            int unlock = 0;
            if (::ioctl(p.master, TIOCSPTLCK, &unlock) == 0)
                p.slave = ::ioctl(p.master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
            if (p.slave < 0) {
                ::close(p.master);
                p.master = -1;
            } else {
                p.in_capsule = true;
            }
        }
    }
    if (p.master < 0) {
        p.master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (p.master < 0) throw std::system_error(errno, std::generic_category(), "open /dev/ptmx");
        int unlock = 0;
        if (::ioctl(p.master, TIOCSPTLCK, &unlock) == 0)
            p.slave = ::ioctl(p.master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (p.slave < 0) {
            int e = errno;
            ::close(p.master);
            throw std::system_error(e, std::generic_category(), "open the PTY slave");
        }
    }
    winsize ws{};
    ws.ws_col = static_cast<unsigned short>(cols);
    ws.ws_row = static_cast<unsigned short>(rows);
    ::ioctl(p.master, TIOCSWINSZ, &ws);
    return p;
}

asio::awaitable<int> wait_child(pid_t pid, int pidfd) {
    auto ex = co_await asio::this_coro::executor;
    int status = 0;
    if (pidfd >= 0) {
        asio::posix::stream_descriptor sd(ex, pidfd);
        (void)co_await sd.async_wait(asio::posix::stream_descriptor::wait_read, asio::as_tuple(asio::use_awaitable));
        // Never a blocking waitpid here: this completion does not prove that
        // the child has exited (seen under heavy load: the pidfd not readable,
        // the child alive). A likely source: asio does not EPOLL_CTL_DEL a
        // socket it closes (close() is expected to drop it from the epoll
        // set), but a child between fork and exec still holds that socket, so
        // its registration lives on and its events reach the descriptor that
        // asio's reused reactor slot now belongs to. A blocking waitpid on a
        // running child (a PTY shell waiting for input) froze the io_context
        // thread for good, SIGTERM included. So: reap it if it has exited,
        // else poll below (an edge-triggered re-wait could miss the exit).
        pid_t r;
        while ((r = ::waitpid(pid, &status, WNOHANG)) < 0 && errno == EINTR) {}
        if (r != 0) co_return status;  // reaped (or not our child any more)
    }
    asio::steady_timer t(ex);
    for (;;) {
        pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR)) co_return status;
        t.expires_after(std::chrono::milliseconds(50));
        (void)co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    }
}

asio::awaitable<int> run_host(std::vector<std::string> argv) {
    spawned s;
    try {
        std::vector<std::string> env{"PATH=/usr/local/bin:/usr/bin:/bin", "LC_ALL=C"};
        s = do_spawn(search_exe(argv[0], env), argv, env, {}, {}, false, true);
    } catch (const std::exception& e) {
        log("cannot run %s: %s", argv[0].c_str(), e.what());
        co_return -1;
    }
    int st = co_await wait_child(s.pid, s.pidfd);
    co_return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

std::vector<pid_t> process_tree(const std::vector<pid_t>& roots) {
    std::unordered_map<pid_t, std::vector<pid_t>> children;
    std::error_code ec;
    for (auto& d : fs::directory_iterator("/proc", ec)) {
        auto name = d.path().filename().string();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::string stat = read_small("/proc/" + name + "/stat");
        auto rp = stat.rfind(')');
        if (rp == std::string::npos) continue;
        std::istringstream ss(stat.substr(rp + 2));
        char state;
        pid_t ppid = 0;
        ss >> state >> ppid;
        children[ppid].push_back(static_cast<pid_t>(std::stol(name)));
    }
    std::vector<pid_t> out;
    std::vector<pid_t> todo;
    std::unordered_set<pid_t> seen;  // the snapshot is not atomic: pid reuse can make a parent cycle
    for (pid_t r : roots)
        if (r > 0 && ::kill(r, 0) == 0) todo.push_back(r);
    while (!todo.empty()) {
        pid_t p = todo.back();
        todo.pop_back();
        if (!seen.insert(p).second) continue;
        out.push_back(p);
        auto it = children.find(p);
        if (it != children.end())
            for (pid_t c : it->second) todo.push_back(c);
    }
    return out;
}

std::string proc_comm(pid_t pid) {
    std::string s = read_small("/proc/" + std::to_string(pid) + "/comm");
    while (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
}

void signal_tree(pid_t root, int sig, bool skip_bwrap) {
    bool sent = false;
    for (pid_t p : process_tree({root})) {
        if (skip_bwrap) {
            auto comm = proc_comm(p);
            if (comm == "bwrap" || comm == "nsenter") continue;
        }
        ::kill(p, sig);
        sent = true;
    }
    if (!sent) ::kill(root, sig);
}

std::string freezer_dir(std::string_view id) {
    if (sandbox.freezer_root.empty()) return {};
    return sandbox.freezer_root + "/" + std::string(id);
}

bool freezer_create(std::string_view id) {
    if (sandbox.freezer_root.empty()) return false;
    std::error_code ec;
    fs::create_directory(freezer_dir(id), ec);
    return !ec && fs::exists(freezer_dir(id) + "/cgroup.procs", ec);
}

bool freezer_set(std::string_view id, bool frozen) {
    return write_file(freezer_dir(id) + "/freezer.state", frozen ? "FROZEN" : "THAWED");
}

std::string freezer_state(std::string_view id) {
    std::string s = read_small(freezer_dir(id) + "/freezer.state");
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

std::vector<pid_t> freezer_procs(std::string_view id) {
    std::vector<pid_t> out;
    std::istringstream in(read_small(freezer_dir(id) + "/cgroup.procs"));
    pid_t p;
    while (in >> p) out.push_back(p);
    return out;
}

void freezer_remove(std::string_view id) {
    if (sandbox.freezer_root.empty()) return;
    ::rmdir(freezer_dir(id).c_str());
}

} // namespace wl
