// One WebSocket connection as the SDK's streams see it: its strand, the
// message waiting for a consumer, the consumer waiting for a message (and its
// cancellation), the write gate and the close state. The socket and the
// frame reader are ws_stream's (detail/ws_stream.hpp); the operations on a
// connection are detail/websocket.hpp's.
#pragma once

#include <wrenn/detail/http_transport.hpp>
#include <wrenn/detail/websocket.hpp>
#include <wrenn/error.hpp>
#include <wrenn/protocol/ws_frames.hpp>

#include <boost/asio/append.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <openssl/rand.h>

#include <atomic>
#include <mutex>
#include <tuple>
#include <vector>

#include <algorithm>
#include <array>
#include <cstddef>
#include <new>
#include <utility>

namespace wrenn::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
using clock = transport_clock;
using tcp = asio::ip::tcp;

namespace ws_impl {

// Whether a completion for `target` may run right here: what asio::dispatch
// would decide, without its type-erased call and function object for the
// common case of a coroutine on an io_context's executor (a stream's events
// complete this way, one per message: 1,200 instructions less per event).
inline bool runs_here(const asio::any_io_executor& target, const asio::any_io_executor& current) {
    if (target == current) return true;
    if (auto* ex = target.target<asio::io_context::executor_type>()) return ex->running_in_this_thread();
    return false;
}

// eof also stands for the server's close frame
inline bool is_clean_end(const boost::system::error_code& ec) {
    return ec == asio::error::eof || ec == asio::ssl::error::stream_truncated || ec == asio::error::operation_aborted;
}

inline std::exception_ptr lost_error(const std::string& operation, std::chrono::milliseconds idle,
                                     const boost::system::error_code& ec) {
    if (ec == beast::error::timeout)
        return std::make_exception_ptr(timeout_error(
            "idle_timeout", operation + ": no data from the server for " + describe_ms(idle) +
                                ", not even an answer to a ping (idle timeout); the connection is considered lost"));
    return std::make_exception_ptr(
        transport_error("connection_lost", operation + ": the connection was lost: " + ec.message()));
}

} // namespace ws_impl

class ws_connection;

// The connections alive on one execution context. A consumer waiting in
// next() is a coroutine frame kept by its connection (the receiver), and the
// frame keeps the connection: a cycle that nothing would break once the
// io_context is gone. When the context shuts down, this service drops every
// waiting receiver, as Asio's own services drop their pending operations.
struct ws_live_set {
    std::mutex mu;
    std::vector<ws_connection*> live;
};

class ws_registry : public asio::detail::execution_context_service_base<ws_registry> {
public:
    explicit ws_registry(asio::execution_context& ctx)
        : asio::detail::execution_context_service_base<ws_registry>(ctx), set(std::make_shared<ws_live_set>()) {}
    void shutdown() override;
    std::shared_ptr<ws_live_set> set;  // shared with the connections, which may outlive the context
};

// Thread safety: everything a connection does runs on its own strand (the
// executor of its socket and timers): the reader, the keepalive, the close,
// and every ws_* call, which goes there first. The consumer is completed on
// its own executor.
class ws_connection : public std::enable_shared_from_this<ws_connection> {
public:
    // ws_receive's result: the message, nullopt at a clean end, or the error.
    using receive_signature = void(std::exception_ptr, std::optional<std::string>);

    // A consumer waiting for a message: its completion handler, type-erased,
    // kept in the connection's own storage when it fits (ws_receive's does),
    // so that waiting allocates nothing.
    struct receiver_base {
        // Destroys this, then resumes the consumer: right here if it runs on
        // `ex` (the reader's executor), else through its own executor.
        virtual void complete(std::exception_ptr e, std::optional<std::string> m, const asio::any_io_executor& ex) = 0;
        virtual void discard() noexcept = 0;  // destroys this without resuming

    protected:
        ~receiver_base() = default;
    };
    template <class Handler>
    struct receiver_of final : receiver_base {
        // in_space: the flag that marks the connection's storage as taken; null on the heap
        receiver_of(Handler h, bool* in_space) : handler(std::move(h)), in_space(in_space) {}
        void complete(std::exception_ptr e, std::optional<std::string> m, const asio::any_io_executor& ex) override {
            Handler h(std::move(handler));
            discard();
            auto target = asio::get_associated_executor(h, ex);
            if (ws_impl::runs_here(target, ex)) std::move(h)(std::move(e), std::move(m));
            else asio::dispatch(target, asio::append(std::move(h), std::move(e), std::move(m)));
        }
        void discard() noexcept override {
            bool* flag = in_space;
            this->~receiver_of();
            if (flag) *flag = false;
            else ::operator delete(static_cast<void*>(this));
        }
        Handler handler;
        bool* in_space;
    };
    struct receiver_discard {
        void operator()(receiver_base* r) const noexcept { r->discard(); }
    };
    using receiver_type = std::unique_ptr<receiver_base, receiver_discard>;

    using strand_type = asio::strand<asio::any_io_executor>;

    ws_connection(const strand_type& ex, std::string operation, std::chrono::milliseconds idle)
        : strand(ex), executor(ex), reader_wake(ex, clock::time_point::max()), write_gate(ex, clock::time_point::max()),
          keepalive(ex), reading_stopped(ex, clock::time_point::max()), operation(std::move(operation)), idle(idle),
          live(asio::use_service<ws_registry>(asio::query(ex, asio::execution::context)).set) {
        std::lock_guard lock(live->mu);
        live->live.push_back(this);
    }
    virtual ~ws_connection() {
        std::lock_guard lock(live->mu);
        std::erase(live->live, this);
    }

    // One frame (writes take turns: acquire_write); an error code, never an exception.
    virtual asio::awaitable<boost::system::error_code> write_frame(protocol::ws_opcode op, std::string_view payload) = 0;
    virtual void close_socket() = 0;

    void stop_reading() {
        reading_ended = true;
        keepalive.cancel();
        reading_stopped.cancel();
    }

    // The reader's side: a message (or, with ec, the end) goes to the waiting
    // consumer, resumed right here when it runs on this thread, or is kept
    // in `ahead`. Not a queue: a consumer that waits is resumed straight from
    // the reader, which saves a trip through the scheduler per message; and
    // the reader stops at a message nobody waits for, until somebody does
    // (wait_for_delivery wakes it), so that the consumer, once behind, is
    // waiting again for the next message rather than finding each one
    // already read and completing through a post (bench/NOTES.md).
    void deliver(boost::system::error_code ec, std::string text) {
        if (!receiver) {
            if (ec) read_end = ec;
            else ahead = std::move(text);
        } else if (!ec) {
            receiver.release()->complete(nullptr, std::move(text), executor);
        } else {
            ended = ec;
            receiver.release()->complete(end_error(ec), std::nullopt, executor);
        }
    }

    // A message read ahead, or nullopt (then `ended` says whether reading has ended).
    std::optional<std::string> try_take() {
        if (ended) return std::nullopt;
        if (ahead) return std::exchange(ahead, std::nullopt);
        if (read_end) ended = read_end;
        return std::nullopt;
    }

    // ws_receive's initiation: completes at once (posted) when a message or
    // the end is known, else waits for the reader's next delivery. A
    // cancelled wait completes with operation_aborted and loses no message.
    //
    // `ticket` comes from arm_cancellation, called first where the receive
    // was initiated.
    template <class Handler>
    void start_receive(Handler handler, std::uint64_t ticket) {
        std::exception_ptr e;
        std::optional<std::string> m = try_take();
        if (!m) {
            if (ended)
                e = end_error(*ended);
            else if (receiver)
                e = std::make_exception_ptr(usage_error(
                    "concurrent_receive", operation + ": another coroutine is already waiting for this "
                                                      "connection's next message; receive from one at a time"));
            else
                return wait_for_delivery(std::move(handler), ticket);
        }
        asio::post(executor, asio::append(std::move(handler), std::move(e), std::move(m)));
    }

    // Connects a receive's cancellation slot, on the thread that initiates
    // it: in order with the consumer's other uses of that slot (a `||`
    // emits from the consumer's side, never while the strand assigns).
    // The signal acts on the strand, on this receive only: a later one, or
    // none, is left alone. Returns the receive's ticket.
    template <class Handler>
    std::uint64_t arm_cancellation(Handler& handler) {
        const auto ticket = ++tickets;
        auto slot = asio::get_associated_cancellation_slot(handler);
        if (slot.is_connected())
            slot.assign([weak = weak_from_this(), ticket](asio::cancellation_type) {
                auto c = weak.lock();
                if (!c) return;
                asio::dispatch(c->strand, [c, ticket] {
                    if (!c->receiver || c->waiting != ticket) return;  // completed, or another receive
                    c->complete_later(
                        std::make_exception_ptr(boost::system::system_error(asio::error::operation_aborted)));
                });
            });
        return ticket;
    }

    template <class Handler>
    void wait_for_delivery(Handler handler, std::uint64_t ticket) {
        constexpr bool fits = sizeof(receiver_of<Handler>) <= receiver_space_size &&
                              alignof(receiver_of<Handler>) <= alignof(std::max_align_t);
        // (taken while a cancelled wait's completion is still on its way)
        bool in_space = fits && !receiver_space_taken;
        void* where = in_space ? static_cast<void*>(receiver_space) : ::operator new(sizeof(receiver_of<Handler>));
        receiver.reset(new (where) receiver_of<Handler>(std::move(handler), in_space ? &receiver_space_taken : nullptr));
        receiver_space_taken = receiver_space_taken || in_space;
        waiting = ticket;
        if (consumer_paused) reader_wake.cancel();  // the reader stopped at a message nobody waited for
    }

    // ws_close: the messages not yet taken are dropped and receiving ends cleanly.
    void close_inbox() {
        inbox_closed = true;
        ahead.reset();
        read_end = asio::error::operation_aborted;
        reader_wake.cancel();
        if (receiver) {
            ended = read_end;
            complete_later(nullptr);
        }
    }

    // Completes the waiting consumer outside the current call.
    void complete_later(std::exception_ptr e) {
        asio::post(executor, [self = shared_from_this(), waiting = std::move(receiver), e]() mutable {
            waiting.release()->complete(std::move(e), std::nullopt, self->executor);
        });
    }

    std::exception_ptr end_error(const boost::system::error_code& ec) const {
        if (!failure.empty())
            return std::make_exception_ptr(transport_error(
                "connection_lost", operation + ": the server broke the WebSocket protocol (it sent " + failure +
                                       "); the connection was closed"));
        return ws_impl::is_clean_end(ec) ? nullptr : ws_impl::lost_error(operation, idle, ec);
    }

    strand_type strand;
    asio::any_io_executor executor;  // the strand
    std::atomic<std::uint64_t> tickets = 0;  // receives initiated (arm_cancellation)
    std::uint64_t waiting = 0;               // the ticket of `receiver`
    std::optional<std::string> ahead;  // read while nobody waited: the reader stops until it is taken
    std::optional<boost::system::error_code> read_end;  // after `ahead`
    bool inbox_closed = false;        // ws_close: nothing more is delivered
    static constexpr std::size_t receiver_space_size = 64;
    alignas(std::max_align_t) unsigned char receiver_space[receiver_space_size];
    bool receiver_space_taken = false;
    receiver_type receiver;           // the consumer waiting for a message (only while `ahead` is empty)
    asio::steady_timer reader_wake;   // never expires; cancelled to wake the reader (wait_for_consumer)
    asio::steady_timer write_gate;    // never expires; cancelled to wake waiting writers
    asio::steady_timer keepalive;     // the idle check's tick (see keepalive_loop)
    asio::steady_timer reading_stopped;  // never expires; cancelled when the reader stops
    bool writing = false;             // a frame (text, ping or close) is being written
    bool closing = false;             // ws_close was called
    bool close_sent = false;          // our close frame is written or on its way
    bool reading_ended = false;       // the reader has stopped: no more ticks
    bool socket_dead = false;         // a read failed or met the end: nothing more can be written
    std::string failure;              // what the server sent that RFC 6455 forbids, if it did
    bool consumer_paused = false;     // the reader waits for a consumer (see deliver)
    bool idle_expired = false;        // the idle check gave up on the connection
    std::uint64_t progress = 0;       // reads completed, control frames included
    std::optional<boost::system::error_code> ended;  // how the connection ended, once seen
    std::string operation;
    std::chrono::milliseconds idle;
    std::shared_ptr<ws_live_set> live;  // the registry of the context (see ws_registry)
};

inline void ws_registry::shutdown() {
    // No thread runs the context any more. Holding each connection while its
    // receiver goes keeps the frame's destruction from freeing it under us.
    std::vector<std::shared_ptr<ws_connection>> connections;
    {
        std::lock_guard lock(set->mu);
        for (auto* c : set->live)
            if (auto p = c->weak_from_this().lock()) connections.push_back(std::move(p));
    }
    for (auto& c : connections) {
        c->receiver.reset();
        c->ahead.reset();
    }
}

} // namespace wrenn::detail
