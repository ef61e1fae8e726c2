// wrenn-local: the file routes' confinement to the capsule (WIRE.md §10).
//
// Paths are as seen inside the capsule. They are resolved one component at a
// time with O_PATH|O_NOFOLLOW file descriptors, starting from the capsule root
// and following symlinks the way the kernel does inside the sandbox (an
// absolute target starts again at the capsule root), so a capsule process
// racing the server cannot redirect an operation out of its root. At the root,
// /usr and /etc are the host's read-only binds (readable, never written); /proc
// and /dev (kernel file systems inside the sandbox) are not served. `..` above
// the root, and symlinks leading there, are refused with 403 forbidden.
#pragma once

#include "common.hpp"
#include "file_errors.hpp"

#include <string>
#include <utility>

#include <sys/stat.h>
#include <unistd.h>

namespace wl {

// An owned file descriptor, closed when destroyed.
class unique_fd {
public:
    unique_fd() = default;
    explicit unique_fd(int fd) : fd_(fd) {}
    unique_fd(unique_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    unique_fd& operator=(unique_fd&& o) noexcept {
        if (this != &o) {
            reset();
            fd_ = std::exchange(o.fd_, -1);
        }
        return *this;
    }
    unique_fd(const unique_fd&) = delete;
    unique_fd& operator=(const unique_fd&) = delete;
    ~unique_fd() { reset(); }
    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }
    int release() { return std::exchange(fd_, -1); }
    void reset() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

private:
    int fd_ = -1;
};

// `dir` + "/" + `name` (a path inside the capsule; "" or "/" is the root).
std::string join(const std::string& dir, const std::string& name);
// The target of the symlink `name` in `dirfd`; "" when it cannot be read.
std::string read_link(int dirfd, const char* name);
// proc and dev at the capsule root (kernel file systems: never served).
bool kernel_fs(const std::string& name);

// Opens `name` in directory `dir` as O_PATH without following a symlink,
// mapping the binds at the capsule root: usr and etc are the host's (and
// read-only), proc and dev are refused. -1 with errno on failure.
int open_child(int dir, bool dir_is_root, bool dir_ro, const std::string& name, bool& ro,
               const std::string& shown);

struct located {
    unique_fd parent;             // directory holding the final component (empty for "/")
    bool parent_is_root = false;  // the parent is the capsule root
    std::string name;             // final component ("" for "/")
    unique_fd node;               // O_PATH fd of the final object; empty when it does not exist
    struct stat st {};            // of node (of the link itself when it was not followed)
    bool ro = false;              // in a read-only bind (for a missing node: its parent is)
    std::string vpath;            // canonical path inside the capsule
};

// Resolves `path` (absolute, inside the capsule) under `root`. A missing final
// component is not an error (node stays empty); missing directories before it
// are created (mode 0755) when make_parents is set. `shown` is the path as
// requested, for messages; `verb` names the failing operation.
located locate(const fs::path& root, const std::string& path, const std::string& shown, bool follow_final,
               bool make_parents, const char* verb);

// Opens the object behind an O_PATH descriptor for I/O (same inode, no new
// path lookup).
unique_fd reopen(const unique_fd& node, int flags, const char* verb);

} // namespace wl
