// wrenn-local: starting a capsule's namespace holder and its network link,
// writing its /etc/hosts, making sockets in its network namespace (see
// capsule_init.hpp).
#include "capsule_init.hpp"
#include "host_files.hpp"
#include "spawn.hpp"

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
#include <functional>
#include <system_error>

#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

namespace wl {

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

} // namespace wl
