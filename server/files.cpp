// wrenn-local: the file routes (WIRE.md §10) and their confinement to the
// capsule.
//
// Paths are as seen inside the capsule. They are resolved one component at a
// time with O_PATH|O_NOFOLLOW file descriptors, starting from the capsule root
// and following symlinks the way the kernel does inside the sandbox (an
// absolute target starts again at the capsule root), so a capsule process
// racing the server cannot redirect an operation out of its root. At the root,
// /usr and /etc are the host's read-only binds (readable, never written); /proc
// and /dev (kernel file systems inside the sandbox) are not served. `..` above
// the root, and symlinks leading there, are refused with 403 forbidden.
#include "common.hpp"
#include "front.hpp"
#include "multipart.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <deque>

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

namespace wl {

namespace {

constexpr std::uint64_t write_limit = 100ULL * 1024 * 1024;  // /files/write body, plus:
constexpr std::uint64_t framing_allowance = 64 * 1024;       // multipart framing around the file
constexpr std::size_t max_path_field = max_path_length;
constexpr int max_symlinks = 40;                              // like the kernel
constexpr int max_list_levels = 256;
constexpr std::size_t max_remove_levels = 4096;

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

// A failed system call on the requested path; the route turns it into
// `502 agent_error "<what the route does>: <verb> <path>: <error text>"`.
struct sys_error {
    int err;
    const char* verb;
    std::string text = {};  // replaces strerror(err) when set
};

// A failure with a complete answer (403 escapes, 400/409 for mkdir).
struct file_error {
    unsigned status;
    std::string code, message;
};

std::string errtext(int e) {
    std::string s = std::strerror(e);
    if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
    return s;
}

std::deque<std::string> split(std::string_view p) {
    std::deque<std::string> out;
    while (!p.empty()) {
        auto slash = p.find('/');
        auto part = p.substr(0, slash);
        if (!part.empty() && part != ".") out.emplace_back(part);
        if (slash == std::string_view::npos) break;
        p.remove_prefix(slash + 1);
    }
    return out;
}

std::string join(const std::string& dir, const std::string& name) {
    if (dir.empty() || dir == "/") return "/" + name;
    return dir + "/" + name;
}

std::string read_link(int dirfd, const char* name) {
    std::string buf(256, '\0');
    for (;;) {
        auto n = ::readlinkat(dirfd, name, buf.data(), buf.size());
        if (n < 0) return {};
        if (static_cast<std::size_t>(n) < buf.size()) {
            buf.resize(static_cast<std::size_t>(n));
            return buf;
        }
        if (buf.size() >= PATH_MAX * 4) return {};
        buf.resize(buf.size() * 2);
    }
}

bool kernel_fs(const std::string& name) { return name == "proc" || name == "dev"; }

// Opens `name` in directory `dir` as O_PATH without following a symlink,
// mapping the binds at the capsule root: usr and etc are the host's (and
// read-only), proc and dev are refused. -1 with errno on failure.
int open_child(int dir, bool dir_is_root, bool dir_ro, const std::string& name, bool& ro,
               const std::string& shown) {
    if (dir_is_root && (name == "usr" || name == "etc")) {
        ro = true;
        return ::open(("/" + name).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    }
    if (dir_is_root && kernel_fs(name))
        throw file_error{403, "forbidden", "path is not accessible through the files API: " + shown};
    ro = dir_ro;
    return ::openat(dir, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
}

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
               bool make_parents, const char* verb) {
    struct level {
        unique_fd fd;
        std::string name;
        bool ro = false;
    };
    std::vector<level> stack;
    {
        int rfd = ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rfd < 0) throw sys_error{errno, verb};
        stack.push_back({unique_fd(rfd), "", false});
    }
    auto vpath_of = [&stack](std::size_t levels) {
        std::string v;
        for (std::size_t i = 1; i < levels; ++i) v += "/" + stack[i].name;
        return v.empty() ? std::string("/") : v;
    };
    std::deque<std::string> todo = split(path);
    int links = 0;
    while (!todo.empty()) {
        std::string comp = std::move(todo.front());
        todo.pop_front();
        if (comp == "..") {
            if (stack.size() == 1) throw file_error{403, "forbidden", "path escapes the capsule: " + shown};
            stack.pop_back();
            continue;
        }
        const bool last = todo.empty();
        const bool at_root = stack.size() == 1;
        bool ro = false;
        int fd = open_child(stack.back().fd.get(), at_root, stack.back().ro, comp, ro, shown);
        if (fd < 0 && errno == ENOENT && !last && make_parents) {
            if (stack.back().ro) throw sys_error{EROFS, "mkdir"};
            if (::mkdirat(stack.back().fd.get(), comp.c_str(), 0755) != 0 && errno != EEXIST)
                throw sys_error{errno, "mkdir"};
            fd = open_child(stack.back().fd.get(), at_root, stack.back().ro, comp, ro, shown);
        }
        if (fd < 0) {
            int e = errno;
            if (e != ENOENT || !last) throw sys_error{e, verb};
            located r;
            r.vpath = join(vpath_of(stack.size()), comp);
            r.ro = stack.back().ro;
            r.parent_is_root = at_root;
            r.parent = std::move(stack.back().fd);
            r.name = std::move(comp);
            return r;
        }
        unique_fd child(fd);
        struct stat st {};
        if (::fstat(fd, &st) != 0) throw sys_error{errno, verb};
        if (S_ISLNK(st.st_mode) && (!last || follow_final)) {
            if (++links > max_symlinks) throw sys_error{ELOOP, verb};
            std::string target = read_link(fd, "");
            if (target.empty()) throw sys_error{ENOENT, verb};
            auto parts = split(target);
            todo.insert(todo.begin(), parts.begin(), parts.end());
            if (target.front() == '/') stack.resize(1);
            continue;
        }
        if (!last) {
            if (!S_ISDIR(st.st_mode)) throw sys_error{ENOTDIR, verb};
            stack.push_back({std::move(child), std::move(comp), ro});
            continue;
        }
        located r;
        r.vpath = join(vpath_of(stack.size()), comp);
        r.ro = ro;
        r.st = st;
        r.node = std::move(child);
        r.parent_is_root = at_root;
        r.parent = std::move(stack.back().fd);
        r.name = std::move(comp);
        return r;
    }
    // The path names a directory already on the stack: "/", "/a/..", "/a/b/".
    located r;
    r.vpath = vpath_of(stack.size());
    if (::fstat(stack.back().fd.get(), &r.st) != 0) throw sys_error{errno, verb};
    r.ro = stack.back().ro;
    r.name = stack.back().name;
    r.node = std::move(stack.back().fd);
    if (stack.size() > 1) {
        r.parent_is_root = stack.size() == 2;
        r.parent = std::move(stack[stack.size() - 2].fd);
    }
    return r;
}

// Opens the object behind an O_PATH descriptor for I/O (same inode, no new
// path lookup).
unique_fd reopen(const unique_fd& node, int flags, const char* verb) {
    std::string p = "/proc/self/fd/" + std::to_string(node.get());
    int fd = ::open(p.c_str(), flags | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) throw sys_error{errno, verb};
    return unique_fd(fd);
}

// ---------------------------------------------------------------- entries
class names {
public:
    std::string user(uid_t uid) {
        auto it = users_.find(uid);
        if (it != users_.end()) return it->second;
        std::vector<char> buf(16384);
        passwd pw{}, *res = nullptr;
        std::string name = ::getpwuid_r(uid, &pw, buf.data(), buf.size(), &res) == 0 && res
                               ? std::string(pw.pw_name)
                               : std::to_string(uid);
        return users_[uid] = name;
    }
    std::string group(gid_t gid) {
        auto it = groups_.find(gid);
        if (it != groups_.end()) return it->second;
        std::vector<char> buf(16384);
        ::group gr{}, *res = nullptr;
        std::string name = ::getgrgid_r(gid, &gr, buf.data(), buf.size(), &res) == 0 && res
                               ? std::string(gr.gr_name)
                               : std::to_string(gid);
        return groups_[gid] = name;
    }

private:
    std::map<uid_t, std::string> users_;
    std::map<gid_t, std::string> groups_;
};

std::string permissions(mode_t m) {
    std::string s(10, '-');
    s[0] = S_ISDIR(m)    ? 'd'
           : S_ISLNK(m)  ? 'L'
           : S_ISREG(m)  ? '-'
           : S_ISBLK(m)  ? 'b'
           : S_ISCHR(m)  ? 'c'
           : S_ISFIFO(m) ? 'p'
           : S_ISSOCK(m) ? 'S'
                         : '?';
    const char* rwx = "rwxrwxrwx";
    for (int i = 0; i < 9; ++i)
        if (m & (0400 >> i)) s[static_cast<std::size_t>(i + 1)] = rwx[i];
    auto special = [&](std::size_t pos, mode_t bit, char set, char unset) {
        if (m & bit) s[pos] = s[pos] == 'x' ? set : unset;
    };
    special(3, S_ISUID, 's', 'S');
    special(6, S_ISGID, 's', 'S');
    special(9, S_ISVTX, 't', 'T');
    return s;
}

const char* type_of(mode_t m) {
    if (S_ISREG(m)) return "file";
    if (S_ISDIR(m)) return "directory";
    if (S_ISLNK(m)) return "symlink";
    return "unknown";
}

// FileEntry (WIRE.md §10.3). `canon` is the entry's canonical path inside the
// capsule (to resolve a symlink), `shown` the path reported to the client.
json::object entry_json(const fs::path& root, names& nm, const std::string& name, const std::string& shown,
                        const std::string& canon, const struct stat& st, int dirfd) {
    json::object e;
    e["name"] = name;
    e["path"] = shown;
    std::string target;
    const char* type = type_of(st.st_mode);
    if (S_ISLNK(st.st_mode)) {
        // The type of what the link leads to, and where (inside the capsule).
        try {
            auto loc = locate(root, canon, canon, true, false, "stat");
            if (!loc.node) throw sys_error{ENOENT, "stat"};
            type = S_ISREG(loc.st.st_mode) || S_ISDIR(loc.st.st_mode) ? type_of(loc.st.st_mode) : "unknown";
            target = loc.vpath;
        } catch (const sys_error&) {
            type = "unknown";
            target = read_link(dirfd, name.c_str());
        } catch (const file_error&) {
            type = "unknown";
            target = read_link(dirfd, name.c_str());
        }
    }
    e["type"] = type;
    e["size"] = static_cast<std::int64_t>(st.st_size);
    e["mode"] = static_cast<std::uint32_t>(st.st_mode & 07777);
    e["permissions"] = permissions(st.st_mode);
    e["owner"] = nm.user(st.st_uid);
    e["group"] = nm.group(st.st_gid);
    e["modified_at"] = static_cast<std::int64_t>(st.st_mtim.tv_sec);
    if (S_ISLNK(st.st_mode)) e["symlink_target"] = target;
    return e;
}

// Depth-first, pre-order, names sorted (like Go's filepath.WalkDir); symlinks
// are reported, not followed.
void list_dir(const fs::path& root, names& nm, int dir_path_fd, const std::string& canon, const std::string& shown,
              bool ro, int levels, json::array& out) {
    unique_fd rd(::openat(dir_path_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!rd) throw sys_error{errno, "open"};
    std::vector<std::string> entries;
    {
        int dupfd = ::fcntl(rd.get(), F_DUPFD_CLOEXEC, 0);
        DIR* d = dupfd >= 0 ? ::fdopendir(dupfd) : nullptr;
        if (!d) {
            int e = errno;
            if (dupfd >= 0) ::close(dupfd);
            throw sys_error{e, "open"};
        }
        while (dirent* de = ::readdir(d)) {
            std::string n = de->d_name;
            if (n != "." && n != "..") entries.push_back(std::move(n));
        }
        ::closedir(d);
    }
    std::sort(entries.begin(), entries.end());
    const bool is_root = canon == "/";
    for (auto& n : entries) {
        struct stat st {};
        unique_fd child;
        bool child_ro = ro;
        if (is_root && !kernel_fs(n)) {
            try {
                child = unique_fd(open_child(rd.get(), true, ro, n, child_ro, shown));
            } catch (const file_error&) {
            }
            if (!child || ::fstat(child.get(), &st) != 0) continue;
        } else if (::fstatat(rd.get(), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
            continue;  // vanished meanwhile
        }
        std::string child_canon = join(canon, n), child_shown = join(shown, n);
        out.push_back(entry_json(root, nm, n, child_shown, child_canon, st, rd.get()));
        if (!S_ISDIR(st.st_mode) || levels <= 1 || (is_root && kernel_fs(n))) continue;
        if (!child) child = unique_fd(::openat(rd.get(), n.c_str(), O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC));
        if (!child) continue;
        try {
            list_dir(root, nm, child.get(), child_canon, child_shown, child_ro, levels - 1, out);
        } catch (const sys_error&) {
            // an unreadable or vanished subdirectory: its entries are left out
        }
    }
}

// ---------------------------------------------------------------- removal
struct dir_closer {
    void operator()(DIR* d) const { ::closedir(d); }
};

// rm -r of `name` in `parent` (a directory, not followed if a symlink),
// without recursion on the C++ stack and never following a symlink.
void remove_tree(int parent, const std::string& name) {
    struct frame {
        std::unique_ptr<DIR, dir_closer> dir;
        std::string name;
        int fd() const { return ::dirfd(dir.get()); }
    };
    std::vector<frame> frames;
    auto push = [&frames](int pfd, const char* n) {
        if (frames.size() >= max_remove_levels) throw sys_error{ENAMETOOLONG, "remove"};
        int fd = ::openat(pfd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) throw sys_error{errno, "remove"};
        DIR* d = ::fdopendir(fd);
        if (!d) {
            int e = errno;
            ::close(fd);
            throw sys_error{e, "remove"};
        }
        frames.push_back({std::unique_ptr<DIR, dir_closer>(d), n});
    };
    push(parent, name.c_str());
    while (!frames.empty()) {
        errno = 0;
        dirent* de = ::readdir(frames.back().dir.get());
        if (!de) {
            if (errno != 0) throw sys_error{errno, "remove"};
            std::string n = std::move(frames.back().name);
            frames.pop_back();
            int pfd = frames.empty() ? parent : frames.back().fd();
            if (::unlinkat(pfd, n.c_str(), AT_REMOVEDIR) != 0) throw sys_error{errno, "remove"};
            continue;
        }
        std::string_view n = de->d_name;
        if (n == "." || n == "..") continue;
        const int fd = frames.back().fd();
        if (de->d_type == DT_DIR) {
            push(fd, de->d_name);
            continue;
        }
        if (::unlinkat(fd, de->d_name, 0) != 0) {
            if (errno == EISDIR || errno == EPERM) {  // d_type not filled in by this file system
                struct stat st {};
                if (::fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
                    push(fd, de->d_name);
                    continue;
                }
            }
            throw sys_error{errno, "remove"};
        }
    }
}

// ---------------------------------------------------------------- writing
void write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        auto n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            throw sys_error{errno, "write"};
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
}

// Opens (creating or truncating) the file a write goes to; parents are made.
unique_fd open_for_write(const fs::path& root, const std::string& shown) {
    auto loc = locate(root, shown, shown, true, true, "open");
    if (loc.node) {
        if (S_ISDIR(loc.st.st_mode)) throw sys_error{EISDIR, "open"};
        if (loc.ro) throw sys_error{EROFS, "open"};
        if (!S_ISREG(loc.st.st_mode)) throw sys_error{EINVAL, "open", "not a regular file"};
        return reopen(loc.node, O_WRONLY | O_TRUNC, "open");
    }
    if (loc.ro) throw sys_error{EROFS, "open"};
    int fd = ::openat(loc.parent.get(), loc.name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0) throw sys_error{errno, "open"};
    return unique_fd(fd);
}

// An anonymous temporary file in `dir` (next to the capsule root, outside it).
unique_fd spool_file(const fs::path& dir) {
    unique_fd fd(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
    if (fd) return fd;
    std::string tmpl = (dir / "upload-XXXXXX").string();  // no O_TMPFILE on this file system
    fd = unique_fd(::mkostemp(tmpl.data(), O_CLOEXEC));
    if (!fd) throw sys_error{errno, "open"};
    ::unlink(tmpl.c_str());
    return fd;
}

// Copies the whole of `from` (from its start) to `to`.
void copy_all(int from, int to) {
    if (::lseek(from, 0, SEEK_SET) != 0) throw sys_error{errno, "write"};
    for (;;) {
        auto n = ::copy_file_range(from, nullptr, to, nullptr, 1 << 30, 0);
        if (n == 0) return;
        if (n > 0) continue;
        if (errno == EINTR) continue;
        if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
            throw sys_error{errno, "write"};
        break;
    }
    std::vector<char> buf(64 * 1024);
    for (;;) {
        auto n = ::read(from, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw sys_error{errno, "write"};
        if (n == 0) return;
        write_all(to, std::string_view(buf.data(), static_cast<std::size_t>(n)));
    }
}

// ---------------------------------------------------------------- routes
answer invalid(std::string_view message) { return error_answer(400, "invalid_request", message); }

answer agent_failure(const char* what, const std::string& shown, const sys_error& e) {
    std::string text = e.text.empty() ? errtext(e.err) : e.text;
    return error_answer(502, "agent_error", std::string(what) + ": " + e.verb + " " + shown + ": " + text);
}

answer read_file(const capsule& c, const std::string& shown, bool stream) {
    auto loc = locate(c.root, shown, shown, true, false, "open");
    if (!loc.node) throw sys_error{ENOENT, "open"};
    if (S_ISDIR(loc.st.st_mode)) throw sys_error{EISDIR, "read"};
    if (!S_ISREG(loc.st.st_mode)) throw sys_error{EINVAL, "open", "not a regular file"};
    auto fd = reopen(loc.node, O_RDONLY, "open");
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) throw sys_error{errno, "open"};
    answer a;
    a.status = 200;
    a.content_type = "application/octet-stream";
    std::optional<std::uint64_t> length;
    if (!stream) length = static_cast<std::uint64_t>(st.st_size);
    a.file = std::make_shared<file_body>(fd.release(), length);
    return a;
}

answer list_files(const capsule& c, const std::string& shown, std::uint32_t depth) {
    auto loc = locate(c.root, shown, shown, true, false, "open");
    if (!loc.node) throw sys_error{ENOENT, "open"};
    if (!S_ISDIR(loc.st.st_mode)) throw sys_error{ENOTDIR, "open"};
    names nm;
    json::array entries;
    std::string dir = shown;
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    int levels = static_cast<int>(std::min<std::uint32_t>(std::max<std::uint32_t>(depth, 1), max_list_levels));
    list_dir(c.root, nm, loc.node.get(), loc.vpath, dir, loc.ro, levels, entries);
    return json_answer(200, json::object{{"entries", std::move(entries)}});
}

answer make_dir(const capsule& c, const std::string& shown) {
    auto loc = locate(c.root, shown, shown, false, true, "mkdir");
    if (loc.node) {
        bool dir = S_ISDIR(loc.st.st_mode);
        if (S_ISLNK(loc.st.st_mode)) {
            try {
                auto t = locate(c.root, shown, shown, true, false, "mkdir");
                dir = t.node && S_ISDIR(t.st.st_mode);
            } catch (const sys_error&) {
            } catch (const file_error&) {
            }
        }
        if (dir) return error_answer(409, "conflict", "directory already exists: " + shown);
        return invalid("path exists and is not a directory: " + shown);
    }
    if (loc.ro) throw sys_error{EROFS, "mkdir"};
    if (::mkdirat(loc.parent.get(), loc.name.c_str(), 0755) != 0) {
        if (errno == EEXIST) return error_answer(409, "conflict", "directory already exists: " + shown);
        throw sys_error{errno, "mkdir"};
    }
    struct stat st {};
    if (::fstatat(loc.parent.get(), loc.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) throw sys_error{errno, "mkdir"};
    names nm;
    std::string path = shown;
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    auto entry = entry_json(c.root, nm, loc.name, path, loc.vpath, st, loc.parent.get());
    return json_answer(200, json::object{{"entry", std::move(entry)}});
}

answer remove_path(const capsule& c, const std::string& shown) {
    auto loc = locate(c.root, shown, shown, false, false, "remove");
    if (!loc.node) throw sys_error{ENOENT, "remove"};
    if (!loc.parent) return error_answer(403, "forbidden", "the capsule root cannot be removed");
    if (loc.parent_is_root && (loc.name == "usr" || loc.name == "etc")) throw sys_error{EBUSY, "remove"};
    if (loc.ro) throw sys_error{EROFS, "remove"};
    loc.node.reset();
    if (S_ISDIR(loc.st.st_mode)) remove_tree(loc.parent.get(), loc.name);
    else if (::unlinkat(loc.parent.get(), loc.name.c_str(), 0) != 0) throw sys_error{errno, "remove"};
    return empty_answer(204);
}

const char* failure_text(const std::string& op) {
    if (op == "read" || op == "stream/read") return "failed to read file";
    if (op == "list") return "failed to list directory";
    if (op == "mkdir") return "failed to create directory";
    if (op == "remove") return "failed to remove";
    if (op == "stream/write") return "failed to stream file chunk";
    return "failed to write file";
}

answer json_route(const capsule& c, const std::string& op, const request& req) {
    auto checked_body = check_file_body(op, req.body);
    if (auto* refusal = std::get_if<answer>(&checked_body)) return std::move(*refusal);
    const auto& fb = std::get<file_body_request>(checked_body);
    const std::string& shown = fb.path;
    const std::uint32_t depth = fb.depth;
    try {
        if (op == "read" || op == "stream/read") return read_file(c, shown, op == "stream/read");
        if (op == "list") return list_files(c, shown, depth);
        if (op == "mkdir") return make_dir(c, shown);
        return remove_path(c, shown);
    } catch (const sys_error& e) {
        return agent_failure(failure_text(op), shown, e);
    } catch (const file_error& e) {
        return error_answer(e.status, e.code, e.message);
    }
}

// Multipart upload: /files/write (any part order, body capped, spooled to an
// anonymous temporary file next to the capsule root and copied into place once
// complete) and /files/stream/write (no cap, `path` first, written straight to
// its destination as it arrives).
asio::awaitable<answer> upload(const capsule& c, request& req, bool streaming) {
    auto ct = parse_form_content_type(req.content_type);
    if (!ct.multipart || ct.boundary.empty())
        co_return invalid(streaming ? "expected multipart/form-data with boundary" : "expected multipart/form-data");
    const std::uint64_t cap = write_limit + framing_allowance;
    if (!streaming && req.content_length && *req.content_length > cap)
        co_return error_answer(413, "too_large", "file exceeds 100 MB limit");

    multipart_parser mp(ct.boundary);
    std::vector<multipart_parser::event> events;
    enum class part { none, path, file, skip } cur = part::none;
    std::string path, shown;
    bool path_seen = false, file_seen = false, file_done = false, finished = false;
    unique_fd out;
    std::uint64_t total = 0;
    const char* what = streaming ? "failed to stream file chunk" : "failed to write file";
    try {
        for (;;) {
            body_piece piece = co_await req.read_body();
            if (piece.failed) co_return invalid("failed to read request body");  // not sent: the connection is gone
            total += piece.data.size();
            if (!streaming && total > cap) co_return error_answer(413, "too_large", "file exceeds 100 MB limit");
            if (!finished) {
                if (!mp.feed(piece.data, events)) co_return invalid("failed to parse multipart");
                for (auto& ev : events) {
                    if (finished) break;
                    switch (ev.kind) {
                    case multipart_parser::event::part_begin:
                        if (ev.name == "path" && !path_seen) {
                            cur = part::path;
                        } else if (ev.name == "file" && !file_seen) {
                            file_seen = true;
                            cur = part::file;
                            if (streaming) {
                                if (path.empty()) co_return invalid("path field is required");
                                out = open_for_write(c.root, shown);
                            } else {
                                out = spool_file(c.dir);
                            }
                        } else {
                            cur = part::skip;
                        }
                        break;
                    case multipart_parser::event::data:
                        if (cur == part::path) {
                            path.append(ev.bytes);
                            if (path.size() > max_path_field) co_return invalid("path field is too long");
                        } else if (cur == part::file) {
                            write_all(out.get(), ev.bytes);
                        }
                        break;
                    case multipart_parser::event::part_end:
                        if (cur == part::path) {
                            path_seen = true;
                            if (!path.empty()) {
                                std::string why;
                                auto full = check_upload_path(path, why);
                                if (!full) co_return invalid(why);
                                shown = std::move(*full);
                            }
                        } else if (cur == part::file) {
                            file_done = true;
                            // stream/write stops at the end of the file part
                            if (streaming) finished = true;
                        }
                        cur = part::none;
                        break;
                    case multipart_parser::event::done:
                        finished = true;
                        break;
                    }
                }
            }
            if (piece.end) break;
        }
        if (!finished) co_return invalid("failed to parse multipart");
        if (path.empty()) co_return invalid("path field is required");
        if (!file_done) co_return invalid("file field is required");
        if (!streaming) {
            auto dest = open_for_write(c.root, shown);
            copy_all(out.get(), dest.get());
        }
    } catch (const sys_error& e) {
        co_return agent_failure(what, shown.empty() ? path : shown, e);
    } catch (const file_error& e) {
        co_return error_answer(e.status, e.code, e.message);
    }
    co_return empty_answer(204);
}

} // namespace

asio::awaitable<answer> file_route(app_state& app, const std::string& id, const std::string& op, request& req) {
    if (!valid_capsule_id(id)) co_return invalid("invalid sandbox ID");
    auto c = find_capsule(app, id);
    if (!c) co_return error_answer(404, "not_found", "sandbox not found");
    if (c->status != "running") co_return error_answer(409, "invalid_state", "sandbox is not running");
    // File operations do not count as activity (last_active_at stays).
    if (op == "write" || op == "stream/write") co_return co_await upload(*c, req, op == "stream/write");
    answer a = json_route(*c, op, req);
    co_return a;
}

} // namespace wl
