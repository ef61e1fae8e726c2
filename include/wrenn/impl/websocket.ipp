#pragma once

#include <wrenn/detail/websocket.hpp>
#include <wrenn/error.hpp>
#include <wrenn/impl/http_transport.ipp>
#include <wrenn/protocol/answers.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>

namespace wrenn::detail {

namespace websocket = beast::websocket;

class ws_connection {
public:
    using inbox_type = asio::experimental::channel<void(boost::system::error_code, std::string)>;

    ws_connection(asio::any_io_executor ex, std::string operation, std::chrono::milliseconds idle)
        : executor(ex), inbox(ex, 16), write_gate(ex, clock::time_point::max()), keepalive(ex),
          operation(std::move(operation)), idle(idle) {}
    virtual ~ws_connection() = default;

    // One text frame; a Beast error code, never an exception.
    virtual asio::awaitable<boost::system::error_code> write_text(std::string_view text) = 0;
    virtual asio::awaitable<boost::system::error_code> ping() = 0;
    virtual asio::awaitable<void> close_handshake() = 0;
    virtual void close_socket() = 0;
    virtual bool is_open() const = 0;  // false once Beast has begun closing or failing it

    asio::any_io_executor executor;
    inbox_type inbox;                 // messages read ahead by the reader; its end last
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
    static asio::awaitable<void> read_loop(std::shared_ptr<ws_stream> self) {
        co_await self->read_messages();
        self->reading_ended = true;
        self->keepalive.cancel();
    }

    asio::awaitable<void> read_messages() {
        beast::flat_buffer buf;
        for (;;) {
            // read_some rather than read: each piece of a long message counts as progress
            boost::system::error_code ec;
            std::string text;
            for (;;) {
                auto [e, n] =
                    co_await ws.async_read_some(buf, ws.read_size_hint(buf), asio::as_tuple(asio::use_awaitable));
                ++progress;
                if (e) {
                    ec = idle_expired ? boost::system::error_code(beast::error::timeout) : e;
                    break;
                }
                if (ws.is_message_done()) {
                    text = beast::buffers_to_string(buf.data());
                    buf.consume(buf.size());
                    break;
                }
            }
            if (!inbox.try_send(ec, std::move(text))) {  // (moves only on success)
                // The consumer is behind. No read runs meanwhile, so no pong
                // could be seen: the idle check must not blame the server for
                // our consumer's pace.
                consumer_paused = true;
                auto [sent] =
                    co_await inbox.async_send(ec, std::move(text), asio::as_tuple(asio::use_awaitable));
                consumer_paused = false;
                if (sent) co_return;
            }
            if (ec) co_return;
        }
    }

    websocket::stream<Next> ws;
};

namespace ws_impl {

inline bool is_clean_end(const boost::system::error_code& ec) {
    return ec == websocket::error::closed || ec == asio::error::eof || ec == asio::ssl::error::stream_truncated ||
           ec == asio::error::operation_aborted || ec == asio::experimental::error::channel_closed;
}

[[noreturn]] inline void throw_for(const ws_connection& c, const boost::system::error_code& ec) {
    if (ec == beast::error::timeout)
        throw timeout_error("idle_timeout", c.operation + ": no data from the server for " + describe_ms(c.idle) +
                                                ", not even an answer to a ping (idle timeout); "
                                                "the connection is considered lost");
    throw transport_error("connection_lost", c.operation + ": the connection was lost: " + ec.message());
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
    asio::co_spawn(conn->executor, ws_stream<Next>::read_loop(conn), asio::detached);
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

WRENN_DECL std::optional<std::string> ws_try_receive(ws_connection& c) {
    std::optional<std::string> message;
    if (!c.ended) {
        c.inbox.try_receive([&](boost::system::error_code e, std::string t) {
            if (e) c.ended = e;
            else message.emplace(std::move(t));
        });
    }
    return message;
}

WRENN_DECL asio::awaitable<std::optional<std::string>> ws_receive(std::shared_ptr<ws_connection> c) {
    if (auto message = ws_try_receive(*c)) co_return message;
    if (!c->ended) {
        auto [ec, text] = co_await c->inbox.async_receive(asio::as_tuple(asio::use_awaitable));
        if (!ec) co_return std::move(text);
        auto cs = co_await asio::this_coro::cancellation_state;
        if (cs.cancelled() != asio::cancellation_type::none)
            throw boost::system::system_error(asio::error::operation_aborted);
        c->ended = ec;
    }
    if (ws_impl::is_clean_end(*c->ended)) co_return std::nullopt;
    ws_impl::throw_for(*c, *c->ended);
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
    c->inbox.close();
    asio::co_spawn(c->executor, ws_impl::close_task(c, std::move(last_message)), asio::detached);
}

WRENN_DECL asio::awaitable<void> ws_close_wait(std::shared_ptr<ws_connection> c, std::string last_message) {
    if (!c || c->closing) co_return;
    c->closing = true;
    c->inbox.close();
    co_await ws_impl::close_task(c, std::move(last_message));
}

} // namespace wrenn::detail
