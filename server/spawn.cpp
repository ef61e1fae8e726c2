// wrenn-local: starting host processes (see spawn.hpp), waiting for them to
// exit, and running host helpers (run_host).
#include "spawn.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <memory>
#include <sstream>
#include <system_error>

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace wl {

namespace {

int errno_pipe_read(int fd) {
    int err = 0;
    for (;;) {
        auto n = ::read(fd, &err, sizeof err);
        if (n < 0 && errno == EINTR) continue;
        return n == static_cast<ssize_t>(sizeof err) ? err : 0;
    }
}

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

void close_spawned(const spawned& s) {
    for (int fd : {s.out_fd, s.err_fd, s.pidfd})
        if (fd >= 0) ::close(fd);
}

} // namespace

forked fork_child(const std::string& exe, const std::vector<std::string>& argv,
                 const std::vector<std::string>& env, const std::string& chdir_to,
                 const std::string& cgroup_procs, bool capture, bool inherit_stderr, int info_fd,
                 int tty_fd, bool tty_ctty, int fd4) {
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

namespace {

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

} // namespace wl
