#pragma once

#include <wrenn/detail/websocket.hpp>
#include <wrenn/error.hpp>
#include <wrenn/impl/http_transport.ipp>
#include <wrenn/protocol/answers.hpp>
#include <wrenn/protocol/http_answer.hpp>
#include <wrenn/protocol/ws_frames.hpp>

#include <boost/asio/append.hpp>
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

namespace ws_impl {
inline asio::awaitable<void> send_control(std::shared_ptr<ws_connection> c, protocol::ws_opcode op, std::string payload);
inline asio::awaitable<void> close_task(std::shared_ptr<ws_connection> c, std::string last_message, std::uint16_t code);
} // namespace ws_impl

template <class Next>
class ws_stream final : public ws_connection {
public:
    ws_stream(strand_type strand, Next next, std::string operation, std::chrono::milliseconds idle)
        : ws_connection(std::move(strand), std::move(operation), idle), next(std::move(next)) {}

    asio::awaitable<boost::system::error_code> write_frame(protocol::ws_opcode op, std::string_view payload) override {
        std::array<unsigned char, 4> mask{};
        RAND_bytes(mask.data(), static_cast<int>(mask.size()));  // RFC 6455 §5.3: unpredictable
        out.clear();
        protocol::append_ws_frame(out, op, payload, mask);
        // not cancellable: a half-written frame would break the connection
        auto [ec, n] = co_await asio::async_write(
            io(), asio::buffer(out),
            asio::bind_cancellation_slot(asio::cancellation_slot(), asio::as_tuple(asio::use_awaitable)));
        co_return ec;
    }

    void close_socket() override {
        boost::system::error_code ec;
        beast::get_lowest_layer(next).socket().shutdown(tcp::socket::shutdown_both, ec);
        beast::get_lowest_layer(next).socket().close(ec);
    }

    // Plain: the socket itself (Beast's tcp_stream would add its timer
    // bookkeeping to every read); TLS: the SSL stream.
    auto& io() {
        if constexpr (std::is_same_v<Next, beast::tcp_stream>) return next.socket();
        else return next;
    }

    // The reader: reads the socket into `in`, hands each message to a waiting
    // consumer or keeps it (deliver), answers pings, until the connection ends; owns
    // the connection meanwhile. Completion handlers rather than a coroutine:
    // no frame per read, and every message already read is handed out
    // before the next read. `already` holds bytes read past the upgrade's answer.
    static void start_reading(std::shared_ptr<ws_stream> self, std::string_view already) {
        self->in.resize(std::max(read_size, already.size()));
        std::copy(already.begin(), already.end(), self->in.begin());
        self->in_end = already.size();
        // posted: the caller's first message (a stream's start) goes out
        // before whatever the server sent already is judged
        auto ex = self->executor;
        asio::post(ex, [self = std::move(self)]() mutable { self->decode(std::move(self)); });
    }

    Next next;
    bool handshaking = true;
    bool handshake_timed_out = false;

private:
    void read_more(std::shared_ptr<ws_stream> self) {
        // only a frame header cut short is left over: move it to the front
        std::copy(in.begin() + static_cast<std::ptrdiff_t>(in_begin), in.begin() + static_cast<std::ptrdiff_t>(in_end),
                  in.begin());
        in_end -= in_begin;
        in_begin = 0;
        io().async_read_some(asio::buffer(in.data() + in_end, in.size() - in_end),
                             [self = std::move(self)](boost::system::error_code e, std::size_t n) mutable {
                                 self->on_read(std::move(self), e, n);
                             });
    }

    void on_read(std::shared_ptr<ws_stream> self, boost::system::error_code e, std::size_t n) {
        ++progress;
        in_end += n;
        if (e) {
            socket_dead = true;
            stop_reading();
            if (!inbox_closed) deliver(idle_expired ? boost::system::error_code(beast::error::timeout) : e, {});
            return;
        }
        decode(std::move(self));
    }

    // Hands out everything read so far, then reads more.
    void decode(std::shared_ptr<ws_stream> self) {
        using event = protocol::ws_reader::event;
        for (;;) {
            std::size_t used = 0;
            auto ev = reader.read(in.data() + in_begin, in_end - in_begin, used);
            in_begin += used;
            switch (ev) {
            case event::need_more: return read_more(std::move(self));
            case event::message:
                if (inbox_closed) break;  // closing: what is still coming is dropped
                if (!receiver) {
                    deliver({}, reader.take_message());
                    return wait_for_consumer(std::move(self));
                }
                deliver({}, reader.take_message());  // resumes the consumer right here
                break;
            case event::ping:
                if (!close_sent)
                    asio::co_spawn(executor,
                                   ws_impl::send_control(self, protocol::ws_opcode::pong, std::string(reader.payload())),
                                   asio::detached);
                break;
            case event::pong: break;
            case event::close:
                // the server ends the connection: answer with its code, then close the socket
                if (!close_sent) {
                    auto code = reader.close_code() == 1005 ? protocol::ws_close_normal : reader.close_code();
                    asio::co_spawn(executor, ws_impl::close_task(self, {}, code), asio::detached);
                }
                stop_reading();
                if (!inbox_closed) deliver(asio::error::eof, {});
                return;
            case event::failed:
                // the close frame says why, before any close the consumer makes on hearing of it
                failure = reader.failure();
                asio::co_spawn(executor, ws_impl::close_task(self, {}, reader.failure_code()), asio::detached);
                stop_reading();
                if (!inbox_closed) deliver(boost::system::errc::make_error_code(boost::system::errc::protocol_error), {});
                return;
            }
        }
    }

    // The consumer is behind: decoding stops until it waits for the next
    // message (or the connection is being closed). No read runs meanwhile,
    // so no pong could be seen: the idle check must not blame the server for
    // our consumer's pace.
    void wait_for_consumer(std::shared_ptr<ws_stream> self) {
        consumer_paused = true;
        reader_wake.async_wait([self = std::move(self)](boost::system::error_code) mutable {
            self->consumer_paused = false;
            if (self->ahead && !self->inbox_closed) return self->wait_for_consumer(std::move(self));
            self->decode(std::move(self));
        });
    }

    static constexpr std::size_t read_size = 16 * 1024;  // a TLS record; ~100 stdout messages
    std::string in;  // bytes read: [in_begin, in_end) not decoded yet
    std::size_t in_begin = 0, in_end = 0;
    protocol::ws_reader reader;
    std::string out;   // the frame being written (writes take turns: acquire_write)
};

namespace ws_impl {

[[noreturn]] inline void throw_for(const ws_connection& c, const boost::system::error_code& ec) {
    std::rethrow_exception(lost_error(c.operation, c.idle, ec));
}

inline asio::awaitable<void> acquire_write(ws_connection& c) {
    while (c.writing) {
        (void)co_await c.write_gate.async_wait(asio::as_tuple(asio::use_awaitable));
        auto cs = co_await asio::this_coro::cancellation_state;
        if (cs.cancelled() != asio::cancellation_type::none)
            throw boost::system::system_error(asio::error::operation_aborted);
    }
    c.writing = true;
}

inline void release_write(ws_connection& c) {
    c.writing = false;
    c.write_gate.cancel();
}

// A ping (the gate already taken by keepalive_loop). A failed one shows as a
// read error or as silence.
inline asio::awaitable<void> send_ping(std::shared_ptr<ws_connection> c) {
    (void)co_await c->write_frame(protocol::ws_opcode::ping, {});
    release_write(*c);
}

// A pong, in its turn among the writes.
inline asio::awaitable<void> send_control(std::shared_ptr<ws_connection> c, protocol::ws_opcode op, std::string payload) {
    co_await acquire_write(*c);
    if (!c->close_sent && !c->socket_dead) (void)co_await c->write_frame(op, payload);
    release_write(*c);
}

// The idle timeout: a tick every idle/2. A tick that finds no read since the
// last one sends a ping; the next silent tick declares the connection lost.
// (Beast's idle timeout re-armed its timer, a system call, on every read.)
inline asio::awaitable<void> keepalive_loop(std::shared_ptr<ws_connection> c) {
    auto seen = c->progress;
    bool pinged = false;
    for (;;) {
        c->keepalive.expires_after(c->idle / 2);
        auto [ec] = co_await c->keepalive.async_wait(asio::as_tuple(asio::use_awaitable));
        if (ec || c->reading_ended || c->closing) co_return;
        if (c->progress != seen || c->consumer_paused) {
            seen = c->progress;
            pinged = false;
        } else if (!pinged) {
            pinged = true;
            // a write in progress will do instead of a ping if the gate is taken
            if (!c->writing) {
                c->writing = true;
                asio::co_spawn(c->executor, send_ping(c), asio::detached);
            }
        } else {
            c->idle_expired = true;
            c->close_socket();  // the reader sees the error and reports the timeout
            co_return;
        }
    }
}

// Ends the connection: a close frame with `code` (after `last_message`)
// unless one was sent or the socket is gone, then the server's close frame
// or hang-up, then the socket closed; a second at most, whatever the server does.
inline asio::awaitable<void> close_task(std::shared_ptr<ws_connection> c, std::string last_message, std::uint16_t code) {
    // a cancelled close() must still end with a closed socket
    co_await asio::this_coro::reset_cancellation_state();
    asio::steady_timer guard(c->executor, std::chrono::seconds(1));
    guard.async_wait([weak = std::weak_ptr<ws_connection>(c)](boost::system::error_code ec) {
        if (auto conn = weak.lock(); conn && !ec) conn->close_socket();
    });
    if (!c->close_sent && !c->socket_dead) {
        c->close_sent = true;
        co_await acquire_write(*c);
        if (!last_message.empty()) (void)co_await c->write_frame(protocol::ws_opcode::text, last_message);
        (void)co_await c->write_frame(protocol::ws_opcode::close, protocol::ws_close_payload(code));
        release_write(*c);
    }
    // the reader, dropping any message still coming, stops at the server's close frame or hang-up
    if (!c->reading_ended) (void)co_await c->reading_stopped.async_wait(asio::as_tuple(asio::use_awaitable));
    guard.cancel();
    c->close_socket();
}

// The upgrade (RFC 6455 §4.1), written and read here rather than by Beast's
// WebSocket stream, so that the bytes after the 101 answer go to our reader.
template <class Next>
asio::awaitable<std::shared_ptr<ws_connection>> handshake(std::shared_ptr<http_transport> t,
                                                          ws_connection::strand_type strand, Next next,
                                                          std::string target, std::string operation,
                                                          clock::time_point deadline) {
    const auto& s = t->settings();
    auto conn = std::make_shared<ws_stream<Next>>(std::move(strand), std::move(next), std::move(operation),
                                                  s.timeouts.idle);
    beast::get_lowest_layer(conn->next).expires_never();  // keepalive_loop's job, once open
    // past the deadline the socket is closed, which ends the pending write or read
    asio::steady_timer limit(conn->executor, deadline);
    limit.async_wait([weak = std::weak_ptr<ws_stream<Next>>(conn)](boost::system::error_code ec) {
        auto c = weak.lock();
        if (ec || !c || !c->handshaking) return;
        c->handshake_timed_out = true;
        c->close_socket();
    });
    std::array<unsigned char, 16> nonce{};
    RAND_bytes(nonce.data(), static_cast<int>(nonce.size()));
    const std::string key = protocol::ws_key(nonce), upgrade = protocol::ws_upgrade_headers(key);
    protocol::request_head h;
    h.method = "GET";
    h.target = target;
    h.host = t->host_header();
    h.user_agent = t->user_agent();
    h.api_key = s.api_key;
    h.extra_headers = upgrade;
    std::string head;
    protocol::append_request_head(head, h);
    // The answer: a 101 is done after its head, and the bytes after it are
    // frames; any other status comes with an error page (1 MiB at most).
    using event = protocol::answer_reader::event;
    protocol::answer_reader answer({.body = 1024 * 1024});
    std::string buffer(16 * 1024, '\0'), body;
    std::size_t begin = 0, end = 0;
    auto [ec, n] = co_await asio::async_write(conn->io(), asio::buffer(head), asio::as_tuple(asio::use_awaitable));
    for (auto e = event::need_more; !ec && e != event::done;) {
        std::size_t used = 0;
        e = answer.read(buffer.data() + begin, end - begin, used);
        begin += used;
        if (e == event::body) body.append(answer.body());
        if (e == event::failed) break;
        if (e != event::need_more) continue;
        begin = end = 0;  // all taken
        std::tie(ec, n) = co_await conn->io().async_read_some(asio::buffer(buffer), asio::as_tuple(asio::use_awaitable));
        if (ec == asio::error::eof && answer.started()) {
            ec = {};
            if (answer.finish() != event::done) break;
            e = event::done;
        }
        end = n;
    }
    conn->handshaking = false;
    limit.cancel();
    if (conn->handshake_timed_out)
        throw timeout_error("connect_timeout", conn->operation + ": the WebSocket upgrade did not complete in time "
                                                                 "(twice the connect timeout)");
    http_request what;
    what.target = target;
    if (ec) {
        http_transport& transport = *t;
        transport.fail(ec, what, deadline, "opening the WebSocket");
    }
    if (!answer.is_done())
        throw transport_error("connection_failed", conn->operation +
                                                       ": the server's answer to the WebSocket upgrade could not be "
                                                       "read: " + answer.failure());
    if (answer.status() != 101) {
        std::optional<std::chrono::seconds> retry;
        if (auto v = answer.header("retry-after")) retry = protocol::parse_retry_after(*v);
        protocol::error_context ctx{conn->operation, false};
        protocol::throw_http_error(answer.status(), body, retry, ctx);
    }
    protocol::ws_upgrade_answer upgrade_answer{answer.header("upgrade"), answer.header("connection"),
                                               answer.header("sec-websocket-accept"),
                                               answer.header("sec-websocket-extensions"),
                                               answer.header("sec-websocket-protocol")};
    if (auto problem = protocol::ws_upgrade_problem(upgrade_answer, key))
        throw protocol_error("bad_upgrade", conn->operation + ": the server accepted the WebSocket upgrade (101) but " +
                                                *problem + "; is the base URL a Wrenn server, reached through no "
                                                           "proxy that rewrites WebSocket upgrades?");
    ws_stream<Next>::start_reading(conn, std::string_view(buffer).substr(begin, end - begin));
    if (conn->idle.count() > 0) asio::co_spawn(conn->executor, keepalive_loop(conn), asio::detached);
    co_return conn;
}

// Connects and upgrades, on the connection's strand.
inline asio::awaitable<std::shared_ptr<ws_connection>> open(std::shared_ptr<http_transport> t,
                                                            ws_connection::strand_type strand, std::string target,
                                                            std::string operation) {
    const auto& s = t->settings();
    // connect + TLS within the connect timeout (connect() applies it), the upgrade within twice that
    auto deadline = clock::now() + s.timeouts.connect * 2;
    auto c = co_await t->connect_unpooled(deadline, strand);
    if (c->tls)
        co_return co_await handshake(t, strand, std::move(*c->tls), std::move(target), std::move(operation), deadline);
    co_return co_await handshake(t, strand, std::move(*c->plain), std::move(target), std::move(operation), deadline);
}

inline asio::awaitable<void> send(std::shared_ptr<ws_connection> c, std::string text) {
    if (c->closing || c->ended || c->close_sent)
        throw transport_error("connection_closed", c->operation + ": the connection is already closed");
    co_await acquire_write(*c);
    auto ec = co_await c->write_frame(protocol::ws_opcode::text, text);
    release_write(*c);
    if (ec) throw_for(*c, ec);
}

inline asio::awaitable<void> close_wait(std::shared_ptr<ws_connection> c, std::string last_message) {
    if (c->closing) co_return;
    c->closing = true;
    c->close_inbox();
    co_await close_task(c, std::move(last_message), protocol::ws_close_normal);
}

} // namespace ws_impl

WRENN_DECL asio::awaitable<std::shared_ptr<ws_connection>> open_websocket(std::shared_ptr<http_transport> t,
                                                                         std::string target, std::string operation) {
    auto strand = asio::make_strand(t->get_executor());
    return asio::co_spawn(strand, ws_impl::open(std::move(t), strand, std::move(target), std::move(operation)),
                          asio::use_awaitable);
}

WRENN_DECL std::optional<std::string> ws_try_receive(ws_connection& c) {
    if (!c.strand.running_in_this_thread()) return std::nullopt;  // ws_receive will look, on the strand
    return c.try_take();
}

WRENN_DECL asio::awaitable<std::optional<std::string>> ws_receive(std::shared_ptr<ws_connection> c) {
    // An asynchronous operation rather than a coroutine: one frame less per message.
    return asio::async_initiate<const asio::use_awaitable_t<>&, ws_connection::receive_signature>(
        [](auto handler, std::shared_ptr<ws_connection> conn) {
            auto& strand = conn->strand;
            auto ticket = conn->arm_cancellation(handler);
            asio::dispatch(strand, [conn = std::move(conn), h = std::move(handler), ticket]() mutable {
                conn->start_receive(std::move(h), ticket);
            });
        },
        asio::use_awaitable, std::move(c));
}

WRENN_DECL asio::awaitable<void> ws_send(std::shared_ptr<ws_connection> c, std::string text) {
    auto strand = c->strand;
    return asio::co_spawn(strand, ws_impl::send(std::move(c), std::move(text)), asio::use_awaitable);
}

WRENN_DECL void ws_close(const std::shared_ptr<ws_connection>& c, std::string last_message) {
    if (!c) return;
    asio::dispatch(c->strand, [c, last_message = std::move(last_message)]() mutable {
        if (c->closing) return;
        c->closing = true;
        c->close_inbox();
        asio::co_spawn(c->executor, ws_impl::close_task(c, std::move(last_message), protocol::ws_close_normal),
                       asio::detached);
    });
}

WRENN_DECL asio::awaitable<void> ws_close_wait(std::shared_ptr<ws_connection> c, std::string last_message) {
    if (!c) co_return;
    if (c->strand.running_in_this_thread())  // a stream's or terminal's close(): there already
        co_return co_await ws_impl::close_wait(std::move(c), std::move(last_message));
    auto strand = c->strand;
    co_await asio::co_spawn(strand, ws_impl::close_wait(std::move(c), std::move(last_message)), asio::use_awaitable);
}

} // namespace wrenn::detail
