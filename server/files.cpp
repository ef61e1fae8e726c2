// wrenn-local: the file routes (WIRE.md §10): read, list, mkdir and remove
// here; the uploads in file_upload.cpp. Every path goes through the
// capsule's confinement (capsule_paths.hpp).
#include "api_errors.hpp"
#include "files.hpp"
#include "capsule_paths.hpp"
#include "file_entries.hpp"
#include "file_upload.hpp"
#include "front.hpp"

#include <algorithm>
#include <cerrno>
#include <memory>
#include <vector>

#include <dirent.h>
#include <fcntl.h>

namespace wl {

namespace {

constexpr int max_list_levels = 256;
constexpr std::size_t max_remove_levels = 4096;

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

// ---------------------------------------------------------------- routes
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

} // namespace

asio::awaitable<answer> file_route(app_state& app, const std::string& id, const std::string& op, request& req) {
    if (!valid_capsule_id(id)) co_return invalid("invalid sandbox ID");
    auto c = find_capsule(app, id);
    if (!c) co_return errors::capsule_not_found();
    if (c->status != "running") co_return errors::not_running(c->status, "sandbox is not running");
    // File operations do not count as activity (last_active_at stays).
    if (op == "write" || op == "stream/write") co_return co_await upload(*c, req, op == "stream/write");
    answer a = json_route(*c, op, req);
    co_return a;
}

} // namespace wl
