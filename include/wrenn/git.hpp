// capsule.git: git inside a capsule, the Python SDK's helper (WIRE.md §14).
// Every method builds a git command line (pure functions in
// protocol/git.hpp), runs it as a foreground command and checks the result:
// a non-zero exit raises git_auth_error (credentials refused) or
// git_command_error, both carrying git's stderr and exit code.
//
// Credentials given to clone/push/pull are put into the remote URL for that
// one operation and taken out again afterwards, also when it fails; they
// never appear in error text (redacted).
#pragma once

#include <wrenn/arg_list.hpp>
#include <wrenn/commands.hpp>
#include <wrenn/detail/config.hpp>
#include <wrenn/env.hpp>
#include <wrenn/git_types.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace wrenn {

// Every option struct below ends with the same three fields:
//   cwd      the repository's directory (empty: the user's home)
//   envs     added to git's environment (GIT_TERMINAL_PROMPT=0 is always set)
//   timeout  nullopt: the method's default (clone 300 s, push/pull 60 s, else 30 s)
// They are views, like every option struct (see env.hpp).
#define WRENN_GIT_COMMON_OPTIONS                          \
    std::string_view cwd{};                               \
    env_view envs{};                                      \
    std::optional<std::chrono::seconds> timeout{};

struct git_options {
    WRENN_GIT_COMMON_OPTIONS
};

struct git_clone_options {
    std::string_view branch{};          // clone this branch only (--branch --single-branch)
    std::optional<int> depth{};         // shallow clone
    std::string_view username{};        // with password: embedded in the URL for the clone only
    std::string_view password{};
    bool dangerously_store_credentials = false;  // keep them in .git/config
    WRENN_GIT_COMMON_OPTIONS
};

struct git_init_options {
    bool bare = false;
    std::string_view initial_branch{};
    WRENN_GIT_COMMON_OPTIONS
};

struct git_add_options {
    arg_list paths{};  // empty: everything (`git add .`, or `-A` with all)
    bool all = false;
    WRENN_GIT_COMMON_OPTIONS
};

struct git_commit_options {
    bool allow_empty = false;
    std::string_view author_name{};
    std::string_view author_email{};
    WRENN_GIT_COMMON_OPTIONS
};

struct git_push_options {
    std::string_view remote = "origin";
    std::string_view branch{};
    bool force = false;
    bool set_upstream = false;
    std::string_view username{};  // with password: used for this push only
    std::string_view password{};
    WRENN_GIT_COMMON_OPTIONS
};

struct git_pull_options {
    std::string_view remote = "origin";
    std::string_view branch{};
    bool rebase = false;
    bool ff_only = false;
    std::string_view username{};
    std::string_view password{};
    WRENN_GIT_COMMON_OPTIONS
};

struct git_create_branch_options {
    std::string_view start_point{};
    WRENN_GIT_COMMON_OPTIONS
};

struct git_delete_branch_options {
    bool force = false;  // -D instead of -d
    WRENN_GIT_COMMON_OPTIONS
};

struct git_remote_add_options {
    bool fetch = false;
    WRENN_GIT_COMMON_OPTIONS
};

struct git_reset_options {
    std::optional<git_reset_mode> mode{};
    std::string_view ref{};
    arg_list paths{};
    WRENN_GIT_COMMON_OPTIONS
};

struct git_restore_options {
    bool staged = false;
    bool worktree = false;  // neither: the work tree
    std::string_view source{};
    WRENN_GIT_COMMON_OPTIONS
};

struct git_config_options {
    std::optional<git_config_scope> scope{};  // nullopt: local (configure_user: global)
    WRENN_GIT_COMMON_OPTIONS
};

struct git_authenticate_options {
    std::string_view host = "github.com";
    std::string_view protocol = "https";
    WRENN_GIT_COMMON_OPTIONS
};

#undef WRENN_GIT_COMMON_OPTIONS

static_assert(std::is_trivially_destructible_v<git_clone_options> &&
                  std::is_trivially_destructible_v<git_push_options> &&
                  std::is_trivially_destructible_v<git_reset_options>,
              "options must stay views (see env.hpp)");

class git {
public:
    explicit git(wrenn::commands c) : c_(std::move(c)) {}
    boost::asio::any_io_executor get_executor() const { return c_.get_executor(); }

    boost::asio::awaitable<command_result> clone(std::string url, std::string dest = {},
                                                 git_clone_options opts = {}) const;
    template <class CompletionToken>
    auto clone(std::string url, std::string dest, git_clone_options opts, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), clone(std::move(url), std::move(dest), std::move(opts)),
                                     std::forward<CompletionToken>(token));
    }
    boost::asio::awaitable<command_result> init(std::string path = ".", git_init_options opts = {}) const;
    template <class CompletionToken>
    auto init(std::string path, git_init_options opts, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), init(std::move(path), std::move(opts)),
                                     std::forward<CompletionToken>(token));
    }
    boost::asio::awaitable<command_result> add(git_add_options opts = {}) const;
    template <class CompletionToken>
    auto add(git_add_options opts, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), add(std::move(opts)),
                                     std::forward<CompletionToken>(token));
    }
    boost::asio::awaitable<command_result> commit(std::string message, git_commit_options opts = {}) const;
    template <class CompletionToken>
    auto commit(std::string message, git_commit_options opts, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), commit(std::move(message), std::move(opts)),
                                     std::forward<CompletionToken>(token));
    }
    boost::asio::awaitable<command_result> push(git_push_options opts = {}) const;
    template <class CompletionToken>
    auto push(git_push_options opts, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), push(std::move(opts)),
                                     std::forward<CompletionToken>(token));
    }
    boost::asio::awaitable<command_result> pull(git_pull_options opts = {}) const;
    template <class CompletionToken>
    auto pull(git_pull_options opts, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), pull(std::move(opts)),
                                     std::forward<CompletionToken>(token));
    }
    boost::asio::awaitable<git_status> status(git_options opts = {}) const;
    template <class CompletionToken>
    auto status(git_options opts, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), status(std::move(opts)),
                                     std::forward<CompletionToken>(token));
    }
    boost::asio::awaitable<std::vector<git_branch>> branches(git_options opts = {}) const;
    template <class CompletionToken>
    auto branches(git_options opts, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), branches(std::move(opts)),
                                     std::forward<CompletionToken>(token));
    }
    boost::asio::awaitable<command_result> create_branch(std::string name, git_create_branch_options opts = {}) const;
    template <class CompletionToken>
    auto create_branch(std::string name, git_create_branch_options opts, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), create_branch(std::move(name), std::move(opts)),
                                     std::forward<CompletionToken>(token));
    }
    boost::asio::awaitable<command_result> checkout_branch(std::string name, git_options opts = {}) const;
    template <class CompletionToken>
    auto checkout_branch(std::string name, git_options opts, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), checkout_branch(std::move(name), std::move(opts)),
                                     std::forward<CompletionToken>(token));
    }
    boost::asio::awaitable<command_result> delete_branch(std::string name, git_delete_branch_options opts = {}) const;
    template <class CompletionToken>
    auto delete_branch(std::string name, git_delete_branch_options opts, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), delete_branch(std::move(name), std::move(opts)),
                                     std::forward<CompletionToken>(token));
    }
    boost::asio::awaitable<command_result> remote_add(std::string name, std::string url,
                                                      git_remote_add_options opts = {}) const;
    template <class CompletionToken>
    auto remote_add(std::string name, std::string url, git_remote_add_options opts, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), remote_add(std::move(name), std::move(url), std::move(opts)),
                                     std::forward<CompletionToken>(token));
    }
    // The remote's URL; nullopt when the remote is not set (never raises git errors).
    boost::asio::awaitable<std::optional<std::string>> remote_get(std::string name = "origin",
                                                                  git_options opts = {}) const;
    template <class CompletionToken>
    auto remote_get(std::string name, git_options opts, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), remote_get(std::move(name), std::move(opts)),
                                     std::forward<CompletionToken>(token));
    }
    boost::asio::awaitable<command_result> reset(git_reset_options opts = {}) const;
    template <class CompletionToken>
    auto reset(git_reset_options opts, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), reset(std::move(opts)),
                                     std::forward<CompletionToken>(token));
    }
    boost::asio::awaitable<command_result> restore(arg_list paths, git_restore_options opts = {}) const;
    template <class CompletionToken>
    auto restore(arg_list paths, git_restore_options opts, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), restore(std::move(paths), std::move(opts)),
                                     std::forward<CompletionToken>(token));
    }
    boost::asio::awaitable<command_result> set_config(std::string key, std::string value,
                                                      git_config_options opts = {}) const;
    template <class CompletionToken>
    auto set_config(std::string key, std::string value, git_config_options opts, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), set_config(std::move(key), std::move(value), std::move(opts)),
                                     std::forward<CompletionToken>(token));
    }
    // The value; nullopt when the key is not set (never raises git errors).
    boost::asio::awaitable<std::optional<std::string>> get_config(std::string key, git_config_options opts = {}) const;
    template <class CompletionToken>
    auto get_config(std::string key, git_config_options opts, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), get_config(std::move(key), std::move(opts)),
                                     std::forward<CompletionToken>(token));
    }
    // user.name and user.email (global scope unless opts.scope says otherwise).
    boost::asio::awaitable<void> configure_user(std::string name, std::string email,
                                                git_config_options opts = {}) const;
    template <class CompletionToken>
    auto configure_user(std::string name, std::string email, git_config_options opts, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), configure_user(std::move(name), std::move(email), std::move(opts)),
                                     std::forward<CompletionToken>(token));
    }
    // Stores the credentials in git's credential store for `host` (global
    // credential.helper=store): every later git command may use them.
    boost::asio::awaitable<void> dangerously_authenticate(std::string username, std::string password,
                                                          git_authenticate_options opts = {}) const;
    template <class CompletionToken>
    auto dangerously_authenticate(std::string username, std::string password, git_authenticate_options opts, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), dangerously_authenticate(std::move(username), std::move(password), std::move(opts)),
                                     std::forward<CompletionToken>(token));
    }

private:
    wrenn::commands c_;
};

} // namespace wrenn

#ifdef WRENN_HEADER_ONLY
#include <wrenn/impl/git.ipp>
#endif
