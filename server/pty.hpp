// wrenn-local: a capsule's pseudo-terminal (pty.cpp; the PTY sessions of
// ws.cpp use it).
#pragma once

#include <sys/types.h>

namespace wl {

// A pseudo-terminal for a capsule: from the capsule's own devpts (through
// /proc/<ns_pid>/root/dev/ptmx) when possible, so `tty` inside names a path
// that exists there; else a host PTY. Both fds close-on-exec. Throws std::system_error.
struct pty_fds {
    int master = -1, slave = -1;
    bool in_capsule = false;
};
pty_fds open_pty(pid_t ns_pid, unsigned cols, unsigned rows);

} // namespace wl
