// A WebSocket whose messages decode to events: what a process stream and a
// terminal session share (their state, next() and close()). What differs
// comes from Traits (stream_traits in process_stream.ipp, pty_traits in
// pty.ipp), a base of the state, with:
//   event_type
//   static std::optional<event_type> decode(std::string&&)  nullopt: skip it
//   static std::string stop_message()  what ending it from this side sends
//   static constexpr bool cancel_ends  whether a cancelled next() ends it
//   std::string ended_text(const std::string& operation) const
//       the error when the connection closes before the exit
//   static constexpr const char *empty_code, *empty_text  next() on an empty object
#pragma once

#include <wrenn/detail/websocket.hpp>
#include <wrenn/detail/ws_connection.hpp>
#include <wrenn/error.hpp>
#include <wrenn/impl/atomic_exit_code.hpp>

#include <boost/asio/append.hpp>
#include <boost/asio/associated_allocator.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <atomic>
#include <deque>
#include <exception>
#include <memory>
#include <optional>
#include <string>

namespace wrenn::detail {

// Once open, `pending` is touched on the connection's strand only; what the
// accessors read (done(), exit_code()) is atomic, so that they may be called
// from any thread, also while next() runs on another.
template <class Traits>
struct event_stream_state : Traits {
    using event_type = typename Traits::event_type;
    std::shared_ptr<ws_connection> conn;
    std::string operation;
    std::deque<event_type> pending;  // read while opening, not yet delivered
    int pid = 0;
    std::atomic<bool> finished = false;
    std::atomic<bool> drained = false;  // finished and nothing pending: done()
    atomic_exit_code exit_code;

    void finish(std::string last_message = {}) {
        finished = true;
        ws_close(conn, std::move(last_message));
    }
    void update_drained() { drained = finished && pending.empty(); }
    // The object is destroyed or assigned over: end it unless it has ended.
    void abandon() {
        if (!finished) finish(Traits::stop_message());
    }

    // What next() gives: the event, nullopt at the end, or the error.
    struct outcome {
        std::exception_ptr error;
        std::optional<event_type> event;
    };

    // What one received message (or the end, or a receive error) means for
    // next(); nullopt: a message to skip.
    std::optional<outcome> take_received(std::exception_ptr e, std::optional<std::string>&& msg) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const boost::system::system_error& x) {
                if (x.code() != boost::asio::error::operation_aborted) finish();
                else if (Traits::cancel_ends) finish(Traits::stop_message());
            } catch (const usage_error&) {
                // another next() is waiting: that one goes on
            } catch (...) {
                finish();
            }
            return outcome{std::move(e), std::nullopt};
        }
        if (!msg) {
            if (finished) return outcome{};  // closed here (close() or the object destroyed)
            finish();
            return outcome{std::make_exception_ptr(protocol_error("stream_ended", this->ended_text(operation))),
                           std::nullopt};
        }
        std::optional<event_type> ev;
        try {
            ev = Traits::decode(std::move(*msg));
        } catch (...) {
            finish(Traits::stop_message());
            return outcome{std::current_exception(), std::nullopt};
        }
        if (!ev) return std::nullopt;
        if (ev->is_exit()) exit_code = ev->exit_code;
        if (ev->is_final()) finish();
        return outcome{nullptr, std::move(ev)};
    }
};

// A next() that waits for the reader: the message is read in the receive's
// completion, which the reader runs in place, on the connection's strand;
// the consumer is then completed on its own executor (in place too when that
// is the thread's). It forwards the consumer's cancellation slot and
// allocator, so that waiting behaves as the consumer's own.
template <class State, class Handler>
struct next_event_waiter {
    std::shared_ptr<State> s;
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
        auto ready = s->take_received(std::move(e), std::move(msg));
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

// On the connection's strand. What is known at once (an event read while
// opening, one the reader has read ahead, the end) completes through a post,
// never inside the call.
template <class State, class Handler>
void start_next_event(Handler handler, std::shared_ptr<State> s, std::uint64_t ticket) {
    std::optional<typename State::outcome> ready;
    while (!ready) {
        if (!s->pending.empty()) {
            ready = typename State::outcome{nullptr, std::move(s->pending.front())};
            s->pending.pop_front();
        } else if (s->finished) {
            ready = typename State::outcome{};
        } else if (auto msg = ws_try_receive(*s->conn)) {
            ready = s->take_received(nullptr, std::move(msg));
        } else {
            break;  // wait for the reader (start_receive also reports an end already seen)
        }
        s->update_drained();
    }
    if (ready) {
        boost::asio::post(boost::asio::append(std::move(handler), std::move(ready->error), std::move(ready->event)));
        return;
    }
    auto conn = s->conn;
    conn->start_receive(next_event_waiter<State, Handler>{std::move(s), std::move(handler), ticket}, ticket);
}

// next(): an asynchronous operation, not a coroutine, so that an event costs
// no coroutine frame of its own. It starts on the connection's strand (in
// place when already there, as a consumer resumed by the reader is).
template <class State>
boost::asio::awaitable<std::optional<typename State::event_type>> next_event(std::shared_ptr<State> s) {
    using event_type = typename State::event_type;
    return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&,
                                       void(std::exception_ptr, std::optional<event_type>)>(
        [](auto handler, std::shared_ptr<State> s) {
            if (!s) {
                auto e = std::make_exception_ptr(usage_error(State::empty_code, State::empty_text));
                boost::asio::post(boost::asio::append(std::move(handler), std::move(e), std::optional<event_type>()));
                return;
            }
            auto& strand = s->conn->strand;
            auto ticket = s->conn->arm_cancellation(handler);
            boost::asio::dispatch(strand, [s = std::move(s), h = std::move(handler), ticket]() mutable {
                start_next_event(std::move(h), std::move(s), ticket);
            });
        },
        boost::asio::use_awaitable, std::move(s));
}

// close(): on the strand, where next() runs; waits for the socket to close.
template <class State>
boost::asio::awaitable<void> close_event_stream(std::shared_ptr<State> s) {
    if (!s) co_return;
    auto strand = s->conn->strand;
    co_await boost::asio::co_spawn(
        strand,
        [](std::shared_ptr<State> s) -> boost::asio::awaitable<void> {
            std::string last = s->finished.exchange(true) ? std::string() : State::stop_message();
            s->pending.clear();
            s->update_drained();
            co_await ws_close_wait(s->conn, std::move(last));
        }(std::move(s)),
        boost::asio::use_awaitable);
}

} // namespace wrenn::detail
