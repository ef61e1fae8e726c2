// wrenn-local: a capsule's processes as the host sees them: /proc walks
// (a process and its descendants), signals to a whole tree, and the freezer
// cgroup that pauses a capsule. proc_control.cpp.
#pragma once

#include "common.hpp"

namespace wl {

std::vector<pid_t> process_tree(const std::vector<pid_t>& roots);  // roots + descendants that exist
std::string proc_comm(pid_t pid);
void signal_tree(pid_t root, int sig, bool skip_bwrap);

// Freezer cgroup per capsule (empty strings / no-ops when unavailable).
std::string freezer_dir(std::string_view capsule_id);
bool freezer_create(std::string_view capsule_id);
bool freezer_set(std::string_view capsule_id, bool frozen);
std::string freezer_state(std::string_view capsule_id);
std::vector<pid_t> freezer_procs(std::string_view capsule_id);
void freezer_remove(std::string_view capsule_id);

} // namespace wl
