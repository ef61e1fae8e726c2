#pragma once

#include <wrenn/error.hpp>
#include <wrenn/git.hpp>
#include <wrenn/protocol/git.hpp>

#include <boost/asio/this_coro.hpp>

#include <map>

namespace wrenn {

namespace detail {

namespace gp = protocol::git;
using std::chrono::seconds;

// One git command, owned: what a method turns its arguments into.
struct git_call {
    std::string shell;  // the command line given to /bin/sh -c
    std::string op;     // the method, for errors ("push", "clone (strip credentials)")
    std::string cwd;
    std::map<std::string, std::string> envs;
    seconds timeout{30};
    std::vector<std::string> secrets;  // never shown: redacted from errors and results
};

template <class Options>
git_call make_git_call(std::string shell, std::string op, const Options& o, seconds default_timeout) {
    git_call c;
    c.shell = std::move(shell);
    c.op = std::move(op);
    c.cwd = std::string(o.cwd);
    c.envs["GIT_TERMINAL_PROMPT"] = "0";  // fail instead of waiting for a password
    o.envs.for_each([&](std::string_view k, std::string_view v) { c.envs[std::string(k)] = std::string(v); });
    c.timeout = o.timeout.value_or(default_timeout);
    return c;
}

template <class Options>
git_call make_git_call(const std::vector<std::string>& argv, std::string op, const Options& o,
                       seconds default_timeout = seconds(30)) {
    return make_git_call(gp::shell_join(argv), std::move(op), o, default_timeout);
}

inline std::string redact(std::string text, const std::vector<std::string>& secrets) {
    for (auto& s : secrets) {
        if (s.empty()) continue;
        for (auto at = text.find(s); at != std::string::npos; at = text.find(s, at + 3)) text.replace(at, s.size(), "***");
    }
    return text;
}

inline std::vector<std::string> secrets_of(std::string_view username, std::string_view password) {
    if (password.empty()) return {};
    std::vector<std::string> out{std::string(username) + ":" + std::string(password), std::string(password)};
    // and as they appear inside a URL (percent-encoded where needed)
    if (!username.empty()) {
        auto url = protocol::git::embed_credentials("http://h/", username, password);
        auto userinfo = url.substr(7, url.rfind('@') - 7);
        out.push_back(userinfo);
        out.push_back(userinfo.substr(userinfo.find(':') + 1));
    }
    return out;
}

inline boost::asio::awaitable<command_result> exec_git(commands cmds, git_call call) {
    std::vector<env_var> env;
    for (auto& [k, v] : call.envs) env.push_back({k, v});
    run_options o;
    o.timeout = call.timeout;
    o.envs = env;
    o.cwd = call.cwd;
    auto r = co_await cmds.run(call.shell, o);
    r.stdout_text = redact(std::move(r.stdout_text), call.secrets);
    r.stderr_text = redact(std::move(r.stderr_text), call.secrets);
    co_return r;
}

// Raises git_auth_error / git_command_error for a non-zero exit (WIRE.md §14.2).
inline void check_git(const git_call& call, const command_result& r) {
    if (r.exit_code == 0) return;
    if (gp::is_auth_error(r.stderr_text))
        throw git_auth_error("git_auth_failed",
                             "git " + call.op + ": authentication failed (check the username and password or token): " +
                                 gp::failure_message(call.op, {}, r.stderr_text, r.exit_code),
                             r.stderr_text, r.exit_code);
    throw git_command_error("git_failed",
                            "git " + call.op + " (exit " + std::to_string(r.exit_code) + "): " +
                                gp::failure_message(call.op, r.stdout_text, r.stderr_text, r.exit_code),
                            r.stderr_text, r.exit_code);
}

inline boost::asio::awaitable<command_result> run_checked(commands cmds, git_call call) {
    auto r = co_await exec_git(cmds, call);
    check_git(call, r);
    co_return r;
}

inline std::optional<std::string> trimmed_or_none(const command_result& r) {
    if (r.exit_code != 0) return std::nullopt;
    auto s = gp::strip(r.stdout_text);
    if (s.empty()) return std::nullopt;
    return std::string(s);
}

inline boost::asio::awaitable<std::optional<std::string>> run_lookup(commands cmds, git_call call) {
    auto r = co_await exec_git(cmds, std::move(call));
    co_return trimmed_or_none(r);
}

// clone, then (unless asked to keep them) the credentials out of origin.
inline boost::asio::awaitable<command_result> clone_flow(commands cmds, git_call clone, std::optional<git_call> strip) {
    auto r = co_await run_checked(cmds, std::move(clone));
    if (strip) co_await run_checked(cmds, std::move(*strip));
    co_return r;
}

// push/pull with credentials (WIRE.md §14.4): the remote URL carries them for
// this one operation and is restored afterwards, whatever happened.
inline boost::asio::awaitable<command_result> with_credentials(commands cmds, git_call op, git_call lookup,
                                                               std::string remote, std::string username,
                                                               std::string password) {
    auto original = co_await run_lookup(cmds, lookup);
    if (!original)
        throw git_command_error("git_failed", "git " + op.op + ": Remote '" + remote + "' not found.", "", 1);
    auto set_url = [&](const std::string& url) {
        auto c = lookup;
        c.shell = gp::shell_join(gp::remote_set_url_argv(remote, url));
        c.op = op.op + " (set remote url)";
        c.secrets = op.secrets;
        return c;
    };
    auto embed = set_url(gp::embed_credentials(*original, username, password));
    std::exception_ptr failure;
    command_result result;
    try {
        // inside the try: once the embedding may have run, the restore must run too
        co_await run_checked(cmds, std::move(embed));
        result = co_await exec_git(cmds, op);
        check_git(op, result);
    } catch (...) {
        failure = std::current_exception();
    }
    // also after a cancellation: the credentials must not stay behind
    co_await boost::asio::this_coro::reset_cancellation_state();
    std::exception_ptr restore_failure;
    try {
        auto restore = set_url(*original);
        co_await run_checked(cmds, std::move(restore));
    } catch (...) {
        restore_failure = std::current_exception();
    }
    if (failure) std::rethrow_exception(failure);
    if (restore_failure) std::rethrow_exception(restore_failure);
    co_return result;
}

inline boost::asio::awaitable<void> run_all(commands cmds, std::vector<git_call> calls) {
    for (auto& c : calls) (void)co_await run_checked(cmds, std::move(c));
}

} // namespace detail

WRENN_DECL boost::asio::awaitable<command_result> git::clone(std::string url, std::string dest,
                                                            git_clone_options o) const {
    auto target = detail::gp::clone_url(url, o.username, o.password);  // validates
    auto call = detail::make_git_call(detail::gp::clone_argv(target, dest, o.branch, o.depth), "clone", o,
                                      detail::seconds(300));
    call.secrets = detail::secrets_of(o.username, o.password);
    std::optional<detail::git_call> strip;
    if (target != url && !o.dangerously_store_credentials) {
        if (auto dir = detail::gp::clone_repo_dir(url, dest, o.cwd)) {
            auto s = detail::make_git_call(detail::gp::remote_set_url_argv("origin", detail::gp::strip_credentials(target)),
                                           "clone (strip credentials)", o);
            s.cwd = *dir;
            s.timeout = detail::seconds(30);
            s.secrets = call.secrets;
            strip = std::move(s);
        }
    }
    return detail::clone_flow(c_, std::move(call), std::move(strip));
}

WRENN_DECL boost::asio::awaitable<command_result> git::init(std::string path, git_init_options o) const {
    return detail::run_checked(c_, detail::make_git_call(detail::gp::init_argv(path.empty() ? "." : path, o.bare,
                                                                               o.initial_branch),
                                                         "init", o));
}

WRENN_DECL boost::asio::awaitable<command_result> git::add(git_add_options o) const {
    return detail::run_checked(c_, detail::make_git_call(detail::gp::add_argv(o.paths.to_vector(), o.all), "add", o));
}

WRENN_DECL boost::asio::awaitable<command_result> git::commit(std::string message, git_commit_options o) const {
    return detail::run_checked(
        c_, detail::make_git_call(detail::gp::commit_argv(message, o.allow_empty, o.author_name, o.author_email),
                                  "commit", o));
}

WRENN_DECL boost::asio::awaitable<command_result> git::push(git_push_options o) const {
    auto call = detail::make_git_call(detail::gp::push_argv(o.remote, o.branch, o.force, o.set_upstream), "push", o,
                                      detail::seconds(60));
    if (!o.password.empty() && o.username.empty())
        throw usage_error("invalid_argument", "git.push: a password needs a username (for a token, pass any "
                                              "non-empty username, e.g. \"x-access-token\")");
    if (o.username.empty() || o.password.empty()) return detail::run_checked(c_, std::move(call));
    call.secrets = detail::secrets_of(o.username, o.password);
    auto lookup = detail::make_git_call(detail::gp::remote_get_argv(o.remote), "push", o);
    return detail::with_credentials(c_, std::move(call), std::move(lookup), std::string(o.remote),
                                    std::string(o.username), std::string(o.password));
}

WRENN_DECL boost::asio::awaitable<command_result> git::pull(git_pull_options o) const {
    auto call = detail::make_git_call(detail::gp::pull_argv(o.remote, o.branch, o.rebase, o.ff_only), "pull", o,
                                      detail::seconds(60));
    if (!o.password.empty() && o.username.empty())
        throw usage_error("invalid_argument", "git.pull: a password needs a username (for a token, pass any "
                                              "non-empty username, e.g. \"x-access-token\")");
    if (o.username.empty() || o.password.empty()) return detail::run_checked(c_, std::move(call));
    call.secrets = detail::secrets_of(o.username, o.password);
    auto lookup = detail::make_git_call(detail::gp::remote_get_argv(o.remote), "pull", o);
    return detail::with_credentials(c_, std::move(call), std::move(lookup), std::string(o.remote),
                                    std::string(o.username), std::string(o.password));
}

WRENN_DECL boost::asio::awaitable<git_status> git::status(git_options o) const {
    return [](commands cmds, detail::git_call call) -> boost::asio::awaitable<git_status> {
        auto r = co_await detail::run_checked(cmds, std::move(call));
        co_return detail::gp::parse_status(r.stdout_text);
    }(c_, detail::make_git_call(detail::gp::status_argv(), "status", o));
}

WRENN_DECL boost::asio::awaitable<std::vector<git_branch>> git::branches(git_options o) const {
    return [](commands cmds, detail::git_call call) -> boost::asio::awaitable<std::vector<git_branch>> {
        auto r = co_await detail::run_checked(cmds, std::move(call));
        co_return detail::gp::parse_branches(r.stdout_text);
    }(c_, detail::make_git_call(detail::gp::branches_argv(), "branches", o));
}

WRENN_DECL boost::asio::awaitable<command_result> git::create_branch(std::string name,
                                                                    git_create_branch_options o) const {
    return detail::run_checked(
        c_, detail::make_git_call(detail::gp::create_branch_argv(name, o.start_point), "create_branch", o));
}

WRENN_DECL boost::asio::awaitable<command_result> git::checkout_branch(std::string name, git_options o) const {
    return detail::run_checked(c_, detail::make_git_call(detail::gp::checkout_branch_argv(name), "checkout_branch", o));
}

WRENN_DECL boost::asio::awaitable<command_result> git::delete_branch(std::string name,
                                                                    git_delete_branch_options o) const {
    return detail::run_checked(
        c_, detail::make_git_call(detail::gp::delete_branch_argv(name, o.force), "delete_branch", o));
}

WRENN_DECL boost::asio::awaitable<command_result> git::remote_add(std::string name, std::string url,
                                                                 git_remote_add_options o) const {
    return detail::run_checked(c_,
                               detail::make_git_call(detail::gp::remote_add_argv(name, url, o.fetch), "remote_add", o));
}

WRENN_DECL boost::asio::awaitable<std::optional<std::string>> git::remote_get(std::string name, git_options o) const {
    return detail::run_lookup(c_, detail::make_git_call(detail::gp::remote_get_argv(name), "remote_get", o));
}

WRENN_DECL boost::asio::awaitable<command_result> git::reset(git_reset_options o) const {
    return detail::run_checked(
        c_, detail::make_git_call(detail::gp::reset_argv(o.mode, o.ref, o.paths.to_vector()), "reset", o));
}

WRENN_DECL boost::asio::awaitable<command_result> git::restore(arg_list paths, git_restore_options o) const {
    return detail::run_checked(c_, detail::make_git_call(detail::gp::restore_argv(paths.to_vector(), o.staged,
                                                                                  o.worktree, o.source),
                                                         "restore", o));
}

// The config calls run in opts.cwd like every other call; the Python SDK also
// passes `-C <cwd>`, which resolves a relative cwd twice, so it is left out.
WRENN_DECL boost::asio::awaitable<command_result> git::set_config(std::string key, std::string value,
                                                                 git_config_options o) const {
    auto scope = o.scope.value_or(git_config_scope::local);
    return detail::run_checked(
        c_, detail::make_git_call(detail::gp::set_config_argv(key, value, scope, {}), "set_config", o));
}

WRENN_DECL boost::asio::awaitable<std::optional<std::string>> git::get_config(std::string key,
                                                                             git_config_options o) const {
    auto scope = o.scope.value_or(git_config_scope::local);
    return detail::run_lookup(c_, detail::make_git_call(detail::gp::get_config_argv(key, scope, {}), "get_config", o));
}

WRENN_DECL boost::asio::awaitable<void> git::configure_user(std::string name, std::string email,
                                                           git_config_options o) const {
    detail::gp::check_user_identity(name, email);
    auto scope = o.scope.value_or(git_config_scope::global);
    std::vector<detail::git_call> calls;
    calls.push_back(detail::make_git_call(detail::gp::set_config_argv("user.name", name, scope, {}), "set_config", o));
    calls.push_back(detail::make_git_call(detail::gp::set_config_argv("user.email", email, scope, {}), "set_config", o));
    return detail::run_all(c_, std::move(calls));
}

WRENN_DECL boost::asio::awaitable<void> git::dangerously_authenticate(std::string username, std::string password,
                                                                     git_authenticate_options o) const {
    // validates (empty values, newlines) before anything runs
    auto approve = detail::gp::credential_approve_command(username, password, o.host, o.protocol);
    std::vector<detail::git_call> calls;
    calls.push_back(detail::make_git_call(
        detail::gp::set_config_argv("credential.helper", "store", git_config_scope::global, {}), "set_config", o));
    calls.push_back(detail::make_git_call(std::move(approve), "dangerously_authenticate", o, detail::seconds(30)));
    calls.back().secrets = detail::secrets_of(username, password);
    return detail::run_all(c_, std::move(calls));
}

} // namespace wrenn
