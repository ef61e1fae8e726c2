#pragma once

// The git command lines the SDK runs in a capsule, each checked before it is
// built: a value git would read as an option, or an empty name, is a usage_error.

#include <wrenn/impl/git_text.hpp>
#include <wrenn/protocol/git.hpp>

#include <string>

namespace wrenn::protocol::git {

namespace detail {

inline void require_nonempty(std::string_view op, std::string_view what, std::string_view value) {
    if (value.empty()) invalid(op, std::string(what) + " is empty");
}

// A value placed where git parses options: one beginning with '-' would be
// taken for an option (e.g. a "URL" of --upload-pack=...).
// URLs are not echoed (they may carry credentials); a path gets a hint.
enum class dash_kind { name, url, path };

inline void no_leading_dash(std::string_view op, std::string_view what, std::string_view value,
                            dash_kind kind = dash_kind::name) {
    if (value.empty() || value.front() != '-') return;
    std::string msg(what);
    if (kind != dash_kind::url) msg += " '" + std::string(value) + "'";
    msg += " begins with '-', which git would read as an option";
    if (kind == dash_kind::path) msg += "; write './" + std::string(value) + "' for such a directory";
    invalid(op, msg);
}

inline void require_name(std::string_view op, std::string_view what, std::string_view value,
                         dash_kind kind = dash_kind::name) {
    require_nonempty(op, what, value);
    no_leading_dash(op, what, value, kind);
}

// Paths follow "--", so any text is a path; only an empty one is refused
// (git rejects an empty pathspec).
inline void check_paths(std::string_view op, const std::vector<std::string>& paths) {
    for (auto& p : paths)
        if (p.empty()) invalid(op, "a path in the list is empty");
}

inline const char* scope_flag(git_config_scope s) {
    switch (s) {
    case git_config_scope::global: return "--global";
    case git_config_scope::system: return "--system";
    case git_config_scope::local: break;
    }
    return "--local";
}

} // namespace detail

// ---- argv builders ----

WRENN_DECL std::vector<std::string> clone_argv(std::string_view url, std::string_view dest,
                                               std::string_view branch, std::optional<int> depth) {
    detail::require_name("clone", "the URL", url, detail::dash_kind::url);
    detail::no_leading_dash("clone", "the destination", dest, detail::dash_kind::path);
    detail::no_leading_dash("clone", "the branch", branch);
    if (depth && *depth < 1)
        detail::invalid("clone", "depth must be at least 1 (got " + std::to_string(*depth) + ")");
    std::vector<std::string> argv{"git", "clone"};
    if (!branch.empty()) argv.insert(argv.end(), {"--branch", std::string(branch), "--single-branch"});
    if (depth) argv.insert(argv.end(), {"--depth", std::to_string(*depth)});
    argv.emplace_back(url);
    if (!dest.empty()) argv.emplace_back(dest);
    return argv;
}

WRENN_DECL std::vector<std::string> init_argv(std::string_view path, bool bare, std::string_view initial_branch) {
    detail::no_leading_dash("init", "the path", path, detail::dash_kind::path);
    detail::no_leading_dash("init", "the initial branch", initial_branch);
    std::vector<std::string> argv{"git", "init"};
    if (!initial_branch.empty()) argv.insert(argv.end(), {"--initial-branch", std::string(initial_branch)});
    if (bare) argv.emplace_back("--bare");
    argv.emplace_back(path.empty() ? std::string_view(".") : path);
    return argv;
}

WRENN_DECL std::vector<std::string> add_argv(const std::vector<std::string>& paths, bool all) {
    detail::check_paths("add", paths);
    std::vector<std::string> argv{"git", "add"};
    if (paths.empty()) {
        argv.emplace_back(all ? "-A" : ".");
    } else {
        argv.emplace_back("--");
        argv.insert(argv.end(), paths.begin(), paths.end());
    }
    return argv;
}

WRENN_DECL std::vector<std::string> commit_argv(std::string_view message, bool allow_empty,
                                                std::string_view author_name, std::string_view author_email) {
    detail::require_nonempty("commit", "the message", message);
    std::vector<std::string> argv{"git"};
    if (!author_name.empty()) argv.insert(argv.end(), {"-c", "user.name=" + std::string(author_name)});
    if (!author_email.empty()) argv.insert(argv.end(), {"-c", "user.email=" + std::string(author_email)});
    argv.insert(argv.end(), {"commit", "-m", std::string(message)});
    if (allow_empty) argv.emplace_back("--allow-empty");
    return argv;
}

WRENN_DECL std::vector<std::string> push_argv(std::string_view remote, std::string_view branch, bool force,
                                              bool set_upstream) {
    detail::no_leading_dash("push", "the remote", remote);
    detail::no_leading_dash("push", "the branch", branch);
    std::vector<std::string> argv{"git", "push"};
    if (force) argv.emplace_back("--force");
    if (set_upstream) argv.emplace_back("--set-upstream");
    argv.emplace_back(remote.empty() ? std::string_view("origin") : remote);
    if (!branch.empty()) argv.emplace_back(branch);
    return argv;
}

WRENN_DECL std::vector<std::string> pull_argv(std::string_view remote, std::string_view branch, bool rebase,
                                              bool ff_only) {
    detail::no_leading_dash("pull", "the remote", remote);
    detail::no_leading_dash("pull", "the branch", branch);
    std::vector<std::string> argv{"git", "pull"};
    if (rebase) argv.emplace_back("--rebase");
    if (ff_only) argv.emplace_back("--ff-only");
    argv.emplace_back(remote.empty() ? std::string_view("origin") : remote);
    if (!branch.empty()) argv.emplace_back(branch);
    return argv;
}

WRENN_DECL std::vector<std::string> status_argv() { return {"git", "status", "--porcelain=v1", "--branch"}; }

WRENN_DECL std::vector<std::string> branches_argv() { return {"git", "branch", "--format=%(refname:short)\t%(HEAD)"}; }

WRENN_DECL std::vector<std::string> create_branch_argv(std::string_view name, std::string_view start_point) {
    detail::require_name("create_branch", "the branch name", name);
    detail::no_leading_dash("create_branch", "the start point", start_point);
    std::vector<std::string> argv{"git", "checkout", "-b", std::string(name)};
    if (!start_point.empty()) argv.emplace_back(start_point);
    return argv;
}

WRENN_DECL std::vector<std::string> checkout_branch_argv(std::string_view name) {
    detail::require_name("checkout_branch", "the branch name", name);
    // "--": `name` is always a branch, never a path whose changes checkout would discard
    return {"git", "checkout", std::string(name), "--"};
}

WRENN_DECL std::vector<std::string> delete_branch_argv(std::string_view name, bool force) {
    detail::require_name("delete_branch", "the branch name", name);
    return {"git", "branch", force ? "-D" : "-d", std::string(name)};
}

WRENN_DECL std::vector<std::string> remote_add_argv(std::string_view name, std::string_view url, bool fetch) {
    detail::require_name("remote_add", "the remote name", name);
    detail::require_name("remote_add", "the URL", url, detail::dash_kind::url);
    std::vector<std::string> argv{"git", "remote", "add"};
    if (fetch) argv.emplace_back("-f");
    argv.emplace_back(name);
    argv.emplace_back(url);
    return argv;
}

WRENN_DECL std::vector<std::string> remote_get_argv(std::string_view name) {
    detail::no_leading_dash("remote_get", "the remote name", name);
    return {"git", "remote", "get-url", std::string(name.empty() ? std::string_view("origin") : name)};
}

WRENN_DECL std::vector<std::string> remote_set_url_argv(std::string_view name, std::string_view url) {
    detail::require_name("remote_set_url", "the remote name", name);
    detail::require_name("remote_set_url", "the URL", url, detail::dash_kind::url);
    return {"git", "remote", "set-url", std::string(name), std::string(url)};
}

WRENN_DECL std::vector<std::string> reset_argv(std::optional<git_reset_mode> mode, std::string_view ref,
                                               const std::vector<std::string>& paths) {
    detail::no_leading_dash("reset", "the ref", ref);
    detail::check_paths("reset", paths);
    std::vector<std::string> argv{"git", "reset"};
    if (mode) argv.push_back("--" + std::string(to_string(*mode)));
    if (!ref.empty()) argv.emplace_back(ref);
    if (!paths.empty()) {
        argv.emplace_back("--");
        argv.insert(argv.end(), paths.begin(), paths.end());
    }
    return argv;
}

WRENN_DECL std::vector<std::string> restore_argv(const std::vector<std::string>& paths, bool staged, bool worktree,
                                                 std::string_view source) {
    if (paths.empty()) throw usage_error("invalid_argument", "At least one path is required.");
    detail::check_paths("restore", paths);
    detail::no_leading_dash("restore", "the source", source);
    if (!staged && !worktree) worktree = true;
    std::vector<std::string> argv{"git", "restore"};
    if (worktree) argv.emplace_back("--worktree");
    if (staged) argv.emplace_back("--staged");
    if (!source.empty()) argv.insert(argv.end(), {"--source", std::string(source)});
    argv.emplace_back("--");
    argv.insert(argv.end(), paths.begin(), paths.end());
    return argv;
}

WRENN_DECL std::vector<std::string> set_config_argv(std::string_view key, std::string_view value,
                                                    git_config_scope scope, std::string_view cwd) {
    detail::require_name("set_config", "the key", key);
    std::vector<std::string> argv{"git"};
    if (scope == git_config_scope::local && !cwd.empty()) argv.insert(argv.end(), {"-C", std::string(cwd)});
    argv.insert(argv.end(), {"config", detail::scope_flag(scope), std::string(key), std::string(value)});
    return argv;
}

WRENN_DECL std::vector<std::string> get_config_argv(std::string_view key, git_config_scope scope,
                                                    std::string_view cwd) {
    detail::require_name("get_config", "the key", key);
    std::vector<std::string> argv{"git"};
    if (scope == git_config_scope::local && !cwd.empty()) argv.insert(argv.end(), {"-C", std::string(cwd)});
    argv.insert(argv.end(), {"config", detail::scope_flag(scope), "--get", std::string(key)});
    return argv;
}

WRENN_DECL std::optional<git_config_scope> parse_config_scope(std::string_view s) {
    auto v = detail::ascii_lower(detail::strip(s));
    if (v == "local") return git_config_scope::local;
    if (v == "global") return git_config_scope::global;
    if (v == "system") return git_config_scope::system;
    return std::nullopt;
}

WRENN_DECL git_config_scope require_config_scope(std::string_view s) {
    if (auto scope = parse_config_scope(s)) return *scope;
    throw usage_error("invalid_argument", "Git config scope must be one of: local, global, system.");
}

WRENN_DECL void check_user_identity(std::string_view name, std::string_view email) {
    if (name.empty() || email.empty()) throw usage_error("invalid_argument", "Both name and email are required.");
}

WRENN_DECL std::string credential_approve_command(std::string_view username, std::string_view password,
                                                  std::string_view host, std::string_view protocol) {
    if (username.empty() || password.empty())
        throw usage_error("invalid_argument", "Both username and password are required.");
    if (username.find('\n') != std::string_view::npos || password.find('\n') != std::string_view::npos)
        throw usage_error("invalid_argument", "Credentials must not contain newline characters.");
    auto h = detail::strip(host);
    auto p = detail::strip(protocol);
    if (h.empty()) h = "github.com";
    if (p.empty()) p = "https";
    if (h.find('\n') != std::string_view::npos)
        detail::invalid("dangerously_authenticate", "the host must not contain newline characters");
    if (p.find('\n') != std::string_view::npos)
        detail::invalid("dangerously_authenticate", "the protocol must not contain newline characters");
    std::string text = "protocol=" + std::string(p) + "\nhost=" + std::string(h) + "\nusername=" +
                       std::string(username) + "\npassword=" + std::string(password) + "\n\n";
    return "printf %s " + shell_quote(text) + " | git credential approve";
}

} // namespace wrenn::protocol::git
