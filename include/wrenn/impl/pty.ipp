#pragma once

#include <wrenn/client.hpp>
#include <wrenn/impl/client_impl.hpp>
#include <wrenn/impl/atomic_exit_code.hpp>
#include <wrenn/detail/websocket.hpp>
#include <wrenn/error.hpp>
#include <wrenn/protocol/stream_messages.hpp>
#include <wrenn/pty.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/system_executor.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <atomic>
#include <deque>

namespace wrenn {

namespace detail {

// Once the session is open, `pending` is touched on the connection's strand
// only (next() and close() run there); what the accessors and write() read
// is atomic, so that they may be called from any thread.
struct pty_state {
    std::shared_ptr<ws_connection> conn;
    std::string operation;
    std::string tag;
    int pid = 0;
    std::deque<pty_event> pending;
    std::atomic<bool> finished = false;
    std::atomic<bool> drained = false;  // finished and nothing pending: done()
    atomic_exit_code exit_code;

    void finish() {
        finished = true;
        drained = pending.empty();
        ws_close(conn);
    }
};

inline pty_state& live_pty(const std::shared_ptr<pty_state>& s, const char* what) {
    if (!s) throw usage_error("empty_pty", std::string("pty_session::") + what + " on an empty (moved-from) session");
    if (s->finished)
        throw usage_error("pty_closed", s->operation + ": " + what +
                                            " after the session ended (exit, fatal error or close); "
                                            "use capsule.pty_connect(tag) to attach again");
    return *s;
}

// On the connection's strand.
inline boost::asio::awaitable<std::optional<pty_event>> next_pty_event(std::shared_ptr<pty_state> s) {
    for (;;) {
        if (!s->pending.empty()) {
            auto ev = std::move(s->pending.front());
            s->pending.pop_front();
            s->drained = s->finished && s->pending.empty();
            co_return ev;
        }
        if (s->finished) co_return std::nullopt;
        std::optional<std::string> msg;
        try {
            msg = co_await ws_receive(s->conn);
        } catch (const boost::system::system_error& e) {
            if (e.code() != boost::asio::error::operation_aborted) s->finish();
            throw;  // cancelled: the session stays usable
        } catch (const usage_error&) {
            throw;  // another next() is waiting: that one goes on
        } catch (...) {
            s->finish();
            throw;
        }
        if (!msg) {
            s->finish();
            throw protocol_error("stream_ended", s->operation +
                                                     ": the connection closed before the terminal's exit was reported "
                                                     "(the terminal may still be running: pty_connect(\"" +
                                                     s->tag + "\") attaches again)");
        }
        std::optional<pty_event> ev;
        try {
            ev = protocol::parse_pty_message(*msg);
        } catch (...) {
            s->finish();
            throw;
        }
        if (!ev) continue;  // keepalive ping
        if (ev->is_exit()) s->exit_code = ev->exit_code;
        if (ev->is_final()) s->finish();  // after exit the server leaves the socket to us
        co_return ev;
    }
}

inline boost::asio::awaitable<void> send_pty(std::shared_ptr<pty_state> s, std::string message) {
    co_await ws_send(s->conn, std::move(message));
}

WRENN_DECL boost::asio::awaitable<pty_session> open_pty(std::shared_ptr<client_impl> c, std::string capsule_id,
                                                       std::string start_message) {
    std::string operation = "capsule.pty(" + capsule_id + ")";
    auto conn = co_await open_websocket(c->transport, c->path(client_impl::capsule_path(capsule_id, "/pty")), operation);
    auto s = std::make_shared<pty_state>();
    s->conn = conn;
    s->operation = operation;
    std::exception_ptr failure;
    try {
        co_await ws_send(conn, start_message);
        for (;;) {
            auto msg = co_await ws_receive(conn);
            if (!msg)
                throw agent_error("agent_error", operation +
                                                     ": the server closed the connection without starting the "
                                                     "terminal (a missing program or working directory?)");
            auto ev = protocol::parse_pty_message(*msg);
            if (!ev) continue;
            if (ev->is_error() && ev->fatal) std::rethrow_exception(protocol::make_stream_error(ev->data, operation));
            if (ev->is_started()) {
                s->tag = ev->tag;
                s->pid = ev->pid;
                s->operation = "pty " + s->tag + " in " + capsule_id;
            }
            bool started = ev->is_started();
            s->pending.push_back(std::move(*ev));
            if (started) break;
        }
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure) {
        ws_close(conn);
        std::rethrow_exception(failure);
    }
    co_return pty_session(std::move(s));
}

WRENN_DECL boost::asio::awaitable<pty_session> connect_pty(std::shared_ptr<client_impl> c, std::string capsule_id,
                                                          std::string tag) {
    std::string operation = "capsule.pty_connect(\"" + tag + "\")";
    // The server answers a connect to an unknown tag with silence (WIRE.md
    // §11.2), so look the terminal up first.
    auto procs = co_await capsules_api(c).processes(capsule_id);
    int pid = 0;
    bool found = false;
    for (auto& p : procs)
        if (p.tag && *p.tag == tag) {
            pid = p.pid;
            found = true;
        }
    if (!found)
        throw not_found_error("not_found", operation + ": capsule " + capsule_id +
                                               " runs no terminal with this tag (it exited or was killed)");
    auto conn = co_await open_websocket(c->transport, c->path(client_impl::capsule_path(capsule_id, "/pty")), operation);
    auto s = std::make_shared<pty_state>();
    s->conn = conn;
    s->operation = "pty " + tag + " in " + capsule_id;
    s->tag = std::move(tag);
    s->pid = pid;
    std::exception_ptr failure;
    try {
        co_await ws_send(conn, protocol::pty_connect_message(s->tag));
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure) {
        ws_close(conn);
        std::rethrow_exception(failure);
    }
    co_return pty_session(std::move(s));
}

} // namespace detail

WRENN_DECL pty_session::pty_session(std::shared_ptr<detail::pty_state> s) : s_(std::move(s)) {}
WRENN_DECL pty_session::pty_session(pty_session&&) noexcept = default;

WRENN_DECL pty_session& pty_session::operator=(pty_session&& o) noexcept {
    if (this != &o) {
        if (s_) detail::ws_close(s_->conn);
        s_ = std::move(o.s_);
    }
    return *this;
}

WRENN_DECL pty_session::~pty_session() {
    if (s_) detail::ws_close(s_->conn);
}

WRENN_DECL boost::asio::awaitable<std::optional<pty_event>> pty_session::next() {
    return [](std::shared_ptr<detail::pty_state> s) -> boost::asio::awaitable<std::optional<pty_event>> {
        if (!s) throw usage_error("empty_pty", "pty_session::next() on an empty (moved-from) session");
        auto strand = s->conn->strand;
        co_return co_await boost::asio::co_spawn(strand, detail::next_pty_event(std::move(s)),
                                                 boost::asio::use_awaitable);
    }(s_);
}

WRENN_DECL boost::asio::awaitable<void> pty_session::write(std::string_view bytes) {
    detail::live_pty(s_, "write()");
    return detail::send_pty(s_, protocol::pty_input_message(bytes));
}

WRENN_DECL boost::asio::awaitable<void> pty_session::resize(unsigned cols, unsigned rows) {
    auto& s = detail::live_pty(s_, "resize()");
    if (cols == 0 || rows == 0)
        throw usage_error("invalid_size", s.operation + ": resize(" + std::to_string(cols) + ", " +
                                              std::to_string(rows) + "): columns and rows must both be > 0");
    return detail::send_pty(s_, protocol::pty_resize_message(cols, rows));
}

WRENN_DECL boost::asio::awaitable<void> pty_session::kill() {
    detail::live_pty(s_, "kill()");
    return detail::send_pty(s_, protocol::pty_kill_message());
}

WRENN_DECL boost::asio::awaitable<void> pty_session::close() {
    return [](std::shared_ptr<detail::pty_state> s) -> boost::asio::awaitable<void> {
        if (!s) co_return;
        auto strand = s->conn->strand;
        co_await boost::asio::co_spawn(
            strand,
            [](std::shared_ptr<detail::pty_state> s) -> boost::asio::awaitable<void> {
                s->finished = true;
                s->pending.clear();
                s->drained = true;
                co_await detail::ws_close_wait(s->conn);
            }(s),
            boost::asio::use_awaitable);
    }(s_);
}

WRENN_DECL const std::string& pty_session::tag() const noexcept {
    static const std::string none;
    return s_ ? s_->tag : none;
}
WRENN_DECL boost::asio::any_io_executor pty_session::get_executor() const {
    if (!s_) return boost::asio::system_executor();
    return s_->conn->executor;
}

WRENN_DECL int pty_session::pid() const noexcept { return s_ ? s_->pid : 0; }
WRENN_DECL bool pty_session::done() const noexcept { return !s_ || s_->drained; }
WRENN_DECL std::optional<int> pty_session::exit_code() const noexcept {
    return s_ ? s_->exit_code.load() : std::nullopt;
}

} // namespace wrenn
