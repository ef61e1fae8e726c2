#pragma once

#include <wrenn/client.hpp>
#include <wrenn/impl/client_impl.hpp>
#include <wrenn/detail/websocket.hpp>
#include <wrenn/error.hpp>
#include <wrenn/impl/event_stream.hpp>
#include <wrenn/protocol/stream_messages.hpp>
#include <wrenn/pty.hpp>

#include <boost/asio/system_executor.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace wrenn {

namespace detail {

struct pty_traits {
    using event_type = pty_event;
    static constexpr const char* empty_code = "empty_pty";
    static constexpr const char* empty_text = "pty_session::next() on an empty (moved-from) session";
    static constexpr bool cancel_ends = false;  // a cancelled next() leaves the session usable (poll with a timer)
    static std::string stop_message() { return {}; }  // only the socket closes: the terminal keeps running
    static std::optional<pty_event> decode(std::string&& m) { return protocol::parse_pty_message(m); }  // nullopt: a ping
    std::string ended_text(const std::string& operation) const {
        return operation + ": the connection closed before the terminal's exit was reported (the terminal may still "
                           "be running: pty_connect(\"" + tag + "\") attaches again)";
    }
    std::string tag;
};
struct pty_state final : event_stream_state<pty_traits> {};

inline pty_state& live_pty(const std::shared_ptr<pty_state>& s, const char* what) {
    if (!s) throw usage_error("empty_pty", std::string("pty_session::") + what + " on an empty (moved-from) session");
    if (s->finished)
        throw usage_error("pty_closed", s->operation + ": " + what +
                                            " after the session ended (exit, fatal error or close); "
                                            "use capsule.pty_connect(tag) to attach again");
    return *s;
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
        if (s_) s_->abandon();
        s_ = std::move(o.s_);
    }
    return *this;
}

WRENN_DECL pty_session::~pty_session() {
    if (s_) s_->abandon();
}

WRENN_DECL boost::asio::awaitable<std::optional<pty_event>> pty_session::next() { return detail::next_event(s_); }

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

WRENN_DECL boost::asio::awaitable<void> pty_session::close() { return detail::close_event_stream(s_); }

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
