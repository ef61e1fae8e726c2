// wrenn-local: /proc walks, signals to process trees, the freezer cgroup
// (see proc_control.hpp).
#include "proc_control.hpp"
#include "host_files.hpp"

#include <csignal>
#include <sstream>
#include <system_error>
#include <unordered_map>
#include <unordered_set>

#include <unistd.h>

namespace wl {

std::vector<pid_t> process_tree(const std::vector<pid_t>& roots) {
    std::unordered_map<pid_t, std::vector<pid_t>> children;
    std::error_code ec;
    for (auto& d : fs::directory_iterator("/proc", ec)) {
        auto name = d.path().filename().string();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::string stat = read_small("/proc/" + name + "/stat");
        auto rp = stat.rfind(')');
        if (rp == std::string::npos) continue;
        std::istringstream ss(stat.substr(rp + 2));
        char state;
        pid_t ppid = 0;
        ss >> state >> ppid;
        children[ppid].push_back(static_cast<pid_t>(std::stol(name)));
    }
    std::vector<pid_t> out;
    std::vector<pid_t> todo;
    std::unordered_set<pid_t> seen;  // the snapshot is not atomic: pid reuse can make a parent cycle
    for (pid_t r : roots)
        if (r > 0 && ::kill(r, 0) == 0) todo.push_back(r);
    while (!todo.empty()) {
        pid_t p = todo.back();
        todo.pop_back();
        if (!seen.insert(p).second) continue;
        out.push_back(p);
        auto it = children.find(p);
        if (it != children.end())
            for (pid_t c : it->second) todo.push_back(c);
    }
    return out;
}

std::string proc_comm(pid_t pid) {
    std::string s = read_small("/proc/" + std::to_string(pid) + "/comm");
    while (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
}

void signal_tree(pid_t root, int sig, bool skip_bwrap) {
    bool sent = false;
    for (pid_t p : process_tree({root})) {
        if (skip_bwrap) {
            auto comm = proc_comm(p);
            if (comm == "bwrap" || comm == "nsenter") continue;
        }
        ::kill(p, sig);
        sent = true;
    }
    if (!sent) ::kill(root, sig);
}

std::string freezer_dir(std::string_view id) {
    if (sandbox.freezer_root.empty()) return {};
    return sandbox.freezer_root + "/" + std::string(id);
}

bool freezer_create(std::string_view id) {
    if (sandbox.freezer_root.empty()) return false;
    std::error_code ec;
    fs::create_directory(freezer_dir(id), ec);
    return !ec && fs::exists(freezer_dir(id) + "/cgroup.procs", ec);
}

bool freezer_set(std::string_view id, bool frozen) {
    return write_file(freezer_dir(id) + "/freezer.state", frozen ? "FROZEN" : "THAWED");
}

std::string freezer_state(std::string_view id) {
    std::string s = read_small(freezer_dir(id) + "/freezer.state");
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

std::vector<pid_t> freezer_procs(std::string_view id) {
    std::vector<pid_t> out;
    std::istringstream in(read_small(freezer_dir(id) + "/cgroup.procs"));
    pid_t p;
    while (in >> p) out.push_back(p);
    return out;
}

void freezer_remove(std::string_view id) {
    if (sandbox.freezer_root.empty()) return;
    ::rmdir(freezer_dir(id).c_str());
}

} // namespace wl
