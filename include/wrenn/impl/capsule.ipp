#pragma once

#include <wrenn/capsule.hpp>
#include <wrenn/impl/client_impl.hpp>
#include <wrenn/error.hpp>
#include <wrenn/protocol/capsule_rules.hpp>
#include <wrenn/protocol/stream_messages.hpp>
#include <wrenn/protocol/url.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdio>
#include <mutex>
#include <random>

namespace wrenn {

namespace asio = boost::asio;

namespace detail {
struct capsule_info_slot {
    std::mutex mu;
    std::optional<capsule_info> info;
};
} // namespace detail

WRENN_DECL capsule::capsule(const client& c, std::string capsule_id, std::optional<capsule_info> info)
    : commands(detail::client_access::impl(c), capsule_id), files(detail::client_access::impl(c), capsule_id),
      git(commands), client_(c),
      id_(std::move(capsule_id)), info_(std::make_shared<detail::capsule_info_slot>()) {
    info_->info = std::move(info);
}

WRENN_DECL std::optional<capsule_info> capsule::info() const {
    if (!info_) return std::nullopt;  // an empty capsule
    std::lock_guard lock(info_->mu);
    return info_->info;
}

WRENN_DECL void capsule::remember(const capsule_info& i) {
    std::lock_guard lock(info_->mu);
    info_->info = i;
}

// Public entry points that take options are plain functions: they copy what
// the option views point to (see env.hpp) into owned values, then hand those
// to a coroutine in detail::. The awaitable never refers to the caller's data.
namespace detail {

inline unsigned status_of(http_response& answer, std::string_view) { return answer.status; }

// template-<8 hex>, as servers name a snapshot they are given no name for.
inline std::string new_template_name() {
    static thread_local std::mt19937_64 gen{std::random_device{}()};
    char buf[32];
    std::snprintf(buf, sizeof buf, "template-%08x", static_cast<unsigned>(gen() & 0xffffffffu));
    return buf;
}

inline bool transient(capsule_state s) {
    return s == capsule_state::pending || s == capsule_state::starting || s == capsule_state::pausing ||
           s == capsule_state::resuming || s == capsule_state::stopping || s == capsule_state::snapshotting;
}

inline asio::awaitable<capsule> create_capsule(client c, create_capsule_request req, bool wait, wait_options wait_for) {
    if (auto why = protocol::metadata_problem(req.metadata))
        throw usage_error("invalid_argument", "capsule::create: metadata refused: " + *why);
    if (req.volume_ids.size() > protocol::max_capsule_volumes)
        throw usage_error("invalid_argument", "capsule::create: at most " +
                                                  std::to_string(protocol::max_capsule_volumes) + " volumes, not " +
                                                  std::to_string(req.volume_ids.size()));
    auto info = co_await c.capsules().create(std::move(req));
    capsule cap(c, info.id, info);
    // API 0.4.0 answers `starting` and boots in the background
    if (wait || transient(info.status.state)) co_await cap.wait_ready(wait_for);
    co_return cap;
}

inline asio::awaitable<capsule> connect_capsule(client c, std::string capsule_id) {
    auto info = co_await c.capsules().get(capsule_id);
    capsule cap(c, std::move(capsule_id), info);
    // a capsule on its way to paused is resumed once there (API 0.4.0)
    if (info.status == capsule_state::pausing) info = co_await cap.settle(info, capsule_state::paused, "pause", {});
    if (info.status == capsule_state::paused) co_await cap.resume();
    else if (transient(info.status.state)) co_await cap.wait_ready();
    co_return cap;
}

WRENN_DECL asio::awaitable<void> with_capsule_block(asio::awaitable<capsule> creating, scoped_block<capsule> body) {
    return with_capsule_impl(std::move(creating), std::move(body));
}

} // namespace detail

WRENN_DECL asio::awaitable<capsule> capsule::create(const client& c, create_options opts) {
    create_capsule_request req;
    if (!opts.template_name.empty()) req.template_name = std::string(opts.template_name);
    req.vcpus = opts.vcpus;
    req.memory_mb = opts.memory_mb;
    req.timeout_sec = opts.timeout_sec;
    req.metadata = opts.metadata.to_map();
    req.volume_ids = opts.volume_ids.to_vector();
    return detail::create_capsule(c, std::move(req), opts.wait, opts.wait_for);
}

WRENN_DECL asio::awaitable<capsule> capsule::connect(const client& c, std::string capsule_id) {
    return detail::connect_capsule(c, std::move(capsule_id));
}

WRENN_DECL asio::awaitable<std::vector<capsule_info>> capsule::list(const client& c) {
    return c.capsules().list();
}

WRENN_DECL asio::awaitable<void> capsule::destroy(const client& c, std::string capsule_id) {
    return c.capsules().destroy(std::move(capsule_id));
}

WRENN_DECL asio::awaitable<capsule_info> capsule::get_info() {
    auto i = co_await client_.capsules().get(id_);
    remember(i);
    co_return i;
}

WRENN_DECL asio::awaitable<bool> capsule::is_running() {
    auto i = co_await get_info();
    co_return i.status == capsule_state::running;
}

WRENN_DECL asio::awaitable<void> capsule::wait_ready(wait_options opts) { return wait_ready_impl(opts); }

WRENN_DECL asio::awaitable<void> capsule::wait_ready_impl(wait_options opts) {
    auto deadline = std::chrono::steady_clock::now() + opts.timeout;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (;;) {
        auto i = co_await get_info();
        switch (i.status.state) {
        case capsule_state::running: co_return;
        case capsule_state::error:
        case capsule_state::stopped:
            throw capsule_state_error("capsule_not_startable",
                                      "Capsule " + id_ + " is '" + i.status.raw +
                                          "' and will not become running; create a new capsule");
        case capsule_state::paused:
            // Paused capsules only run again when asked: say so instead of polling forever.
            throw capsule_state_error("capsule_paused", "Capsule " + id_ +
                                                            " is 'paused'; call resume() (or capsule::connect) first");
        default: break;  // pending, starting, resuming, unknown: keep polling
        }
        auto now = std::chrono::steady_clock::now();
        if (now >= deadline)
            throw timeout_error("wait_ready_timeout",
                                "Capsule " + id_ + " was still '" + i.status.raw + "' after " +
                                    std::to_string(opts.timeout.count()) + " ms; raise wait_options.timeout");
        timer.expires_at(std::min(deadline, now + opts.interval));
        co_await timer.async_wait(asio::use_awaitable);
    }
}

WRENN_DECL asio::awaitable<void> capsule::ping() { return client_.capsules().ping(id_); }

WRENN_DECL asio::awaitable<void> capsule::destroy(action_options opts) { return destroy_impl(opts); }

WRENN_DECL asio::awaitable<capsule_info> capsule::pause(action_options opts) { return act("pause", opts); }

WRENN_DECL asio::awaitable<capsule_info> capsule::resume(action_options opts) { return act("resume", opts); }

namespace detail {
// Looking again at something on its way (a capsule pausing, a template
// being written): after 50 ms, doubling up to w.interval, until w.timeout.
class looker {
public:
    looker(asio::any_io_executor ex, const wait_options& w)
        : deadline_(std::chrono::steady_clock::now() + w.timeout), interval_(w.interval), timer_(std::move(ex)) {}
    bool expired() const { return std::chrono::steady_clock::now() >= deadline_; }
    asio::awaitable<void> pause() {
        timer_.expires_after(std::min(step_, interval_));
        step_ *= 2;
        co_await timer_.async_wait(asio::use_awaitable);
    }

private:
    std::chrono::steady_clock::time_point deadline_;
    std::chrono::milliseconds interval_, step_{50};
    asio::steady_timer timer_;
};
} // namespace detail

WRENN_DECL asio::awaitable<capsule_info> capsule::act(std::string_view action, action_options opts) {
    capsule_info i;
    if (action == "pause") i = co_await client_.capsules().pause(id_);
    else i = co_await client_.capsules().resume(id_);
    remember(i);
    if (!opts.wait) co_return i;
    co_return co_await settle(std::move(i), action == "pause" ? capsule_state::paused : capsule_state::running,
                              action, opts.wait_for);
}

WRENN_DECL asio::awaitable<capsule_info> capsule::settle(capsule_info i, capsule_state want, std::string_view action,
                                                         wait_options w) {
    detail::looker look(co_await asio::this_coro::executor, w);
    while (i.status.state != want) {
        if (!detail::transient(i.status.state))
            throw capsule_state_error(std::string(action) + "_failed",
                                      "Capsule " + id_ + " is '" + i.status.raw + "' after " + std::string(action) +
                                          "(): the server could not " + std::string(action) + " it");
        if (look.expired())
            throw timeout_error("wait_timeout", "Capsule " + id_ + " was still '" + i.status.raw + "' " +
                                                    std::to_string(w.timeout.count()) + " ms after " +
                                                    std::string(action) + "(); raise its wait_for.timeout");
        co_await look.pause();
        i = co_await get_info();
    }
    co_return i;
}

WRENN_DECL asio::awaitable<void> capsule::destroy_impl(action_options opts) {
    // 204: done (older servers); 202: under way (API 0.4.0)
    detail::http_request req;
    req.method = detail::http_method::del;
    req.target = detail::client_impl::capsule_path(id_);
    req.idempotent = true;
    auto status = co_await detail::rest_call<unsigned>(detail::client_access::impl(client_), std::move(req),
                                                        detail::status_of);
    if (!opts.wait || status != 202) co_return;
    detail::looker look(co_await asio::this_coro::executor, opts.wait_for);
    for (;;) {
        // gone: 404, or `stopped`/`error` (API 0.4.0 keeps the row a while)
        std::optional<capsule_info> i;
        try {
            i = co_await get_info();
        } catch (const not_found_error&) {
        }
        if (!i || i->status.state == capsule_state::stopped || i->status.state == capsule_state::error) co_return;
        if (look.expired())
            throw timeout_error("wait_timeout", "Capsule " + id_ + " was still '" + i->status.raw + "' " +
                                                    std::to_string(opts.wait_for.timeout.count()) +
                                                    " ms after destroy(); raise action_options.wait_for.timeout");
        co_await look.pause();
    }
}

WRENN_DECL asio::awaitable<capsule_metrics> capsule::metrics(std::string range) {
    return client_.capsules().metrics(id_, std::move(range));
}

WRENN_DECL asio::awaitable<snapshot_result> capsule::create_snapshot(std::string name, bool overwrite) {
    return create_snapshot_impl(std::move(name), snapshot_options{.overwrite = overwrite});
}

WRENN_DECL asio::awaitable<snapshot_result> capsule::create_snapshot(std::string name, snapshot_options opts) {
    return create_snapshot_impl(std::move(name), opts);
}

WRENN_DECL asio::awaitable<snapshot_result> capsule::create_snapshot_impl(std::string name, snapshot_options opts) {
    if (name.empty()) name = detail::new_template_name();
    auto r = co_await client_.snapshots().create(id_, name, opts.overwrite);
    if (r.capsule) remember(*r.capsule);
    if (!opts.wait || r.snapshot) co_return r;  // 201: the template is there
    // 202: the template appears once the snapshot is taken
    detail::looker look(co_await asio::this_coro::executor, opts.wait_for);
    for (;;) {
        // (the request named first: g++ 12 destroys a temporary of the
        // co_await expression twice, see the README's compiler notes)
        template_page_request query{.type = {}, .search = name, .page = 1, .per_page = 200};
        auto page = co_await client_.snapshots().list_page(query);
        for (auto& t : page.templates)
            if (t.name == name) {
                r.snapshot = std::move(t);
                co_return r;
            }
        if (look.expired())
            throw timeout_error("wait_timeout", "Template " + name + " of capsule " + id_ + " was not there " +
                                                    std::to_string(opts.wait_for.timeout.count()) +
                                                    " ms after create_snapshot(); raise snapshot_options.wait_for.timeout");
        co_await look.pause();
    }
}

WRENN_DECL std::string capsule::get_url(unsigned port) const {
    const auto& impl = *detail::client_access::impl(client_);
    return protocol::capsule_proxy_url(impl.base, impl.cfg.proxy_domain, id_, port);
}

WRENN_DECL asio::awaitable<pty_session> capsule::pty(pty_options opts) const {
    protocol::pty_start start;
    if (!opts.cmd.empty()) start.cmd = std::string(opts.cmd);
    start.args = opts.args.to_vector();
    start.cols = opts.cols;
    start.rows = opts.rows;
    start.envs = opts.envs.to_map();
    start.cwd = std::string(opts.cwd);
    return detail::open_pty(detail::client_access::impl(client_), id_, protocol::pty_start_message(start));
}

WRENN_DECL asio::awaitable<pty_session> capsule::pty_connect(std::string tag) const {
    if (tag.empty()) throw usage_error("invalid_tag", "capsule.pty_connect: the tag is empty; pass pty_session::tag()");
    return detail::connect_pty(detail::client_access::impl(client_), id_, std::move(tag));
}

} // namespace wrenn
