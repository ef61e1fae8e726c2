// wrenn-local: the HTTP/1.1 server (Beast, one coroutine per connection,
// plain TCP or TLS).
#include "common.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace wl {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using asio::use_awaitable;

namespace {

constexpr auto idle_timeout = std::chrono::seconds(620);
constexpr auto io_timeout = std::chrono::seconds(60);

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

template <class Stream>
asio::awaitable<void> serve(app_state& app, Stream& stream, beast::tcp_stream& raw, beast::flat_buffer& buf) {
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.header_limit(64 * 1024);
        parser.body_limit(16 * 1024 * 1024);
        raw.expires_after(idle_timeout);
        auto [ec, n] = co_await http::async_read_header(stream, buf, parser, asio::as_tuple(use_awaitable));
        if (!ec) {
            auto& h = parser.get();
            if (beast::iequals(h[http::field::expect], "100-continue")) {
                http::response<http::empty_body> cont{http::status::continue_, h.version()};
                raw.expires_after(io_timeout);
                auto [wec, wn] = co_await http::async_write(stream, cont, asio::as_tuple(use_awaitable));
                if (wec) co_return;
            }
            raw.expires_after(io_timeout);
            std::tie(ec, n) = co_await http::async_read(stream, buf, parser, asio::as_tuple(use_awaitable));
        }
        if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
            ec == asio::error::operation_aborted || ec == beast::error::timeout ||
            ec == asio::ssl::error::stream_truncated)
            co_return;
        if (ec) {
            bool too_large = ec == http::error::body_limit || ec == http::error::header_limit ||
                             ec == http::error::buffer_overflow;
            // A partial request: answer and close (we cannot resynchronise).
            raw.expires_after(io_timeout);
            // named first: g++ 12 miscompiles `co_await f(c ? aggregate : aggregate)`
            answer refusal = too_large ? error_answer(413, "too_large", "request too large")
                                       : error_answer(400, "invalid_request", "malformed HTTP request");
            co_await write_answer(stream, std::move(refusal), 11, false, false);
            co_return;
        }
        auto& req = parser.get();
        request r;
        r.method = std::string(req.method_string());
        r.target = std::string(req.target());
        if (auto it = req.find("X-API-Key"); it != req.end()) r.api_key = std::string(it->value());
        if (auto it = req.find(http::field::authorization); it != req.end()) r.authorization = std::string(it->value());
        r.body = std::move(req.body());
        bool head = r.method == "HEAD";
        if (head) r.method = "GET";
        bool keep = req.keep_alive();
        unsigned version = req.version();
        raw.expires_never();
        answer a;
        try {
            a = co_await handle_request(app, std::move(r));
        } catch (const std::exception& e) {
            log("internal error: %s", e.what());
            a = error_answer(500, "internal_error", "an internal error occurred");
        }
        raw.expires_after(io_timeout);
        if (!co_await write_answer(stream, a, version, keep, head)) co_return;
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
