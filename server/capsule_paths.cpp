// wrenn-local: resolving a path inside a capsule without leaving it (see
// capsule_paths.hpp).
#include "capsule_paths.hpp"

#include <cerrno>
#include <climits>
#include <deque>
#include <vector>

#include <fcntl.h>

namespace wl {

namespace {

constexpr int max_symlinks = 40;  // like the kernel

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

} // namespace

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

unique_fd reopen(const unique_fd& node, int flags, const char* verb) {
    std::string p = "/proc/self/fd/" + std::to_string(node.get());
    int fd = ::open(p.c_str(), flags | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) throw sys_error{errno, verb};
    return unique_fd(fd);
}

} // namespace wl
