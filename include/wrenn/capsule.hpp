// The high-level capsule: create or connect, then lifecycle calls and
// `.commands`. A capsule is a handle: copies refer to the same capsule.
#pragma once

#include <wrenn/client.hpp>
#include <wrenn/commands.hpp>
#include <wrenn/completion.hpp>
#include <wrenn/files.hpp>
#include <wrenn/git.hpp>
#include <wrenn/detail/config.hpp>
#include <wrenn/models.hpp>
#include <wrenn/pty.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string_view>
#include <type_traits>
#include <optional>
#include <string>
#include <vector>

namespace wrenn {

struct wait_options {
    std::chrono::milliseconds timeout = std::chrono::seconds(30);
    std::chrono::milliseconds interval = std::chrono::milliseconds(500);
};

// pause(), resume() and destroy(). A server of API 0.4.0 answers them at
// once, with the capsule `pausing`, `resuming` or `stopping`, and finishes
// in the background; older servers answer when they are done. With `wait`
// (the default) the call returns once the capsule is `paused`, `running` or
// gone on either server, so the next call finds it so; without it, at the
// server's answer.
struct action_options {
    bool wait = true;
    wait_options wait_for{};
};

// create_snapshot(). `overwrite` is sent as ?overwrite=true; servers ignore it.
struct snapshot_options {
    bool overwrite = false;
    bool wait = true;  // until the template is in the list, launchable
    wait_options wait_for{.timeout = std::chrono::minutes(10), .interval = std::chrono::seconds(1)};
};

// Options are views, consumed before create() returns (see env.hpp).
struct create_options {
    std::string_view template_name{};     // empty: the server's default; API 0.4.0: also <team-slug>/<name>
    std::optional<int> vcpus{};           // server default (1; 2 on API 0.4.0)
    std::optional<int> memory_mb{};       // server default (512; 2048 on API 0.4.0)
    std::optional<int> timeout_sec{};     // inactivity before auto-pause; 0 = never (API 0.4.0: 1-59 become 60)
    // API 0.4.0: labels kept with the capsule (info().metadata), at most 20;
    // keys ^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$, values up to 64 characters.
    // Older servers ignore them.
    env_view metadata{};
    arg_list volume_ids{};                // API 0.4.0: volumes to attach (ids or names), at most 4
    // wait_ready() before returning. A capsule the server answers `starting`
    // (API 0.4.0 creates in the background) is waited for in any case, with
    // wait_for: it takes no command before it runs.
    bool wait = false;
    wait_options wait_for{};
};
static_assert(std::is_trivially_destructible_v<create_options>, "options must stay views (see env.hpp)");

class capsule;
namespace detail {
struct capsule_info_slot;
inline boost::asio::awaitable<capsule> connect_capsule(client c, std::string capsule_id);
}

class capsule {
public:
    // POST /v1/capsules (then wait_ready when opts.wait).
    static boost::asio::awaitable<capsule> create(const client& c, create_options opts = {});
    template <class CompletionToken>
    static auto create(const client& c, create_options opts, CompletionToken&& token) {
        return detail::complete_with(c.get_executor(), create(c, std::move(opts)),
                                     std::forward<CompletionToken>(token));
    }
    // Binds to an existing capsule; resumes it when it is paused.
    static boost::asio::awaitable<capsule> connect(const client& c, std::string capsule_id);
    template <class CompletionToken>
    static auto connect(const client& c, std::string capsule_id, CompletionToken&& token) {
        return detail::complete_with(c.get_executor(), connect(c, std::move(capsule_id)),
                                     std::forward<CompletionToken>(token));
    }
    // Capsules of the team that are not stopped or failed.
    static boost::asio::awaitable<std::vector<capsule_info>> list(const client& c);
    template <class CompletionToken>
    static auto list(const client& c, CompletionToken&& token) {
        return detail::complete_with(c.get_executor(), list(c),
                                     std::forward<CompletionToken>(token));
    }
    static boost::asio::awaitable<void> destroy(const client& c, std::string capsule_id);
    template <class CompletionToken>
    static auto destroy(const client& c, std::string capsule_id, CompletionToken&& token) {
        return detail::complete_with(c.get_executor(), destroy(c, std::move(capsule_id)),
                                     std::forward<CompletionToken>(token));
    }

    capsule(const client& c, std::string capsule_id, std::optional<capsule_info> info = std::nullopt);
    // An empty capsule, a place for one to be assigned to (what an operation
    // completing with an error gives beside its exception_ptr). It has no
    // operations.
    capsule() : commands(nullptr, {}), files(nullptr, {}), git(commands) {}

    const std::string& id() const noexcept { return id_; }
    // The last capsule_info fetched (by create, connect, get_info, pause, resume),
    // shared by the copies of this capsule; a copy, as another thread may
    // fetch a newer one meanwhile.
    std::optional<capsule_info> info() const;
    const client& owner_client() const noexcept { return client_; }
    // Where its operations run: the client's executor.
    boost::asio::any_io_executor get_executor() const { return client_.get_executor(); }

    boost::asio::awaitable<capsule_info> get_info();
    template <class CompletionToken>
    auto get_info(CompletionToken&& token) {
        return detail::complete_with(get_executor(), get_info(),
                                     std::forward<CompletionToken>(token));
    }
    boost::asio::awaitable<bool> is_running();
    template <class CompletionToken>
    auto is_running(CompletionToken&& token) {
        return detail::complete_with(get_executor(), is_running(),
                                     std::forward<CompletionToken>(token));
    }
    // Polls until `running`; fails fast with capsule_state_error on error,
    // stopped or paused (resume() first), with timeout_error at the deadline.
    boost::asio::awaitable<void> wait_ready(wait_options opts = {});
    template <class CompletionToken>
    auto wait_ready(wait_options opts, CompletionToken&& token) {
        return detail::complete_with(get_executor(), wait_ready(std::move(opts)),
                                     std::forward<CompletionToken>(token));
    }
    boost::asio::awaitable<capsule_info> pause(action_options opts = {});
    template <class CompletionToken>
    auto pause(CompletionToken&& token) {
        return detail::complete_with(get_executor(), pause(),
                                     std::forward<CompletionToken>(token));
    }
    template <class CompletionToken>
    auto pause(action_options opts, CompletionToken&& token) {
        return detail::complete_with(get_executor(), pause(opts),
                                     std::forward<CompletionToken>(token));
    }
    boost::asio::awaitable<capsule_info> resume(action_options opts = {});
    template <class CompletionToken>
    auto resume(CompletionToken&& token) {
        return detail::complete_with(get_executor(), resume(),
                                     std::forward<CompletionToken>(token));
    }
    template <class CompletionToken>
    auto resume(action_options opts, CompletionToken&& token) {
        return detail::complete_with(get_executor(), resume(opts),
                                     std::forward<CompletionToken>(token));
    }
    boost::asio::awaitable<void> ping();
    template <class CompletionToken>
    auto ping(CompletionToken&& token) {
        return detail::complete_with(get_executor(), ping(),
                                     std::forward<CompletionToken>(token));
    }
    boost::asio::awaitable<void> destroy(action_options opts = {});
    template <class CompletionToken>
    auto destroy(CompletionToken&& token) {
        return detail::complete_with(get_executor(), destroy(),
                                     std::forward<CompletionToken>(token));
    }
    template <class CompletionToken>
    auto destroy(action_options opts, CompletionToken&& token) {
        return detail::complete_with(get_executor(), destroy(opts),
                                     std::forward<CompletionToken>(token));
    }
    boost::asio::awaitable<capsule_metrics> metrics(std::string range = {});
    template <class CompletionToken>
    auto metrics(std::string range, CompletionToken&& token) {
        return detail::complete_with(get_executor(), metrics(std::move(range)),
                                     std::forward<CompletionToken>(token));
    }
    // A template of this capsule, named `name` (empty: a template-<8 hex>
    // name chosen here, so that it can be found). Waits by default until the
    // template can be launched: servers since v0.2.0 answer before it exists.
    boost::asio::awaitable<snapshot_result> create_snapshot(std::string name = {}, bool overwrite = false);
    template <class CompletionToken>
    auto create_snapshot(std::string name, bool overwrite, CompletionToken&& token) {
        return detail::complete_with(get_executor(), create_snapshot(std::move(name), overwrite),
                                     std::forward<CompletionToken>(token));
    }
    boost::asio::awaitable<snapshot_result> create_snapshot(std::string name, snapshot_options opts);
    template <class CompletionToken>
    auto create_snapshot(std::string name, snapshot_options opts, CompletionToken&& token) {
        return detail::complete_with(get_executor(), create_snapshot(std::move(name), opts),
                                     std::forward<CompletionToken>(token));
    }

    // A new interactive terminal (pty.hpp); waits until it has started.
    boost::asio::awaitable<pty_session> pty(pty_options opts = {}) const;
    template <class CompletionToken>
    auto pty(pty_options opts, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), pty(std::move(opts)),
                                     std::forward<CompletionToken>(token));
    }
    // Re-attaches to a terminal that kept running after its session closed.
    boost::asio::awaitable<pty_session> pty_connect(std::string tag) const;
    template <class CompletionToken>
    auto pty_connect(std::string tag, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), pty_connect(std::move(tag)),
                                     std::forward<CompletionToken>(token));
    }

    // `{ws|wss}://{port}-{id}.{proxy_domain}` for a port inside the capsule.
    std::string get_url(unsigned port) const;

    wrenn::commands commands;
    wrenn::files files;
    wrenn::git git;

private:
    boost::asio::awaitable<void> wait_ready_impl(wait_options opts);
    boost::asio::awaitable<capsule_info> act(std::string_view action, action_options opts);
    // Looks again until the capsule is `want`, from `i`; `action` names what was asked.
    boost::asio::awaitable<capsule_info> settle(capsule_info i, capsule_state want, std::string_view action,
                                                wait_options w);
    friend boost::asio::awaitable<capsule> detail::connect_capsule(client c, std::string capsule_id);
    boost::asio::awaitable<void> destroy_impl(action_options opts);
    boost::asio::awaitable<snapshot_result> create_snapshot_impl(std::string name, snapshot_options opts);

    client client_;
    std::string id_{};
    std::shared_ptr<detail::capsule_info_slot> info_;
    void remember(const capsule_info& i);
};

// The scoped form (Python's `with`): creates a capsule, runs `body` with it
// and destroys it afterwards, also when `body` throws.
template <class F>
auto with_capsule(const client& c, create_options opts, F body)
    -> decltype(body(std::declval<capsule&>()));

} // namespace wrenn

#include <wrenn/impl/with_capsule.hpp>

#ifdef WRENN_HEADER_ONLY
#include <wrenn/impl/capsule.ipp>
#endif
