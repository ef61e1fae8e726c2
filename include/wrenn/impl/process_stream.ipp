#pragma once

#include <wrenn/detail/client_impl.hpp>
#include <wrenn/detail/websocket.hpp>
#include <wrenn/error.hpp>
#include <wrenn/process_stream.hpp>
#include <wrenn/protocol/stream_messages.hpp>

#include <boost/system/system_error.hpp>

#include <deque>

namespace wrenn {

namespace detail {

struct process_stream_state {
    std::shared_ptr<ws_connection> conn;
    std::string operation;
    std::deque<stream_event> pending;  // read while opening, not yet delivered
    int pid = 0;
    bool finished = false;
    std::optional<int> exit_code;

    void finish(std::string last_message = {}) {
        finished = true;
        ws_close(conn, std::move(last_message));
    }
};

inline boost::asio::awaitable<std::optional<stream_event>> next_stream_event(
    std::shared_ptr<process_stream_state> s) {
    if (!s) throw usage_error("empty_stream", "process_stream::next() on an empty (moved-from) stream");
    for (;;) {
        if (!s->pending.empty()) {
            auto ev = std::move(s->pending.front());
            s->pending.pop_front();
            co_return ev;
        }
        if (s->finished) co_return std::nullopt;
        // A message the reader already has costs no suspension and no coroutine frame.
        auto msg = ws_try_receive(*s->conn);
        if (!msg) {
            try {
                msg = co_await ws_receive(s->conn);
            } catch (const boost::system::system_error& e) {
                // cancelled: stop following the process, politely
                s->finish(e.code() == boost::asio::error::operation_aborted ? protocol::stream_stop_message()
                                                                           : std::string());
                throw;
            } catch (const usage_error&) {
                throw;  // another next() is waiting: that one goes on
            } catch (...) {
                s->finish();
                throw;
            }
        }
        if (!msg) {
            if (s->finished) co_return std::nullopt;  // closed here (close() or the stream destroyed)
            s->finish();
            throw protocol_error("stream_ended",
                                 s->operation +
                                     ": the connection closed before the process's exit was reported "
                                     "(the server or the network dropped it; the process may still be running)");
        }
        std::optional<stream_event> ev;
        try {
            ev = protocol::take_stream_message(std::move(*msg));
        } catch (...) {
            s->finish(protocol::stream_stop_message());
            throw;
        }
        if (!ev) continue;
        if (ev->is_exit()) s->exit_code = ev->exit_code;
        if (ev->is_final()) s->finish();
        co_return ev;
    }
}

WRENN_DECL boost::asio::awaitable<process_stream> open_process_stream(std::shared_ptr<client_impl> c,
                                                                     std::string path,
                                                                     std::string start_message,
                                                                     std::string operation, bool attach) {
    auto conn = co_await open_websocket(c->transport, c->path(path), operation);
    auto s = std::make_shared<process_stream_state>();
    s->conn = conn;
    s->operation = operation;
    std::exception_ptr failure;
    try {
        if (!start_message.empty()) co_await ws_send(conn, start_message);
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
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure) {
        ws_close(conn);
        std::rethrow_exception(failure);
    }
    if (s->finished) ws_close(conn);
    co_return process_stream(std::move(s));
}

} // namespace detail

WRENN_DECL process_stream::process_stream(std::shared_ptr<detail::process_stream_state> s) : s_(std::move(s)) {}
WRENN_DECL process_stream::process_stream(process_stream&&) noexcept = default;

WRENN_DECL process_stream& process_stream::operator=(process_stream&& o) noexcept {
    if (this != &o) {
        if (s_ && !s_->finished) s_->finish(protocol::stream_stop_message());
        s_ = std::move(o.s_);
    }
    return *this;
}

WRENN_DECL process_stream::~process_stream() {
    if (s_ && !s_->finished) s_->finish(protocol::stream_stop_message());
}

WRENN_DECL boost::asio::awaitable<std::optional<stream_event>> process_stream::next() {
    return detail::next_stream_event(s_);
}

WRENN_DECL int process_stream::pid() const noexcept { return s_ ? s_->pid : 0; }
WRENN_DECL bool process_stream::done() const noexcept { return !s_ || (s_->finished && s_->pending.empty()); }
WRENN_DECL std::optional<int> process_stream::exit_code() const noexcept {
    return s_ ? s_->exit_code : std::nullopt;
}

WRENN_DECL boost::asio::awaitable<void> process_stream::close() {
    return [](std::shared_ptr<detail::process_stream_state> s) -> boost::asio::awaitable<void> {
        if (!s) co_return;
        bool running = !s->finished;
        s->finished = true;
        s->pending.clear();
        co_await detail::ws_close_wait(s->conn, running ? protocol::stream_stop_message() : std::string());
    }(s_);
}

} // namespace wrenn
