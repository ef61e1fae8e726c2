#pragma once

#include <wrenn/impl/client_impl.hpp>
#include <wrenn/impl/atomic_exit_code.hpp>
#include <wrenn/detail/websocket.hpp>
#include <wrenn/error.hpp>
#include <wrenn/detail/ws_connection.hpp>
#include <wrenn/process_stream.hpp>
#include <wrenn/protocol/stream_messages.hpp>

#include <boost/asio/append.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/system_executor.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/associated_allocator.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <atomic>
#include <deque>

namespace wrenn {

namespace detail {

// Once the stream is open, `pending` is touched on the connection's strand
// only; what the accessors read (done(), exit_code()) is atomic, so that they
// may be called from any thread, also while next() runs on another.
struct process_stream_state {
    std::shared_ptr<ws_connection> conn;
    std::string operation;
    std::deque<stream_event> pending;  // read while opening, not yet delivered
    int pid = 0;
    std::atomic<bool> finished = false;
    std::atomic<bool> drained = false;  // finished and nothing pending: done()
    atomic_exit_code exit_code;

    void finish(std::string last_message = {}) {
        finished = true;
        ws_close(conn, std::move(last_message));
    }
    void update_drained() { drained = finished && pending.empty(); }
};

// What next() gives: the event, nullopt at the end, or the error.
struct next_outcome {
    std::exception_ptr error;
    std::optional<stream_event> event;
};

// What one received message (or the end, or a receive error) means for
// next(); nullopt: a message of a type this SDK does not know, skipped.
inline std::optional<next_outcome> take_received(process_stream_state& s, std::exception_ptr e,
                                                 std::optional<std::string>&& msg) {
    if (e) {
        try {
            std::rethrow_exception(e);
        } catch (const boost::system::system_error& x) {
            // cancelled: stop following the process, politely
            s.finish(x.code() == boost::asio::error::operation_aborted ? protocol::stream_stop_message()
                                                                        : std::string());
        } catch (const usage_error&) {
            // another next() is waiting: that one goes on
        } catch (...) {
            s.finish();
        }
        return next_outcome{std::move(e), std::nullopt};
    }
    if (!msg) {
        if (s.finished) return next_outcome{};  // closed here (close() or the stream destroyed)
        s.finish();
        return next_outcome{std::make_exception_ptr(protocol_error(
                                "stream_ended", s.operation + ": the connection closed before the process's exit "
                                                              "was reported (the server or the network dropped it; "
                                                              "the process may still be running)")),
                            std::nullopt};
    }
    std::optional<stream_event> ev;
    try {
        ev = protocol::take_stream_message(std::move(*msg));
    } catch (...) {
        s.finish(protocol::stream_stop_message());
        return next_outcome{std::current_exception(), std::nullopt};
    }
    if (!ev) return std::nullopt;
    if (ev->is_exit()) s.exit_code = ev->exit_code;
    if (ev->is_final()) s.finish();
    return next_outcome{nullptr, std::move(ev)};
}

// A next() that waits for the reader: the message is read in the receive's
// completion, which the reader runs in place, on the connection's strand;
// the consumer is then completed on its own executor (in place too when that
// is the thread's). It forwards the consumer's cancellation slot and
// allocator, so that waiting behaves as the consumer's own.
template <class Handler>
struct next_event_waiter {
    std::shared_ptr<process_stream_state> s;
    Handler handler;
    std::uint64_t ticket;  // the receive's (ws_connection::arm_cancellation)

    using executor_type = boost::asio::any_io_executor;
    executor_type get_executor() const noexcept { return s->conn->executor; }
    using cancellation_slot_type = boost::asio::associated_cancellation_slot_t<Handler>;
    cancellation_slot_type get_cancellation_slot() const noexcept {
        return boost::asio::get_associated_cancellation_slot(handler);
    }
    using allocator_type = boost::asio::associated_allocator_t<Handler>;
    allocator_type get_allocator() const noexcept { return boost::asio::get_associated_allocator(handler); }

    void operator()(std::exception_ptr e, std::optional<std::string>&& msg) {
        auto ready = take_received(*s, std::move(e), std::move(msg));
        s->update_drained();
        if (!ready) {  // skipped: wait for the next message
            auto conn = s->conn;
            auto ticket_ = ticket;
            return conn->start_receive(std::move(*this), ticket_);
        }
        auto target = boost::asio::get_associated_executor(handler, s->conn->executor);
        if (ws_impl::runs_here(target, s->conn->executor))
            return std::move(handler)(std::move(ready->error), std::move(ready->event));
        boost::asio::dispatch(target, boost::asio::append(std::move(handler), std::move(ready->error),
                                                          std::move(ready->event)));
    }
};

// next()'s initiation: an asynchronous operation, not a coroutine, so that an
// event costs no coroutine frame of its own. What is known at once (an
// event opened with the stream, one the reader has read ahead, the end)
// completes through a post, never inside the call.
struct start_next_event {
    template <class Handler>
    void operator()(Handler handler, std::shared_ptr<process_stream_state> s, std::uint64_t ticket = 0) const {
        std::optional<next_outcome> ready;
        if (!s) {
            ready = next_outcome{std::make_exception_ptr(usage_error(
                                     "empty_stream", "process_stream::next() on an empty (moved-from) stream")),
                                 std::nullopt};
        } else {
            while (!ready) {
                if (!s->pending.empty()) {
                    ready = next_outcome{nullptr, std::move(s->pending.front())};
                    s->pending.pop_front();
                    s->update_drained();
                } else if (s->finished) {
                    ready = next_outcome{};
                } else if (auto msg = ws_try_receive(*s->conn)) {
                    ready = take_received(*s, nullptr, std::move(msg));
                    s->update_drained();
                } else {
                    break;  // wait for the reader (start_receive also reports an end already seen)
                }
            }
        }
        if (ready) {
            boost::asio::post(boost::asio::append(std::move(handler), std::move(ready->error), std::move(ready->event)));
            return;
        }
        auto conn = s->conn;
        conn->start_receive(next_event_waiter<Handler>{std::move(s), std::move(handler), ticket}, ticket);
    }
};

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
        if (s_ && !s_->finished) s_->finish(protocol::stream_stop_message());
        s_ = std::move(o.s_);
    }
    return *this;
}

WRENN_DECL process_stream::~process_stream() {
    if (s_ && !s_->finished) s_->finish(protocol::stream_stop_message());
}

WRENN_DECL boost::asio::awaitable<std::optional<stream_event>> process_stream::next() {
    // The stream's state lives on its connection's strand: start there (in
    // place when already there, as a consumer resumed by the reader is).
    return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&,
                                       void(std::exception_ptr, std::optional<stream_event>)>(
        [](auto handler, std::shared_ptr<detail::process_stream_state> s) {
            if (!s) return detail::start_next_event{}(std::move(handler), std::move(s));
            auto& strand = s->conn->strand;
            auto ticket = s->conn->arm_cancellation(handler);
            boost::asio::dispatch(strand, [s = std::move(s), h = std::move(handler), ticket]() mutable {
                detail::start_next_event{}(std::move(h), std::move(s), ticket);
            });
        },
        boost::asio::use_awaitable, s_);
}

WRENN_DECL boost::asio::any_io_executor process_stream::get_executor() const {
    if (!s_) return boost::asio::system_executor();
    return s_->conn->executor;
}

WRENN_DECL int process_stream::pid() const noexcept { return s_ ? s_->pid : 0; }
WRENN_DECL bool process_stream::done() const noexcept { return !s_ || s_->drained; }
WRENN_DECL std::optional<int> process_stream::exit_code() const noexcept {
    return s_ ? s_->exit_code.load() : std::nullopt;
}

WRENN_DECL boost::asio::awaitable<void> process_stream::close() {
    return [](std::shared_ptr<detail::process_stream_state> s) -> boost::asio::awaitable<void> {
        if (!s) co_return;
        auto strand = s->conn->strand;
        co_await boost::asio::co_spawn(
            strand,
            [](std::shared_ptr<detail::process_stream_state> s) -> boost::asio::awaitable<void> {
                bool running = !s->finished.exchange(true);
                s->pending.clear();
                s->update_drained();
                co_await detail::ws_close_wait(s->conn, running ? protocol::stream_stop_message() : std::string());
            }(s),
            boost::asio::use_awaitable);
    }(s_);
}

} // namespace wrenn
