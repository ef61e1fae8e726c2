#pragma once

#include <wrenn/detail/ws_stream.hpp>
#include <wrenn/protocol/answers.hpp>
#include <wrenn/protocol/http_answer.hpp>

#include <openssl/rand.h>

namespace wrenn::detail {

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
        if (auto v = answer.header("x-request-id")) ctx.request_id = *v;
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
