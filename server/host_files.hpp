// wrenn-local: whole small text files on the host, read or written at once:
// /proc entries, the freezer cgroup's files, /etc/hosts. Shared by
// proc_control.cpp and capsule_init.cpp.
#pragma once

#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include <fcntl.h>
#include <unistd.h>

namespace wl {

// Writes `text` to an existing file (a cgroup control file); false when it
// could not be opened or written whole.
inline bool write_file(const std::string& path, std::string_view text) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    auto n = ::write(fd, text.data(), text.size());
    ::close(fd);
    return n == static_cast<ssize_t>(text.size());
}

// The whole file; empty when it cannot be read.
inline std::string read_small(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

} // namespace wl
