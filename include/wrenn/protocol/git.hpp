// The git helper, sans-I/O (WIRE.md §14): shell quoting, the argv of every
// git method, credential embedding and stripping, the auth-error patterns and
// the parsers of `git status` and `git branch` output. wrenn::git runs these
// argvs through commands.run as `/bin/sh -c <shell_join(argv)>`.
//
// Conventions: an empty string_view means "not given" for an optional string
// parameter. Arguments git would misread throw wrenn::usage_error (code
// "invalid_argument") before any I/O: an empty URL, name, key or message, a
// branch, remote, ref or URL beginning with '-' (git would read it as an
// option), and an empty entry in a path list. Where the Python SDK has a
// message for a check, the same text is used.
#pragma once

#include <wrenn/detail/config.hpp>
#include <wrenn/git_types.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wrenn::protocol::git {

// ---- shell quoting (§14.1, Python's shlex.quote / shlex.join) ----

// '' for the empty string; unchanged when every byte is in
// [A-Za-z0-9_@%+=:,./-]; else '…' with each ' written as '"'"'.
// Bytes are bytes: anything non-ASCII is quoted. Never throws.
WRENN_DECL std::string shell_quote(std::string_view arg);

// `s` without the ASCII whitespace around it (Python's str.strip()).
WRENN_DECL std::string_view strip(std::string_view s);

// Each argument quoted, joined with single spaces.
WRENN_DECL std::string shell_join(const std::vector<std::string>& argv);

// ---- results (§14.2, §14.5) ----

// Whether git's stderr says authentication failed: a case-insensitive search
// for "authentication failed", "terminal prompts disabled", "could not read
// username", "invalid username or password", "access denied", "permission
// denied", "not authorized". Only stderr is consulted.
WRENN_DECL bool is_auth_error(std::string_view stderr_text);

// "git <op>: authentication failed" (the message of the auth error).
WRENN_DECL std::string auth_failure_message(std::string_view op);

// The message of a failed git command: stderr stripped, else stdout
// stripped, else "git <op> failed (exit <n>)".
WRENN_DECL std::string failure_message(std::string_view op, std::string_view stdout_text,
                                       std::string_view stderr_text, int exit_code);

// ---- URLs and credentials (§14.4) ----

// `url` with its userinfo replaced by `<username>:<password>@`, and the host
// lower-cased and the port normalised (a port of 0 or an empty port dropped)
// as Python's urlparse does; scheme lower-cased; path, query and fragment
// kept verbatim. Unlike the Python SDK, bytes of the username and password
// that would break the URL (anything but RFC 3986 unreserved and sub-delims:
// '@', ':', '/', '?', '#', '%', space, ...) are percent-encoded (git decodes
// them), and an IPv6 host keeps its brackets.
// usage_error: "Only http(s) URLs support embedded credentials." for other
// schemes; also for a URL without a host or with a bad port.
WRENN_DECL std::string embed_credentials(std::string_view url, std::string_view username,
                                         std::string_view password);

// `url` without its userinfo. Returned unchanged when it is not http(s) or
// carries neither a username nor a password. Never throws.
WRENN_DECL std::string strip_credentials(std::string_view url);

// The directory `git clone <url>` creates, as the Python SDK guesses it: the
// last path segment of an http(s) URL minus a ".git" suffix. nullopt for
// other URLs and when nothing (or "." / "..") is left.
WRENN_DECL std::optional<std::string> repo_dir_from_url(std::string_view url);

// posixpath.join(base, path): `path` if absolute, else base + '/' + path
// (no extra '/' when base is empty or ends in '/').
WRENN_DECL std::string posix_join(std::string_view base, std::string_view path);

// For clone with credentials: the clone URL (credentials embedded when both
// username and password are given, else `url`). usage_error "Username is
// required when using a password for git clone." for a password alone.
WRENN_DECL std::string clone_url(std::string_view url, std::string_view username, std::string_view password);

// For clone's "strip credentials" step: where the new repository is, i.e.
// `dest` or repo_dir_from_url(url), joined onto `cwd` when cwd is given.
// nullopt when no directory can be derived (the step is then skipped).
WRENN_DECL std::optional<std::string> clone_repo_dir(std::string_view url, std::string_view dest,
                                                     std::string_view cwd);

// ---- parsers (§14.6, §14.7); never throw ----

// `git status --porcelain=v1 --branch`, as the Python SDK reads it, except
// where that misreads real git output:
// * a branch merely containing "detached" or starting with "HEAD" (e.g.
//   "detached-work", "HEAD-fix") is a branch; detached means the header is
//   "HEAD" or starts with "HEAD (" (git prints "HEAD (no branch)");
// * "No commits yet on " / "Initial commit on " is removed before splitting
//   off the upstream ("## No commits yet on main...origin/main [gone]");
// * "HEAD (detached at X)" loses one closing ')', not all of them;
// * " -> " splits only R and C entries, and a C-quoted source is taken
//   whole ("R  \"x -> y\" -> \"z w\""); other entries keep it in the path;
// * a first line that is not a "## " header is a file entry (Python drops it).
// Paths stay exactly as git printed them (C-quoting kept). Bytes, not
// characters: X and Y are the first two bytes of a line.
WRENN_DECL git_status parse_status(std::string_view porcelain);

// `git branch --format=%(refname:short)<TAB>%(HEAD)`: per line, trimmed,
// empty lines skipped, name = text before the first tab, current when the
// second tab-separated field is "*".
WRENN_DECL std::vector<git_branch> parse_branches(std::string_view out);

// ---- argv builders (§14.3); each returns the full argv, "git" first ----

// git clone [--branch <b> --single-branch] [--depth <n>] <url> [<dest>]
// (`url` already carries credentials if wanted; see clone_url). depth >= 1.
WRENN_DECL std::vector<std::string> clone_argv(std::string_view url, std::string_view dest,
                                               std::string_view branch, std::optional<int> depth);
// git init [--initial-branch <b>] [--bare] <path>   (path defaults to ".")
WRENN_DECL std::vector<std::string> init_argv(std::string_view path, bool bare, std::string_view initial_branch);
// git add -A | git add . | git add -- <paths...>   (`all` ignored with paths)
WRENN_DECL std::vector<std::string> add_argv(const std::vector<std::string>& paths, bool all);
// git [-c user.name=<n>] [-c user.email=<e>] commit -m <message> [--allow-empty]
WRENN_DECL std::vector<std::string> commit_argv(std::string_view message, bool allow_empty,
                                                std::string_view author_name, std::string_view author_email);
// git push [--force] [--set-upstream] <remote> [<branch>]   (remote defaults to "origin")
WRENN_DECL std::vector<std::string> push_argv(std::string_view remote, std::string_view branch, bool force,
                                              bool set_upstream);
// git pull [--rebase] [--ff-only] <remote> [<branch>]   (remote defaults to "origin")
WRENN_DECL std::vector<std::string> pull_argv(std::string_view remote, std::string_view branch, bool rebase,
                                              bool ff_only);
// git status --porcelain=v1 --branch
WRENN_DECL std::vector<std::string> status_argv();
// git branch --format=%(refname:short)<TAB>%(HEAD)   (a literal tab)
WRENN_DECL std::vector<std::string> branches_argv();
// git checkout -b <name> [<start_point>]
WRENN_DECL std::vector<std::string> create_branch_argv(std::string_view name, std::string_view start_point);
// git checkout <name>
WRENN_DECL std::vector<std::string> checkout_branch_argv(std::string_view name);
// git branch -d|-D <name>
WRENN_DECL std::vector<std::string> delete_branch_argv(std::string_view name, bool force);
// git remote add [-f] <name> <url>
WRENN_DECL std::vector<std::string> remote_add_argv(std::string_view name, std::string_view url, bool fetch);
// git remote get-url <name>   (name defaults to "origin")
WRENN_DECL std::vector<std::string> remote_get_argv(std::string_view name);
// git remote set-url <name> <url>
WRENN_DECL std::vector<std::string> remote_set_url_argv(std::string_view name, std::string_view url);
// git reset [--<mode>] [<ref>] [-- <paths...>]
WRENN_DECL std::vector<std::string> reset_argv(std::optional<git_reset_mode> mode, std::string_view ref,
                                               const std::vector<std::string>& paths);
// git restore [--worktree] [--staged] [--source <src>] -- <paths...>
// (neither flag: --worktree). usage_error "At least one path is required."
WRENN_DECL std::vector<std::string> restore_argv(const std::vector<std::string>& paths, bool staged, bool worktree,
                                                 std::string_view source);
// git [-C <cwd>] config --local|--global|--system <key> <value>
// (-C only for the local scope with a cwd)
WRENN_DECL std::vector<std::string> set_config_argv(std::string_view key, std::string_view value,
                                                    git_config_scope scope, std::string_view cwd);
// git [-C <cwd>] config --local|--global|--system --get <key>
WRENN_DECL std::vector<std::string> get_config_argv(std::string_view key, git_config_scope scope,
                                                    std::string_view cwd);

// "local" / "global" / "system", trimmed and case-insensitive; else nullopt.
WRENN_DECL std::optional<git_config_scope> parse_config_scope(std::string_view s);
// The same, throwing usage_error "Git config scope must be one of: local,
// global, system." for anything else.
WRENN_DECL git_config_scope require_config_scope(std::string_view s);

// configure_user's check: usage_error "Both name and email are required."
// when either is empty.
WRENN_DECL void check_user_identity(std::string_view name, std::string_view email);

// dangerously_authenticate step 2, a raw shell string:
//   printf %s <quoted text> | git credential approve
// text = "protocol=<p>\nhost=<h>\nusername=<u>\npassword=<pw>\n\n", host and
// protocol trimmed, empty meaning "github.com" / "https".
// usage_error "Both username and password are required." when either is
// empty; "Credentials must not contain newline characters." for a newline in
// the username or password. A newline in the host or protocol (it would add
// fields to the credential) is refused too, with its own message.
WRENN_DECL std::string credential_approve_command(std::string_view username, std::string_view password,
                                                  std::string_view host, std::string_view protocol);

} // namespace wrenn::protocol::git

#ifdef WRENN_HEADER_ONLY
#include <wrenn/impl/git_protocol.ipp>
#include <wrenn/impl/git_argv.ipp>
#endif
