// The public models of the git helper (WIRE.md §14.6, §14.7; SDK_SURFACE.md
// §6): the parsed `git status` and `git branch` output, and the reset and
// config-scope choices.
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wrenn {

// One entry of `git status --porcelain=v1`. Paths are exactly as git printed
// them: git C-quotes unusual names ("a b", "\303\251"), and the quotes and
// escapes are kept.
struct git_file_status {
    std::string path;
    std::optional<std::string> renamed_from;  // the source of a rename or copy
    char index_status = ' ';      // porcelain X
    char work_tree_status = ' ';  // porcelain Y

    // The change is staged in the index: X is neither ' ' nor '?'.
    bool staged() const { return index_status != ' ' && index_status != '?'; }

    // An unmerged path: one of git's seven conflict pairs (DD AU UD UA DU AA UU).
    bool conflicted() const {
        return index_status == 'U' || work_tree_status == 'U' ||
               (index_status == 'A' && work_tree_status == 'A') || (index_status == 'D' && work_tree_status == 'D');
    }

    // "conflict", "renamed", "copied", "deleted", "added", "modified",
    // "typechange", "untracked" or "unknown": "conflict" for every unmerged
    // pair (WIRE.md §14.6 labels AA "added" and DD "deleted"; git documents
    // both as conflicts), else the first of R, C, D, A, M, T, ? in X or Y.
    std::string_view status() const {
        auto has = [this](char c) { return index_status == c || work_tree_status == c; };
        if (conflicted()) return "conflict";
        if (has('R')) return "renamed";
        if (has('C')) return "copied";
        if (has('D')) return "deleted";
        if (has('A')) return "added";
        if (has('M')) return "modified";
        if (has('T')) return "typechange";
        if (has('?')) return "untracked";
        return "unknown";
    }

    friend bool operator==(const git_file_status&, const git_file_status&) = default;
};

// Parsed `git status --porcelain=v1 --branch`.
struct git_status {
    std::optional<std::string> branch;    // nullopt when detached (or unknown)
    std::optional<std::string> upstream;  // e.g. "origin/main"
    int ahead = 0, behind = 0;
    bool detached = false;
    std::vector<git_file_status> files;

    bool is_clean() const { return files.empty(); }
    bool has_staged() const {
        return std::any_of(files.begin(), files.end(), [](auto& f) { return f.staged(); });
    }
    bool has_untracked() const {
        return std::any_of(files.begin(), files.end(), [](auto& f) { return f.status() == "untracked"; });
    }
    bool has_conflicts() const {
        return std::any_of(files.begin(), files.end(), [](auto& f) { return f.status() == "conflict"; });
    }

    friend bool operator==(const git_status&, const git_status&) = default;
};

// One local branch of `git branch`.
struct git_branch {
    std::string name;
    bool is_current = false;

    friend bool operator==(const git_branch&, const git_branch&) = default;
};

enum class git_reset_mode { soft, mixed, hard, merge, keep };
enum class git_config_scope { local, global, system };

// "soft", "mixed", ... (the flag without its "--").
inline std::string_view to_string(git_reset_mode m) {
    switch (m) {
    case git_reset_mode::soft: return "soft";
    case git_reset_mode::mixed: return "mixed";
    case git_reset_mode::hard: return "hard";
    case git_reset_mode::merge: return "merge";
    case git_reset_mode::keep: return "keep";
    }
    return "mixed";
}

// "local", "global" or "system".
inline std::string_view to_string(git_config_scope s) {
    switch (s) {
    case git_config_scope::local: return "local";
    case git_config_scope::global: return "global";
    case git_config_scope::system: return "system";
    }
    return "local";
}

} // namespace wrenn
