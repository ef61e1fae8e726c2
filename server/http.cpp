// wrenn-local: the HTTP/1.1 server's connection loop (Beast, one coroutine
// per connection, plain TCP or TLS): accepting, reading each request's
// header and body, handing it to the API router and writing its answer.
// Upload routes get their body piecewise, file answers are sent piecewise
// (http_write.hpp): memory stays small whatever the size. WebSocket upgrades
// on the WebSocket routes leave HTTP for run_ws (ws_transport.hpp). Requests
// for `{port}-{capsule id}.<domain>` hosts bypass the API and are proxied to
// that port in the capsule (WIRE.md §12.2, proxy.hpp).
#include "api_errors.hpp"
#include "common.hpp"
#include "front.hpp"
#include "http_write.hpp"
#include "proxy.hpp"
#include "ws_transport.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace wl {

using tcp = asio::ip::tcp;

namespace {

bool closed_by_peer(const boost::system::error_code& ec) {
    return ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
           ec == asio::error::operation_aborted || ec == beast::error::timeout ||
           ec == asio::ssl::error::stream_truncated;
}

// Answers a request we will not serve (after a parse error `ec`), then closes
// (after a partial request we cannot resynchronise): the JSON envelope, then
// what the client still sends is read and dropped for a moment so that it
// sees the answer. (No helper coroutine between this one and write_answer:
// with one, g++ 12 broke the reference parameters here; found by the tests.)
template <class Stream>
asio::awaitable<void> refuse(Stream& stream, beast::tcp_stream& raw, boost::system::error_code ec) {
    answer refusal = refusal_for(ec);  // named first (g++ 12, see the README's compiler notes)
    stamp_request_id(refusal);
    raw.expires_after(io_timeout);
    if (co_await write_answer(stream, refusal, 11, false, false)) co_await linger(stream, raw);
}

asio::awaitable<answer> dispatch(app_state& app, request r) {
    try {
        co_return co_await handle_request(app, std::move(r));
    } catch (const std::exception& e) {
        log("internal error: %s", e.what());
    }
    co_return error_answer(500, "internal_error", "an internal error occurred");
}

// Serves HTTP requests until the connection ends, or until a WebSocket
// upgrade on a WebSocket route, which it returns (the caller hands the
// stream over to run_ws).
template <class Stream>
asio::awaitable<std::optional<ws_upgrade>> serve(app_state& app, Stream& stream, beast::tcp_stream& raw, beast::flat_buffer& buf) {
    for (;;) {
        // The header first: upload routes read their body piecewise. Waiting
        // for a request may take the idle timeout; once its first byte is
        // here, the whole header block must follow within the header timeout
        // (a client sending it a byte at a time is cut off).
        http::request_parser<http::empty_body> header_parser;
        header_parser.header_limit(header_limit);
        header_parser.body_limit(boost::none);  // checked below, per route
        if (buf.size() == 0) {
            raw.expires_after(idle_timeout);
            auto [fec, fn] = co_await stream.async_read_some(buf.prepare(4096), asio::as_tuple(use_awaitable));
            buf.commit(fn);
            if (fec && fn == 0) co_return std::nullopt;  // gone, or idle too long
        }
        raw.expires_after(app.header_timeout);
        auto [ec, n] = co_await http::async_read_header(stream, buf, header_parser, asio::as_tuple(use_awaitable));
        if (ec == beast::error::timeout) {
            log("a client did not send its request header within %lld ms: connection closed",
                static_cast<long long>(app.header_timeout.count()));
            co_return std::nullopt;  // the timeout closed the socket
        }
        if (closed_by_peer(ec)) co_return std::nullopt;
        if (ec) {
            co_await refuse(stream, raw, ec);
            co_return std::nullopt;
        }
        header_plan plan = plan_request(app, header_parser);
        if (plan.kind == header_plan::refused) {
            // (inline, not through a helper coroutine: see refuse())
            raw.expires_after(io_timeout);
            stamp_request_id(plan.refusal);
            if (co_await write_answer(stream, plan.refusal, plan.version, false, false)) co_await linger(stream, raw);
            co_return std::nullopt;
        }
        if (plan.kind == header_plan::proxied) {
            co_await proxy_request(app, stream, raw, buf, header_parser, plan.proxy);
            co_return std::nullopt;
        }
        if (plan.kind == header_plan::upgrade) {
            raw.expires_never();
            ws_upgrade up{header_parser.release(), std::move(plan.req), std::move(plan.ws)};
            co_return up;
        }
        request r = std::move(plan.req);
        const bool expect_continue = plan.expect_continue;
        bool keep = plan.keep_alive;
        const unsigned version = plan.version;
        const bool head = plan.head;
        auto send_continue = [&]() -> asio::awaitable<bool> {
            http::response<http::empty_body> cont{http::status::continue_, version};
            raw.expires_after(io_timeout);
            auto [wec, wn] = co_await http::async_write(stream, cont, asio::as_tuple(use_awaitable));
            co_return !wec;
        };

        answer a;
        bool body_complete = true;
        boost::system::error_code body_ec;
        if (!plan.streamed) {
            http::request_parser<http::string_body> parser{std::move(header_parser)};
            parser.body_limit(json_body_limit);  // chunked bodies (Content-Length: plan_request)
            if (expect_continue && !co_await send_continue()) co_return std::nullopt;
            raw.expires_after(io_timeout);
            std::tie(ec, n) = co_await http::async_read(stream, buf, parser, asio::as_tuple(use_awaitable));
            if (closed_by_peer(ec)) co_return std::nullopt;
            if (ec) {
                co_await refuse(stream, raw, ec);
                co_return std::nullopt;
            }
            r.body = std::move(parser.get().body());
            raw.expires_never();
            a = co_await dispatch(app, std::move(r));
        } else {
            http::request_parser<http::buffer_body> parser{std::move(header_parser)};
            parser.body_limit(boost::none);  // the route enforces its own limit
            std::vector<char> chunk(file_chunk);
            bool continue_sent = !expect_continue;
            r.read_body = [&]() -> asio::awaitable<body_piece> {
                if (body_ec) co_return body_piece{{}, false, true};
                if (parser.is_done()) co_return body_piece{{}, true, false};
                if (!continue_sent) {
                    continue_sent = true;
                    if (!co_await send_continue()) {
                        body_ec = asio::error::connection_reset;
                        co_return body_piece{{}, false, true};
                    }
                }
                parser.get().body().data = chunk.data();
                parser.get().body().size = chunk.size();
                raw.expires_after(io_timeout);
                auto [rec, rn] = co_await http::async_read(stream, buf, parser, asio::as_tuple(use_awaitable));
                raw.expires_never();
                if (rec && rec != http::error::need_buffer) {
                    body_ec = rec;
                    co_return body_piece{{}, false, true};
                }
                std::size_t got = chunk.size() - parser.get().body().size;
                co_return body_piece{std::string_view(chunk.data(), got), parser.is_done(), false};
            };
            raw.expires_never();
            a = co_await dispatch(app, std::move(r));
            body_complete = parser.is_done();
        }
        if (body_ec) {
            if (!closed_by_peer(body_ec) && body_ec.category() == make_error_code(http::error::bad_chunk).category())
                co_await refuse(stream, raw, body_ec);  // malformed chunked encoding etc.
            co_return std::nullopt;
        }
        if (!body_complete) keep = false;
        raw.expires_after(io_timeout);
        stamp_request_id(a);
        bool ok;
        if (a.file) ok = co_await write_file_answer(stream, raw, a, version, keep);
        else ok = co_await write_answer(stream, a, version, keep, head);
        if (!ok) co_return std::nullopt;
        if (!body_complete) {
            co_await linger(stream, raw);
            co_return std::nullopt;
        }
        if (!keep) co_return std::nullopt;
    }
}

asio::awaitable<void> plain_session(app_state& app, tcp::socket sock) {
    beast::tcp_stream stream(std::move(sock));
    beast::flat_buffer buf;
    auto up = co_await serve(app, stream, stream, buf);
    if (up) {
        co_await run_ws(app, std::move(stream), std::move(*up));
        co_return;
    }
    boost::system::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

asio::awaitable<void> tls_session(app_state& app, tcp::socket sock, asio::ssl::context& ctx) {
    asio::ssl::stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(sock)), ctx);
    beast::flat_buffer buf;
    beast::get_lowest_layer(stream).expires_after(io_timeout);
    auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, asio::as_tuple(use_awaitable));
    if (ec) co_return;
    auto up = co_await serve(app, stream, beast::get_lowest_layer(stream), buf);
    if (up) {
        co_await run_ws(app, std::move(stream), std::move(*up));
        co_return;
    }
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
    (void)co_await stream.async_shutdown(asio::as_tuple(use_awaitable));
}

void log_errors(std::exception_ptr e) {
    if (!e) return;
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        log("connection error: %s", ex.what());
    }
}

asio::awaitable<void> accept_loop(app_state& app, tcp::acceptor acceptor,
                                  std::shared_ptr<asio::ssl::context> ctx) {
    for (;;) {
        auto [ec, sock] = co_await acceptor.async_accept(asio::as_tuple(use_awaitable));
        if (ec) {
            if (ec == asio::error::operation_aborted) co_return;
            log("accept: %s", ec.message().c_str());
            continue;
        }
        sock.set_option(tcp::no_delay(true), ec);
        if (ctx) asio::co_spawn(app.io, tls_session(app, std::move(sock), *ctx), log_errors);
        else asio::co_spawn(app.io, plain_session(app, std::move(sock)), log_errors);
    }
}

} // namespace

unsigned short start_http(app_state& app, const std::string& host, unsigned short port,
                          const std::optional<tls_files>& tls) {
    std::shared_ptr<asio::ssl::context> ctx;
    if (tls) {
        ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
        ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                         asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                         asio::ssl::context::no_tlsv1_1);
        ctx->use_certificate_chain_file(tls->cert);
        ctx->use_private_key_file(tls->key, asio::ssl::context::pem);
    }
    tcp::endpoint ep(asio::ip::make_address(host), port);
    tcp::acceptor acceptor(app.io);
    acceptor.open(ep.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(ep);
    acceptor.listen(asio::socket_base::max_listen_connections);
    unsigned short bound = acceptor.local_endpoint().port();
    asio::co_spawn(app.io, accept_loop(app, std::move(acceptor), ctx), log_errors);
    return bound;
}

} // namespace wl
