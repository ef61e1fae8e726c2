// The high-level capsule: create or connect, then lifecycle calls and
// `.commands`. A capsule is a handle: copies refer to the same capsule.
#pragma once

#include <wrenn/client.hpp>
#include <wrenn/commands.hpp>
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

// Options are views, consumed before create() returns (see env.hpp).
struct create_options {
    std::string_view template_name{};     // empty: the server's default template
    std::optional<int> vcpus{};           // server default 1
    std::optional<int> memory_mb{};       // server default 512
    std::optional<int> timeout_sec{};     // inactivity before auto-pause; 0 = never
    bool wait = false;                  // wait_ready() before returning
    wait_options wait_for{};
};
static_assert(std::is_trivially_destructible_v<create_options>, "options must stay views (see env.hpp)");

namespace detail {
struct capsule_info_slot;
}

class capsule {
public:
    // POST /v1/capsules (then wait_ready when opts.wait).
    static boost::asio::awaitable<capsule> create(const client& c, create_options opts = {});
    // Binds to an existing capsule; resumes it when it is paused.
    static boost::asio::awaitable<capsule> connect(const client& c, std::string capsule_id);
    // Capsules of the team that are not stopped or failed.
    static boost::asio::awaitable<std::vector<capsule_info>> list(const client& c);
    static boost::asio::awaitable<void> destroy(const client& c, std::string capsule_id);

    capsule(const client& c, std::string capsule_id, std::optional<capsule_info> info = std::nullopt);

    const std::string& id() const noexcept { return id_; }
    // The last capsule_info fetched (by create, connect, get_info, pause, resume),
    // shared by the copies of this capsule; a copy, as another thread may
    // fetch a newer one meanwhile.
    std::optional<capsule_info> info() const;
    const client& owner_client() const noexcept { return client_; }

    boost::asio::awaitable<capsule_info> get_info();
    boost::asio::awaitable<bool> is_running();
    // Polls until `running`; fails fast with capsule_state_error on error,
    // stopped or paused (resume() first), with timeout_error at the deadline.
    boost::asio::awaitable<void> wait_ready(wait_options opts = {});
    boost::asio::awaitable<capsule_info> pause();
    boost::asio::awaitable<capsule_info> resume();
    boost::asio::awaitable<void> ping();
    boost::asio::awaitable<void> destroy();
    boost::asio::awaitable<capsule_metrics> metrics(std::string range = {});
    boost::asio::awaitable<snapshot_result> create_snapshot(std::string name = {}, bool overwrite = false);

    // A new interactive terminal (pty.hpp); waits until it has started.
    boost::asio::awaitable<pty_session> pty(pty_options opts = {}) const;
    // Re-attaches to a terminal that kept running after its session closed.
    boost::asio::awaitable<pty_session> pty_connect(std::string tag) const;

    // `{ws|wss}://{port}-{id}.{proxy_domain}` for a port inside the capsule.
    std::string get_url(unsigned port) const;

    wrenn::commands commands;
    wrenn::files files;
    wrenn::git git;

private:
    boost::asio::awaitable<void> wait_ready_impl(wait_options opts);
    boost::asio::awaitable<snapshot_result> create_snapshot_impl(std::string name, bool overwrite);

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
