// wrenn-local: FileEntry JSON and the recursive directory listing (see
// file_entries.hpp).
#include "file_entries.hpp"
#include "capsule_paths.hpp"

#include <algorithm>
#include <cerrno>

#include <dirent.h>
#include <fcntl.h>

namespace wl {

namespace {

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

} // namespace

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

} // namespace wl
