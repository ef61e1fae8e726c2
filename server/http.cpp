// wrenn-local: the HTTP/1.1 server (Beast, one coroutine per connection,
// plain TCP or TLS). Upload routes get their body piecewise, file answers
// are sent piecewise: memory stays small whatever the size.
#include "common.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cerrno>
#include <limits>

#include <unistd.h>

namespace wl {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using asio::use_awaitable;

namespace {

constexpr auto idle_timeout = std::chrono::seconds(620);
constexpr auto io_timeout = std::chrono::seconds(60);
constexpr std::size_t file_chunk = 64 * 1024;  // streamed bodies move in pieces of this size

template <class Stream>
asio::awaitable<bool> write_answer(Stream& stream, const answer& a, unsigned version, bool keep_alive,
                                   bool head) {
    http::response<http::string_body> res{static_cast<http::status>(a.status), version};
    res.set(http::field::server, "wrenn-local/0.1.0");
    if (!a.content_type.empty()) res.set(http::field::content_type, a.content_type);
    for (auto& [k, v] : a.headers) res.set(k, v);
    res.keep_alive(keep_alive);
    res.body() = a.body;
    res.prepare_payload();
    if (head) res.body().clear();
    if (a.status == 204) {
        res.body().clear();
        res.erase(http::field::content_length);
    }
    http::response_serializer<http::string_body> sr{res};
    if (head) sr.split(true);
    boost::system::error_code ec;
    if (head) std::tie(ec, std::ignore) = co_await http::async_write_header(stream, sr, asio::as_tuple(use_awaitable));
    else std::tie(ec, std::ignore) = co_await http::async_write(stream, sr, asio::as_tuple(use_awaitable));
    co_return !ec;
}

// The body of an answer that carries an open file: read and sent 64 KiB at a
// time (constant memory), with Content-Length or chunked. false when the
// connection must close (write error, or the file shrank under a fixed length).
template <class Stream>
asio::awaitable<bool> write_file_answer(Stream& stream, beast::tcp_stream& raw, const answer& a, unsigned version,
                                        bool keep_alive) {
    http::response<http::buffer_body> res{static_cast<http::status>(a.status), version};
    res.set(http::field::server, "wrenn-local/0.1.0");
    if (!a.content_type.empty()) res.set(http::field::content_type, a.content_type);
    for (auto& [k, v] : a.headers) res.set(k, v);
    res.keep_alive(keep_alive);
    if (a.file->length) res.content_length(*a.file->length);
    else res.chunked(true);
    res.body().data = nullptr;
    res.body().more = true;
    http::response_serializer<http::buffer_body> sr{res};
    raw.expires_after(io_timeout);
    auto [ec, n] = co_await http::async_write_header(stream, sr, asio::as_tuple(use_awaitable));
    if (ec) co_return false;
    std::vector<char> chunk(file_chunk);
    std::uint64_t left = a.file->length.value_or(std::numeric_limits<std::uint64_t>::max());
    for (;;) {
        auto want = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), left));
        ssize_t got = 0;
        if (want > 0) {
            do got = ::read(a.file->fd, chunk.data(), want);
            while (got < 0 && errno == EINTR);
        }
        if (got < 0) co_return false;                        // truncated body
        if (got == 0 && a.file->length && left > 0) co_return false;  // the file shrank
        if (got > 0) {
            res.body().data = chunk.data();
            res.body().size = static_cast<std::size_t>(got);
            left -= static_cast<std::uint64_t>(got);
        } else {
            res.body().data = nullptr;
            res.body().size = 0;
            res.body().more = false;
        }
        raw.expires_after(io_timeout);
        std::tie(ec, n) = co_await http::async_write(stream, sr, asio::as_tuple(use_awaitable));
        if (ec == http::error::need_buffer) ec = {};
        if (ec) co_return false;
        if (got == 0) co_return true;
    }
}

// After answering a request whose body was not read to its end: read and drop
// what the client still sends for a moment, so that closing the connection
// does not reset it before the client has read the answer.
template <class Stream>
asio::awaitable<void> linger(Stream& stream, beast::tcp_stream& raw) {
    std::vector<char> sink(file_chunk);
    raw.expires_after(std::chrono::seconds(3));
    for (;;) {
        auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink), asio::as_tuple(use_awaitable));
        if (ec) co_return;
    }
}

bool closed_by_peer(const boost::system::error_code& ec) {
    return ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
           ec == asio::error::operation_aborted || ec == beast::error::timeout ||
           ec == asio::ssl::error::stream_truncated;
}

template <class Stream>
asio::awaitable<void> refuse(Stream& stream, beast::tcp_stream& raw, const boost::system::error_code& ec) {
    bool too_large =
        ec == http::error::body_limit || ec == http::error::header_limit || ec == http::error::buffer_overflow;
    // A partial request: answer and close (we cannot resynchronise).
    raw.expires_after(io_timeout);
    // named first: g++ 12 miscompiles `co_await f(c ? aggregate : aggregate)`
    answer refusal = too_large ? error_answer(413, "too_large", "request too large")
                               : error_answer(400, "invalid_request", "malformed HTTP request");
    if (co_await write_answer(stream, std::move(refusal), 11, false, false)) co_await linger(stream, raw);
}

asio::awaitable<answer> dispatch(app_state& app, request r) {
    try {
        co_return co_await handle_request(app, std::move(r));
    } catch (const std::exception& e) {
        log("internal error: %s", e.what());
    }
    co_return error_answer(500, "internal_error", "an internal error occurred");
}

template <class Stream>
asio::awaitable<void> serve(app_state& app, Stream& stream, beast::tcp_stream& raw, beast::flat_buffer& buf) {
    for (;;) {
        // The header first: upload routes read their body piecewise.
        http::request_parser<http::empty_body> header_parser;
        header_parser.header_limit(64 * 1024);
        header_parser.body_limit(boost::none);  // checked below, per route
        raw.expires_after(idle_timeout);
        auto [ec, n] = co_await http::async_read_header(stream, buf, header_parser, asio::as_tuple(use_awaitable));
        if (closed_by_peer(ec)) co_return;
        if (ec) {
            co_await refuse(stream, raw, ec);
            co_return;
        }
        auto& h = header_parser.get();
        request r;
        r.method = std::string(h.method_string());
        r.target = std::string(h.target());
        if (auto it = h.find("X-API-Key"); it != h.end()) r.api_key = std::string(it->value());
        if (auto it = h.find(http::field::authorization); it != h.end()) r.authorization = std::string(it->value());
        r.content_type = std::string(h[http::field::content_type]);
        if (auto len = header_parser.content_length()) r.content_length = *len;
        const bool expect_continue = beast::iequals(h[http::field::expect], "100-continue");
        bool keep = h.keep_alive();
        const unsigned version = h.version();
        bool head = r.method == "HEAD";
        if (head) r.method = "GET";
        auto send_continue = [&]() -> asio::awaitable<bool> {
            http::response<http::empty_body> cont{http::status::continue_, version};
            raw.expires_after(io_timeout);
            auto [wec, wn] = co_await http::async_write(stream, cont, asio::as_tuple(use_awaitable));
            co_return !wec;
        };

        answer a;
        bool body_complete = true;
        boost::system::error_code body_ec;
        if (!streamed_body(app, r.method, r.target)) {
            constexpr std::uint64_t limit = 16 * 1024 * 1024;
            if (r.content_length && *r.content_length > limit) {
                boost::system::error_code too_large = http::error::body_limit;
                co_await refuse(stream, raw, too_large);
                co_return;
            }
            http::request_parser<http::string_body> parser{std::move(header_parser)};
            parser.body_limit(limit);  // chunked bodies
            if (expect_continue && !co_await send_continue()) co_return;
            raw.expires_after(io_timeout);
            std::tie(ec, n) = co_await http::async_read(stream, buf, parser, asio::as_tuple(use_awaitable));
            if (closed_by_peer(ec)) co_return;
            if (ec) {
                co_await refuse(stream, raw, ec);
                co_return;
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
            co_return;
        }
        if (!body_complete) keep = false;
        raw.expires_after(io_timeout);
        bool ok;
        if (a.file) ok = co_await write_file_answer(stream, raw, a, version, keep);
        else ok = co_await write_answer(stream, a, version, keep, head);
        if (!ok) co_return;
        if (!body_complete) {
            co_await linger(stream, raw);
            co_return;
        }
        if (!keep) co_return;
    }
}

asio::awaitable<void> plain_session(app_state& app, tcp::socket sock) {
    beast::tcp_stream stream(std::move(sock));
    beast::flat_buffer buf;
    co_await serve(app, stream, stream, buf);
    boost::system::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

asio::awaitable<void> tls_session(app_state& app, tcp::socket sock, asio::ssl::context& ctx) {
    asio::ssl::stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(sock)), ctx);
    beast::flat_buffer buf;
    beast::get_lowest_layer(stream).expires_after(io_timeout);
    auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, asio::as_tuple(use_awaitable));
    if (ec) co_return;
    co_await serve(app, stream, beast::get_lowest_layer(stream), buf);
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
