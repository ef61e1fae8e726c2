// wrenn-local: directory entries as the file routes report them (FileEntry,
// WIRE.md §10.3) and the recursive directory listing (file_entries.cpp).
#pragma once

#include "common.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <map>
#include <string>
#include <vector>

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/types.h>

namespace wl {

// User and group names by id, each looked up once (per listing).
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

// FileEntry (WIRE.md §10.3). `canon` is the entry's canonical path inside the
// capsule (to resolve a symlink), `shown` the path reported to the client.
json::object entry_json(const fs::path& root, names& nm, const std::string& name, const std::string& shown,
                        const std::string& canon, const struct stat& st, int dirfd);

// Depth-first, pre-order, names sorted (like Go's filepath.WalkDir); symlinks
// are reported, not followed.
void list_dir(const fs::path& root, names& nm, int dir_path_fd, const std::string& canon, const std::string& shown,
              bool ro, int levels, json::array& out);

} // namespace wl
