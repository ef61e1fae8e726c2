#pragma once

#include <wrenn/error.hpp>
#include <wrenn/impl/client_impl.hpp>
#include <wrenn/impl/event_stream.hpp>
#include <wrenn/process_stream.hpp>
#include <wrenn/protocol/stream_messages.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/system_executor.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

namespace wrenn {

namespace detail {

struct stream_traits {
    using event_type = stream_event;
    static constexpr const char* empty_code = "empty_stream";
    static constexpr const char* empty_text = "process_stream::next() on an empty (moved-from) stream";
    static constexpr bool cancel_ends = true;  // a cancelled next() stops following the process, politely
    static std::string stop_message() { return protocol::stream_stop_message(); }
    static std::optional<stream_event> decode(std::string&& m) { return protocol::take_stream_message(std::move(m)); }
    static std::string ended_text(const std::string& operation) {
        return operation + ": the connection closed before the process's exit was reported (the server or the "
                           "network dropped it; the process may still be running)";
    }
};
struct process_stream_state final : event_stream_state<stream_traits> {};

// Reads until the start event (its pid into s->pid), the exit, an error or the end.
inline boost::asio::awaitable<void> read_start_pid(std::shared_ptr<ws_connection> conn,
                                                   std::shared_ptr<process_stream_state> s) {
    try {
        while (auto msg = co_await ws_receive(conn)) {
            auto ev = protocol::take_stream_message(std::move(*msg));
            if (ev && (ev->is_start() || ev->is_exit() || ev->is_error())) {
                if (ev->is_start()) s->pid = ev->pid;
                break;
            }
        }
    } catch (...) {
    }
}

WRENN_DECL boost::asio::awaitable<process_stream> open_process_stream(std::shared_ptr<client_impl> c,
                                                                     std::string path,
                                                                     std::string start_message,
                                                                     std::string operation, bool attach,
                                                                     std::string capsule_id) {
    auto conn = co_await open_websocket(c->transport, c->path(path), operation);
    auto s = std::make_shared<process_stream_state>();
    s->conn = conn;
    s->operation = operation;
    std::exception_ptr failure;
    bool sent = false, cancelled = false;
    try {
        if (!start_message.empty()) {
            co_await ws_send(conn, start_message);
            sent = true;  // from here on, a process may be running
        }
        for (;;) {
            auto msg = co_await ws_receive(conn);
            if (!msg) {
                if (attach)
                    throw not_found_error("not_found", operation +
                                                           ": no such running process in the capsule "
                                                           "(unknown pid or tag, or it has already exited)");
                throw protocol_error("stream_ended", operation + ": the connection closed before the process started");
            }
            auto ev = protocol::take_stream_message(std::move(*msg));
            if (!ev) continue;
            if (ev->is_error()) std::rethrow_exception(protocol::make_stream_error(ev->data, operation));
            if (ev->is_start()) s->pid = ev->pid;
            bool started = ev->is_start();
            if (ev->is_exit()) {
                s->exit_code = ev->exit_code;
                s->finished = true;
            }
            s->pending.push_back(std::move(*ev));
            if (started || s->finished) break;  // output before start: keep reading for it
        }
    } catch (const boost::system::system_error& e) {
        failure = std::current_exception();
        cancelled = e.code() == boost::asio::error::operation_aborted;
    } catch (...) {
        failure = std::current_exception();
    }
    const bool orphan = failure && cancelled && sent && s->pid == 0 && !s->finished && !capsule_id.empty();
    if (orphan) {
        // The process may have started all the same: learn its pid, to kill it.
        co_await boost::asio::this_coro::reset_cancellation_state();
        using namespace boost::asio::experimental::awaitable_operators;
        boost::asio::steady_timer limit(c->executor, std::chrono::seconds(10));
        co_await (read_start_pid(conn, s) || limit.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable)));
    }
    if (failure) {
        ws_close(conn);
        if (orphan && s->pid > 0) {
            try {
                co_await capsules_api(c).kill_process(capsule_id, std::to_string(s->pid), kill_signal::sigkill);
            } catch (...) {
            }
        }
        std::rethrow_exception(failure);
    }
    if (s->finished) ws_close(conn);
    s->update_drained();
    co_return process_stream(std::move(s));
}

} // namespace detail

WRENN_DECL process_stream::process_stream(std::shared_ptr<detail::process_stream_state> s) : s_(std::move(s)) {}
WRENN_DECL process_stream::process_stream(process_stream&&) noexcept = default;

WRENN_DECL process_stream& process_stream::operator=(process_stream&& o) noexcept {
    if (this != &o) {
        if (s_) s_->abandon();
        s_ = std::move(o.s_);
    }
    return *this;
}

WRENN_DECL process_stream::~process_stream() {
    if (s_) s_->abandon();
}

WRENN_DECL boost::asio::awaitable<std::optional<stream_event>> process_stream::next() { return detail::next_event(s_); }

WRENN_DECL boost::asio::any_io_executor process_stream::get_executor() const {
    if (!s_) return boost::asio::system_executor();
    return s_->conn->executor;
}

WRENN_DECL int process_stream::pid() const noexcept { return s_ ? s_->pid : 0; }
WRENN_DECL bool process_stream::done() const noexcept { return !s_ || s_->drained; }
WRENN_DECL std::optional<int> process_stream::exit_code() const noexcept {
    return s_ ? s_->exit_code.load() : std::nullopt;
}

WRENN_DECL boost::asio::awaitable<void> process_stream::close() { return detail::close_event_stream(s_); }

} // namespace wrenn
