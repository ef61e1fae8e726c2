#pragma once

#include <wrenn/detail/websocket.hpp>
#include <wrenn/error.hpp>
#include <wrenn/impl/http_transport.ipp>
#include <wrenn/protocol/answers.hpp>

#include <boost/asio/append.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <new>
#include <utility>

namespace wrenn::detail {

namespace websocket = beast::websocket;

namespace ws_impl {

inline bool is_clean_end(const boost::system::error_code& ec) {
    return ec == websocket::error::closed || ec == asio::error::eof || ec == asio::ssl::error::stream_truncated ||
           ec == asio::error::operation_aborted;
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
            asio::get_associated_cancellation_slot(h).clear();
            auto target = asio::get_associated_executor(h, ex);
            // on ex already: what dispatch would do, minus two type-erased executor calls
            if (target == ex) std::move(h)(std::move(e), std::move(m));
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
    static constexpr std::size_t inbox_capacity = 16;

    ws_connection(asio::any_io_executor ex, std::string operation, std::chrono::milliseconds idle)
        : executor(ex), room(ex, clock::time_point::max()), write_gate(ex, clock::time_point::max()),
          keepalive(ex), operation(std::move(operation)), idle(idle) {}
    virtual ~ws_connection() = default;

    // One text frame; a Beast error code, never an exception.
    virtual asio::awaitable<boost::system::error_code> write_text(std::string_view text) = 0;
    virtual asio::awaitable<boost::system::error_code> ping() = 0;
    virtual asio::awaitable<void> close_handshake() = 0;
    virtual void close_socket() = 0;
    virtual bool is_open() const = 0;  // false once Beast has begun closing or failing it

    // The inbox: messages the reader has read ahead, then how reading ended.
    // Not a channel: a consumer that is already waiting is resumed straight
    // from the reader (dispatch), which saves a trip through the scheduler
    // per message when the consumer keeps up.
    bool inbox_empty() const { return inbox_size == 0; }
    bool inbox_full() const { return inbox_size == inbox_capacity; }
    void inbox_push(std::string text) { inbox[(inbox_head + inbox_size++) % inbox_capacity] = std::move(text); }
    std::string inbox_pop() {
        std::string text = std::move(inbox[inbox_head]);
        inbox_head = (inbox_head + 1) % inbox_capacity;
        --inbox_size;
        // wake a reader waiting for room once half the inbox is free, not per message
        if (consumer_paused && inbox_size <= inbox_capacity / 2) room.cancel();
        return text;
    }

    // The reader's side: a message (or, with ec, the end) goes to the waiting
    // consumer, resumed right here when it runs on this thread, or into the inbox.
    void deliver(boost::system::error_code ec, std::string text) {
        if (!receiver) {
            if (ec) read_end = ec;
            else inbox_push(std::move(text));
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
        if (!inbox_empty()) return inbox_pop();
        if (read_end) ended = read_end;
        return std::nullopt;
    }

    // ws_receive's initiation: completes at once (posted) when a message or
    // the end is known, else waits for the reader's next delivery. A
    // cancelled wait completes with operation_aborted and loses no message.
    template <class Handler>
    void start_receive(Handler handler) {
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
                return wait_for_delivery(std::move(handler));
        }
        asio::post(executor, asio::append(std::move(handler), std::move(e), std::move(m)));
    }

    template <class Handler>
    void wait_for_delivery(Handler handler) {
        auto slot = asio::get_associated_cancellation_slot(handler);
        constexpr bool fits = sizeof(receiver_of<Handler>) <= receiver_space_size &&
                              alignof(receiver_of<Handler>) <= alignof(std::max_align_t);
        // (taken while a cancelled wait's completion is still on its way)
        bool in_space = fits && !receiver_space_taken;
        void* where = in_space ? static_cast<void*>(receiver_space) : ::operator new(sizeof(receiver_of<Handler>));
        receiver.reset(new (where) receiver_of<Handler>(std::move(handler), in_space ? &receiver_space_taken : nullptr));
        receiver_space_taken = receiver_space_taken || in_space;
        if (slot.is_connected())
            slot.assign([weak = weak_from_this(), mine = receiver.get()](asio::cancellation_type) {
                auto c = weak.lock();
                if (!c || c->receiver.get() != mine) return;  // completed, or another coroutine's wait
                // later, as complete() clears the slot whose handler this lambda is
                c->complete_later(std::make_exception_ptr(boost::system::system_error(asio::error::operation_aborted)));
            });
    }

    // ws_close: the messages not yet taken are dropped and receiving ends cleanly.
    void close_inbox() {
        inbox_closed = true;
        for (auto& m : inbox) m = std::string();
        inbox_size = 0;
        read_end = asio::error::operation_aborted;
        room.cancel();
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
        return ws_impl::is_clean_end(ec) ? nullptr : ws_impl::lost_error(operation, idle, ec);
    }

    asio::any_io_executor executor;
    std::array<std::string, inbox_capacity> inbox;
    std::size_t inbox_head = 0, inbox_size = 0;
    std::optional<boost::system::error_code> read_end;  // after the inbox's messages
    bool inbox_closed = false;        // ws_close: nothing more is delivered
    static constexpr std::size_t receiver_space_size = 64;
    alignas(std::max_align_t) unsigned char receiver_space[receiver_space_size];
    bool receiver_space_taken = false;
    receiver_type receiver;           // the consumer waiting for a message (only if the inbox is empty)
    asio::steady_timer room;          // never expires; cancelled to wake the reader when the inbox has room
    asio::steady_timer write_gate;    // never expires; cancelled to wake waiting writers
    asio::steady_timer keepalive;     // the idle check's tick (see keepalive_loop)
    bool writing = false;             // a frame (text, ping or close) is being written
    bool closing = false;
    bool reading_ended = false;       // the reader has stopped: no more ticks
    bool consumer_paused = false;     // the reader waits for room in the inbox
    bool idle_expired = false;        // the idle check gave up on the connection
    std::uint64_t progress = 0;       // reads completed, control frames included
    std::optional<boost::system::error_code> ended;  // how the connection ended, once seen
    std::string operation;
    std::chrono::milliseconds idle;
};

template <class Next>
class ws_stream final : public ws_connection {
public:
    ws_stream(Next next, std::string operation, std::chrono::milliseconds idle)
        : ws_connection(next.get_executor(), std::move(operation), idle), ws(std::move(next)) {}

    asio::awaitable<boost::system::error_code> write_text(std::string_view text) override {
        ws.text(true);
        // not cancellable: a half-written frame would break the connection
        auto [ec, n] = co_await ws.async_write(
            asio::buffer(text.data(), text.size()),
            asio::bind_cancellation_slot(asio::cancellation_slot(), asio::as_tuple(asio::use_awaitable)));
        co_return ec;
    }

    asio::awaitable<void> close_handshake() override {
        (void)co_await ws.async_close(
            websocket::close_code::normal,
            asio::bind_cancellation_slot(asio::cancellation_slot(), asio::as_tuple(asio::use_awaitable)));
    }

    void close_socket() override {
        boost::system::error_code ec;
        beast::get_lowest_layer(ws).socket().shutdown(tcp::socket::shutdown_both, ec);
        beast::get_lowest_layer(ws).socket().close(ec);
    }

    bool is_open() const override { return ws.is_open(); }

    asio::awaitable<boost::system::error_code> ping() override {
        auto [ec] = co_await ws.async_ping(
            {}, asio::bind_cancellation_slot(asio::cancellation_slot(), asio::as_tuple(asio::use_awaitable)));
        co_return ec;
    }

    // Reads every message into the inbox until the connection ends; owns the
    // connection meanwhile. Backpressure: it waits while the inbox is full.
    // The reader: reads every message into the inbox, or straight to a
    // waiting consumer, until the connection ends; owns the connection
    // meanwhile. Completion handlers rather than a coroutine: no coroutine
    // frame per read. Backpressure: no read while the inbox is full.
    static void start_reading(std::shared_ptr<ws_stream> self) { self->read_some(std::move(self)); }

    websocket::stream<Next> ws;

private:
    void read_some(std::shared_ptr<ws_stream> self) {
        // read_some rather than read: each piece of a long message counts as
        // progress. Into plain memory rather than a dynamic buffer: Beast's
        // dynamic-buffer read is one more composed operation per message
        // (another work guard, more executor copies) around this one.
        std::size_t want = ws.read_size_hint(first_read_size);  // the frame's rest, once its header is read
        if (read_buffer.size() - read_size < want) read_buffer.resize(std::max(read_size + want, 2 * read_buffer.size()));
        ws.async_read_some(asio::buffer(read_buffer.data() + read_size, read_buffer.size() - read_size),
                           [self = std::move(self)](boost::system::error_code e, std::size_t n) mutable {
                               self->on_read(std::move(self), e, n);
                           });
    }

    void on_read(std::shared_ptr<ws_stream> self, boost::system::error_code e, std::size_t n) {
        ++progress;
        read_size += n;
        if (e) {
            if (!inbox_closed) deliver(idle_expired ? boost::system::error_code(beast::error::timeout) : e, {});
            return stop_reading();
        }
        if (!ws.is_message_done()) return read_some(std::move(self));
        std::string text;
        if (read_size > 2 * first_read_size) {
            // a long message: hand over the buffer itself rather than copy it (and keep no large buffer)
            text = std::move(read_buffer);
            text.resize(read_size);
            read_buffer = std::string();
        } else {
            text.assign(read_buffer.data(), read_size);
        }
        read_size = 0;
        if (inbox_closed) return stop_reading();
        if (inbox_full()) {
            held = std::move(text);
            return wait_for_room(std::move(self));
        }
        deliver({}, std::move(text));
        read_some(std::move(self));
    }

    // The consumer is behind. No read runs meanwhile, so no pong could be
    // seen: the idle check must not blame the server for our consumer's pace.
    void wait_for_room(std::shared_ptr<ws_stream> self) {
        consumer_paused = true;
        room.async_wait([self = std::move(self)](boost::system::error_code) mutable {
            self->consumer_paused = false;
            if (self->inbox_closed) return self->stop_reading();
            if (self->inbox_full()) return self->wait_for_room(std::move(self));
            self->deliver({}, std::move(self->held));
            self->read_some(std::move(self));
        });
    }

    void stop_reading() {
        reading_ended = true;
        keepalive.cancel();
    }

    static constexpr std::size_t first_read_size = 1536;  // Beast's own choice for a message's first read
    std::string read_buffer;  // the message being read: its first read_size bytes
    std::size_t read_size = 0;
    std::string held;  // the message read while the inbox was full
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

inline asio::awaitable<void> send_ping(std::shared_ptr<ws_connection> c) {
    (void)co_await c->ping();  // a failed ping shows as a read error or as silence
    release_write(*c);
}

// The idle timeout: a tick every idle/2. A tick that finds no read since the
// last one sends a ping; the next silent tick declares the connection lost.
// Beast's own idle timeout does the same but re-arms its timer (a system
// call) on every read, which cost a third of a busy stream's CPU.
inline asio::awaitable<void> keepalive_loop(std::shared_ptr<ws_connection> c) {
    auto seen = c->progress;
    bool pinged = false;
    for (;;) {
        c->keepalive.expires_after(c->idle / 2);
        auto [ec] = co_await c->keepalive.async_wait(asio::as_tuple(asio::use_awaitable));
        if (ec || c->reading_ended || c->closing) co_return;
        if (!c->is_open()) {
            // Beast is failing the connection (the server broke the protocol)
            // and waits for the server to hang up, which it may never do.
            c->close_socket();
            co_return;
        }
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

inline asio::awaitable<void> close_task(std::shared_ptr<ws_connection> c, std::string last_message) {
    // a cancelled close() must still end with a closed socket
    co_await asio::this_coro::reset_cancellation_state();
    // the peer gets a second to answer the close frame; then the socket just closes
    asio::steady_timer guard(c->executor, std::chrono::seconds(1));
    guard.async_wait([weak = std::weak_ptr<ws_connection>(c)](boost::system::error_code ec) {
        if (auto conn = weak.lock(); conn && !ec) conn->close_socket();
    });
    if (!c->ended) {
        co_await acquire_write(*c);
        if (!last_message.empty()) (void)co_await c->write_text(last_message);
        co_await c->close_handshake();
        release_write(*c);
    }
    guard.cancel();
    c->close_socket();
}

template <class Next>
asio::awaitable<std::shared_ptr<ws_connection>> handshake(std::shared_ptr<http_transport> t, Next next,
                                                          std::string target, std::string operation,
                                                          clock::time_point deadline) {
    const auto& s = t->settings();
    auto conn = std::make_shared<ws_stream<Next>>(std::move(next), std::move(operation), s.timeouts.idle);
    auto& ws = conn->ws;
    beast::get_lowest_layer(ws).expires_never();  // the websocket's own timeouts take over
    websocket::stream_base::timeout to{};
    to.handshake_timeout = std::max(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()),
                                    std::chrono::milliseconds(1));
    to.idle_timeout = websocket::stream_base::none();  // keepalive_loop's job, once open
    to.keep_alive_pings = false;
    ws.set_option(to);
    ws.control_callback([raw = conn.get()](websocket::frame_type, beast::string_view) { ++raw->progress; });
    ws.set_option(websocket::stream_base::decorator(
        [key = s.api_key, agent = t->user_agent()](websocket::request_type& r) {
            if (!key.empty()) r.set("X-API-Key", key);
            r.set(beast::http::field::user_agent, agent);
        }));
    ws.read_message_max(64 * 1024 * 1024);
    websocket::response_type res;
    auto [ec] = co_await ws.async_handshake(res, t->host_header(), target, asio::as_tuple(asio::use_awaitable));
    // Only upgrade_declined means an answer came: Beast sets the response to
    // 500 before reading one, so a timeout or reset would look like a 500.
    if (ec == websocket::error::upgrade_declined) {
        std::optional<std::chrono::seconds> retry;
        if (auto it = res.find(beast::http::field::retry_after); it != res.end())
            retry = protocol::parse_retry_after(it->value());
        protocol::error_context ctx{conn->operation, false};
        protocol::throw_http_error(res.result_int(), res.body(), retry, ctx);
    }
    if (ec == beast::error::timeout)
        throw timeout_error("connect_timeout", conn->operation + ": the WebSocket upgrade did not complete in time "
                                                                 "(twice the connect timeout)");
    if (ec) {
        http_request what;
        what.target = target;
        http_transport& transport = *t;
        transport.fail(ec, what, deadline, "opening the WebSocket");
    }
    // Open: a close (ours, or Beast's after a protocol violation) waits a
    // second for the peer's close frame, as close_task does.
    to.handshake_timeout = std::chrono::seconds(1);
    ws.set_option(to);
    ws_stream<Next>::start_reading(conn);
    if (conn->idle.count() > 0) asio::co_spawn(conn->executor, keepalive_loop(conn), asio::detached);
    co_return conn;
}

} // namespace ws_impl

WRENN_DECL asio::awaitable<std::shared_ptr<ws_connection>> open_websocket(std::shared_ptr<http_transport> t,
                                                                         std::string target, std::string operation) {
    const auto& s = t->settings();
    // connect + TLS within the connect timeout (connect() applies it), the upgrade within twice that
    auto deadline = clock::now() + s.timeouts.connect * 2;
    auto c = co_await t->connect_unpooled(deadline);
    if (c->tls) co_return co_await ws_impl::handshake(t, std::move(*c->tls), std::move(target), std::move(operation), deadline);
    co_return co_await ws_impl::handshake(t, std::move(*c->plain), std::move(target), std::move(operation), deadline);
}

WRENN_DECL std::optional<std::string> ws_try_receive(ws_connection& c) { return c.try_take(); }

WRENN_DECL asio::awaitable<std::optional<std::string>> ws_receive(std::shared_ptr<ws_connection> c) {
    // An asynchronous operation rather than a coroutine: one frame less per message.
    return asio::async_initiate<const asio::use_awaitable_t<>&, ws_connection::receive_signature>(
        [](auto handler, std::shared_ptr<ws_connection> conn) { conn->start_receive(std::move(handler)); },
        asio::use_awaitable, std::move(c));
}

WRENN_DECL asio::awaitable<void> ws_send(std::shared_ptr<ws_connection> c, std::string text) {
    if (c->closing || c->ended)
        throw transport_error("connection_closed", c->operation + ": the connection is already closed");
    co_await ws_impl::acquire_write(*c);
    auto ec = co_await c->write_text(text);
    ws_impl::release_write(*c);
    if (ec) ws_impl::throw_for(*c, ec);
}

WRENN_DECL void ws_close(const std::shared_ptr<ws_connection>& c, std::string last_message) {
    if (!c || c->closing) return;
    c->closing = true;
    c->close_inbox();
    asio::co_spawn(c->executor, ws_impl::close_task(c, std::move(last_message)), asio::detached);
}

WRENN_DECL asio::awaitable<void> ws_close_wait(std::shared_ptr<ws_connection> c, std::string last_message) {
    if (!c || c->closing) co_return;
    c->closing = true;
    c->close_inbox();
    co_await ws_impl::close_task(c, std::move(last_message));
}

} // namespace wrenn::detail
