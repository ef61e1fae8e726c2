// wrenn-local: opening a capsule's pseudo-terminal (see pty.hpp).
#include "pty.hpp"

#include <cerrno>
#include <string>
#include <system_error>

#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

namespace wl {

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

} // namespace wl
