// wrenn-local: the capsule proxy (WIRE.md §12.2), and the one place that
// knows how to reach a port inside a capsule (connect_to_capsule_port, also
// behind capsule_http_status).
//
// A Host of the form `{port}-{capsule id}.anything[:port]` sends the request
// to a port inside the capsule instead of the API router: no authentication,
// text/plain errors, one request per client connection (the answer says
// Connection: close), WebSocket upgrades relayed as raw bytes after the 101.
#include "proxy.hpp"
#include "capsule_init.hpp"
#include "http_write.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <cerrno>
#include <system_error>

#include <unistd.h>

namespace wl {

namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

answer text_answer(unsigned status, std::string_view text) {
    answer a;
    a.status = status;
    a.content_type = "text/plain; charset=utf-8";
    a.headers.emplace_back("X-Content-Type-Options", "nosniff");
    a.body = std::string(text) + "\n";  // like Go's http.Error
    return a;
}

// The one place that knows where a capsule's ports are: 127.0.0.1 in the
// capsule's own network namespace (the socket is created inside it), or, when
// capsules share the host's network, the server's loopback.
asio::awaitable<boost::system::error_code> connect_to_capsule_port(app_state& app, std::shared_ptr<capsule> c,
                                                                   unsigned short port, beast::tcp_stream& out) {
    boost::system::error_code ec;
    if (sandbox.netns) {
        try {
            co_await ensure_init(app, c);  // its namespace holder may have died
            if (c->netns_fd < 0) throw std::system_error(ENETUNREACH, std::generic_category(), "no network namespace");
            int fd = socket_in_netns(c->netns_fd);
            out.socket().assign(tcp::v4(), fd, ec);
            if (ec) ::close(fd);
        } catch (const std::system_error& e) {
            ec.assign(e.code().value(), boost::system::system_category());
        }
        if (ec) co_return ec;
    }
    out.expires_after(std::chrono::seconds(30));
    tcp::endpoint ep(asio::ip::make_address_v4("127.0.0.1"), port);
    std::tie(ec) = co_await out.async_connect(ep, asio::as_tuple(use_awaitable));
    out.expires_never();
    co_return ec;
}

// Relays one HTTP message (header already read by `p`) from `in` to `out`,
// body piece by piece with the framing it came with (HEAD answers: the
// parser skips the body). `read_timeout`: the longest silence allowed from
// `in` (an upstream may stream slowly, e.g. server-sent events).
template <class Out, class In, bool isRequest>
asio::awaitable<boost::system::error_code> relay_message(Out& out, beast::tcp_stream& out_raw, In& in,
                                                         beast::tcp_stream& in_raw, beast::flat_buffer& in_buf,
                                                         http::parser<isRequest, http::buffer_body>& p,
                                                         std::chrono::seconds read_timeout) {
    std::vector<char> chunk(file_chunk);
    http::serializer<isRequest, http::buffer_body> sr{p.get()};
    out_raw.expires_after(io_timeout);
    auto [ec, n] = co_await http::async_write_header(out, sr, asio::as_tuple(use_awaitable));
    if (ec) co_return ec;
    do {
        if (!p.is_done()) {
            p.get().body().data = chunk.data();
            p.get().body().size = chunk.size();
            in_raw.expires_after(read_timeout);
            std::tie(ec, n) = co_await http::async_read(in, in_buf, p, asio::as_tuple(use_awaitable));
            if (ec == http::error::need_buffer) ec = {};
            if (ec) co_return ec;
            p.get().body().size = chunk.size() - p.get().body().size;
            p.get().body().data = chunk.data();
            p.get().body().more = !p.is_done();
        } else {
            p.get().body().data = nullptr;
            p.get().body().size = 0;
            p.get().body().more = false;
        }
        out_raw.expires_after(io_timeout);
        std::tie(ec, n) = co_await http::async_write(out, sr, asio::as_tuple(use_awaitable));
        if (ec == http::error::need_buffer) ec = {};
        if (ec) co_return ec;
    } while (!p.is_done() || !sr.is_done());
    co_return boost::system::error_code{};
}

// Bytes from one side to the other until EOF or an error.
template <class From, class To>
asio::awaitable<void> pump_bytes(From& from, To& to) {
    std::vector<char> chunk(file_chunk);
    for (;;) {
        auto [rec, n] = co_await from.async_read_some(asio::buffer(chunk), asio::as_tuple(use_awaitable));
        if (n > 0) {
            auto [wec, wn] = co_await asio::async_write(to, asio::buffer(chunk.data(), n), asio::as_tuple(use_awaitable));
            if (wec) co_return;
        }
        if (rec) co_return;
    }
}

// After a 101: raw bytes both ways until either side ends; then both end.
template <class Stream>
asio::awaitable<void> splice(Stream& client, beast::tcp_stream& client_raw, beast::flat_buffer& client_buf,
                             beast::tcp_stream& up, beast::flat_buffer& up_buf) {
    client_raw.expires_never();
    up.expires_never();
    boost::system::error_code ec;
    if (client_buf.size() > 0) {
        std::tie(ec, std::ignore) = co_await asio::async_write(up, client_buf.data(), asio::as_tuple(use_awaitable));
        if (ec) co_return;
        client_buf.consume(client_buf.size());
    }
    if (up_buf.size() > 0) {
        std::tie(ec, std::ignore) = co_await asio::async_write(client, up_buf.data(), asio::as_tuple(use_awaitable));
        if (ec) co_return;
        up_buf.consume(up_buf.size());
    }
    auto ex = co_await asio::this_coro::executor;
    auto done = std::make_shared<bool>(false);
    auto done_evt = std::make_shared<asio::steady_timer>(ex, asio::steady_timer::time_point::max());
    auto stop_both = [&client_raw, &up]() {
        boost::system::error_code ignored;
        client_raw.socket().cancel(ignored);
        up.socket().cancel(ignored);
        up.socket().shutdown(tcp::socket::shutdown_both, ignored);
    };
    // The upstream -> client direction runs beside this coroutine, which
    // waits for it before returning (the streams live in our callers' frames).
    asio::co_spawn(ex, pump_bytes(up, client), [done, done_evt, &client_raw](std::exception_ptr) {
        *done = true;
        boost::system::error_code ignored;
        client_raw.socket().cancel(ignored);  // ends the other direction
        done_evt->cancel();
    });
    co_await pump_bytes(client, up);
    stop_both();
    while (!*done) (void)co_await done_evt->async_wait(asio::as_tuple(use_awaitable));
}

} // namespace

template <class Stream>
asio::awaitable<void> proxy_request(app_state& app, Stream& stream, beast::tcp_stream& raw, beast::flat_buffer& buf,
                                    http::request_parser<http::empty_body>& header_parser, const proxy_target& t) {
    const unsigned version = header_parser.get().version();
    const bool head = header_parser.get().method() == http::verb::head;
    auto refuse_with = [&](unsigned status, std::string text) -> asio::awaitable<void> {
        answer a = text_answer(status, text);
        raw.expires_after(io_timeout);
        bool body_pending = !header_parser.is_done();
        if (co_await write_answer(stream, a, version, false, head) && body_pending) co_await linger(stream, raw);
    };
    unsigned long port = 0;
    for (char ch : t.port_text) {  // digits only (the match saw to it); capped, never overflows
        port = std::min(port * 10 + static_cast<unsigned long>(ch - '0'), 100000UL);
    }
    if (port < 1 || port > 65535) {
        co_await refuse_with(400, "invalid port");
        co_return;
    }
    if (!valid_capsule_id(t.capsule_id)) {
        co_await refuse_with(400, "invalid sandbox ID");
        co_return;
    }
    auto c = find_capsule(app, t.capsule_id);
    if (!c) {
        co_await refuse_with(404, "sandbox not found");
        co_return;
    }
    if (c->status != "running") {
        std::string text = "sandbox is not running (status: " + c->status + ")";
        co_await refuse_with(409, text);
        co_return;
    }

    beast::tcp_stream up(stream.get_executor());
    boost::system::error_code cec;
    for (int attempt = 0; attempt < 3; ++attempt) {
        if (attempt > 0) {
            asio::steady_timer backoff(stream.get_executor(), std::chrono::milliseconds(100 * attempt));
            (void)co_await backoff.async_wait(asio::as_tuple(use_awaitable));
            boost::system::error_code ignored;
            up.socket().close(ignored);
        }
        cec = co_await connect_to_capsule_port(app, c, static_cast<unsigned short>(port), up);
        if (!cec) break;
    }
    if (cec) {
        std::string text = "proxy error: dial tcp 127.0.0.1:" + std::to_string(port) + ": " + cec.message();
        co_await refuse_with(502, text);
        co_return;
    }
    boost::system::error_code ignored;
    up.socket().set_option(tcp::no_delay(true), ignored);

    // The request, as it came, but for Host (and Expect: we answer 100 ourselves).
    const bool upgrade = websocket::is_upgrade(header_parser.get());
    const bool expect_continue = beast::iequals(header_parser.get()[http::field::expect], "100-continue");
    http::request_parser<http::buffer_body> req_p{std::move(header_parser)};
    req_p.body_limit(boost::none);
    req_p.get().set(http::field::host, "127.0.0.1:" + std::to_string(port));
    if (expect_continue) {
        req_p.get().erase(http::field::expect);
        http::response<http::empty_body> cont{http::status::continue_, version};
        raw.expires_after(io_timeout);
        auto [wec, wn] = co_await http::async_write(stream, cont, asio::as_tuple(use_awaitable));
        if (wec) co_return;
    }
    auto ec = co_await relay_message(up, up, stream, raw, buf, req_p, io_timeout);
    if (ec) {
        // Either side broke: when the client's body is incomplete we cannot answer sensibly.
        if (!req_p.is_done()) co_return;
        std::string text = "proxy error: " + ec.message();
        co_await refuse_with(502, text);
        co_return;
    }

    beast::flat_buffer up_buf;
    std::optional<http::response_parser<http::buffer_body>> res_p;
    for (;;) {
        res_p.emplace();
        res_p->body_limit(boost::none);
        res_p->header_limit(64 * 1024);
        if (head) res_p->skip(true);
        up.expires_after(std::chrono::minutes(10));  // a slow upstream answer
        auto [rec, rn] = co_await http::async_read_header(up, up_buf, *res_p, asio::as_tuple(use_awaitable));
        up.expires_never();
        if (rec) {
            std::string text = "proxy error: " + rec.message();
            co_await refuse_with(502, text);
            co_return;
        }
        unsigned status = res_p->get().result_int();
        if (status >= 100 && status < 200 && status != 101) continue;  // an interim answer (e.g. 103): dropped
        break;
    }
    auto& res = res_p->get();
    if (auto it = res.find(http::field::location); it != res.end()) {
        std::string loc(it->value());
        for (std::string origin : {"http://127.0.0.1:" + std::to_string(port), "http://localhost:" + std::to_string(port)}) {
            if (loc.size() >= origin.size() && beast::iequals(std::string_view(loc).substr(0, origin.size()), origin) &&
                (loc.size() == origin.size() || loc[origin.size()] == '/' || loc[origin.size()] == '?')) {
                loc = loc.substr(origin.size());
                if (loc.empty() || loc[0] == '?') loc = "/" + loc;
                res.set(http::field::location, loc);
                break;
            }
        }
    }
    if (res.result() == http::status::switching_protocols && upgrade) {
        http::response<http::empty_body> sw{res.base()};
        raw.expires_after(io_timeout);
        auto [wec, wn] = co_await http::async_write(stream, sw, asio::as_tuple(use_awaitable));
        if (wec) co_return;
        co_await splice(stream, raw, buf, up, up_buf);
        co_return;
    }
    res.keep_alive(false);
    (void)co_await relay_message(stream, raw, up, up, up_buf, *res_p, idle_timeout);
}

template asio::awaitable<void> proxy_request(app_state&, beast::tcp_stream&, beast::tcp_stream&, beast::flat_buffer&,
                                             http::request_parser<http::empty_body>&, const proxy_target&);
template asio::awaitable<void> proxy_request(app_state&, asio::ssl::stream<beast::tcp_stream>&, beast::tcp_stream&,
                                             beast::flat_buffer&, http::request_parser<http::empty_body>&,
                                             const proxy_target&);

asio::awaitable<unsigned> capsule_http_status(app_state& app, std::shared_ptr<capsule> c, unsigned short port,
                                              std::string target, std::chrono::milliseconds timeout) {
    beast::tcp_stream s(app.io);
    auto ec = co_await connect_to_capsule_port(app, c, port, s);
    if (ec) co_return 0;
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
    req.keep_alive(false);
    s.expires_after(timeout);
    std::size_t n = 0;
    std::tie(ec, n) = co_await http::async_write(s, req, asio::as_tuple(use_awaitable));
    if (ec) co_return 0;
    beast::flat_buffer buf;
    http::response_parser<http::string_body> p;
    p.body_limit(1024 * 1024);
    std::tie(ec, n) = co_await http::async_read(s, buf, p, asio::as_tuple(use_awaitable));
    if (ec) co_return 0;
    co_return p.get().result_int();
}

} // namespace wl
