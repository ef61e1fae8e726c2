// wrenn-local: starting a host process, the step under every spawn (a
// command in a sandbox, a capsule's namespace holder and network link, a
// host helper such as cp). The child is cloned with vfork semantics, sets
// itself up with system calls only and execs; a close-on-exec pipe tells
// the parent whether the exec worked. spawn.cpp; used by sandbox.cpp and
// capsule_init.cpp.
#pragma once

#include "common.hpp"

namespace wl {

// A forked child on its way to exec: `fail_fd` reads its errno if exec (or
// chdir) fails, EOF once it has exec'd.
struct forked {
    spawned s;
    int fail_fd = -1;
    std::string what;  // for the error message
};

// A child (see spawn_child in spawn.cpp) that sets itself up (system calls only) and
// execs. The parent keeps the read ends of the pipes.
forked fork_child(const std::string& exe, const std::vector<std::string>& argv,
                 const std::vector<std::string>& env, const std::string& chdir_to,
                 const std::string& cgroup_procs, bool capture, bool inherit_stderr, int info_fd = -1,
                 int tty_fd = -1, bool tty_ctty = true, int fd4 = -1);

// Waits (blocking) until the child has exec'd; throws if it could not.
spawned wait_exec_sync(const forked& f);

// The same without blocking the server: other connections are served while
// the child joins its cgroup and execs (milliseconds, far more under load).
asio::awaitable<spawned> wait_exec(forked f);

} // namespace wl
