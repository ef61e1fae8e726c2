// wrenn-local: the HTTP/1.1 server (Beast, one coroutine per connection,
// plain TCP or TLS). Upload routes get their body piecewise, file answers
// are sent piecewise: memory stays small whatever the size. WebSocket
// upgrades on the WebSocket routes leave HTTP for ws_impl (a ws_conn).
// Requests for `{port}-{capsule id}.<domain>` hosts bypass the API and are
// proxied to that port in the capsule (WIRE.md §12.2, proxy_request).
#include "common.hpp"
#include "front.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <cerrno>
#include <deque>
#include <limits>
#include <system_error>
#include <type_traits>

#include <unistd.h>

namespace wl {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
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

// Answers a request we will not serve (after a parse error `ec`), then closes
// (after a partial request we cannot resynchronise): the JSON envelope, then
// what the client still sends is read and dropped for a moment so that it
// sees the answer. (No helper coroutine between this one and write_answer:
// with one, g++ 12 broke the reference parameters here; found by the tests.)
template <class Stream>
asio::awaitable<void> refuse(Stream& stream, beast::tcp_stream& raw, boost::system::error_code ec) {
    answer refusal = refusal_for(ec);  // named first (g++ 12, see the README's compiler notes)
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

// ---------------------------------------------------------------- WebSocket
constexpr std::size_t ws_read_max = 1024 * 1024;           // larger client messages end the connection
constexpr std::size_t ws_inbox_max_messages = 64;          // unread client messages kept; more are dropped
constexpr std::size_t ws_inbox_max_bytes = 4 * 1024 * 1024;
constexpr std::size_t ws_send_limit = 16 * 1024 * 1024;    // queued for a slow client before send() refuses
constexpr auto ws_linger = std::chrono::seconds(5);        // after our FIN, waiting for the client's
constexpr auto ws_write_stall = std::chrono::seconds(60);  // one frame not written by then: the client is gone

// ws_conn over a Beast websocket::stream that owns the connection (plain
// beast::tcp_stream or asio::ssl::stream<beast::tcp_stream>). Kept alive by
// its own coroutines (reader, writer, closer) and by the session.
template <class Stream>
class ws_impl final : public ws_conn, public std::enable_shared_from_this<ws_impl<Stream>> {
public:
    static constexpr bool tls = !std::is_same_v<Stream, beast::tcp_stream>;

    explicit ws_impl(Stream&& s)
        : ws_(std::move(s)), wake_(ws_.get_executor()), read_done_evt_(ws_.get_executor()), stall_(ws_.get_executor()) {}

    asio::awaitable<bool> accept(const http::request<http::empty_body>& req) {
        beast::get_lowest_layer(ws_).expires_never();
        websocket::stream_base::timeout t{std::chrono::seconds(30), websocket::stream_base::none(), false};
        ws_.set_option(t);
        ws_.set_option(websocket::stream_base::decorator(
            [](websocket::response_type& res) { res.set(http::field::server, "wrenn-local/0.1.0"); }));
        ws_.read_message_max(ws_read_max);
        ws_.auto_fragment(false);
        auto [ec] = co_await ws_.async_accept(req, asio::as_tuple(use_awaitable));
        co_return !ec;
    }

    void start_reading() { asio::co_spawn(ws_.get_executor(), reader(), asio::detached); }

    asio::awaitable<ws_message> receive_until(std::chrono::steady_clock::time_point deadline) override {
        auto self = this->shared_from_this();
        for (;;) {
            if (finishing_ || gone_) co_return ws_message{ws_message::ended, {}};
            if (!inbox_.empty()) {
                ws_message m{ws_message::message, std::move(inbox_.front())};
                inbox_.pop_front();
                inbox_bytes_ -= m.data.size();
                co_return m;
            }
            if (read_done_) co_return ws_message{ws_message::ended, {}};
            if (std::chrono::steady_clock::now() >= deadline) co_return ws_message{ws_message::timeout, {}};
            wake_.expires_at(deadline);
            (void)co_await wake_.async_wait(asio::as_tuple(use_awaitable));
        }
    }

    bool send(std::string text, bool force) override {
        if (finishing_ || gone_) return true;
        if (!force && out_bytes_ + text.size() > ws_send_limit) return false;
        out_bytes_ += text.size();
        outq_.push_back(std::move(text));
        if (!writing_) {
            writing_ = true;
            asio::co_spawn(ws_.get_executor(), writer(), asio::detached);
        }
        return true;
    }

    void finish() override {
        if (finishing_ || gone_) return;
        finishing_ = true;
        wake_.cancel();
        if (!writing_) start_closing();
    }

    bool closing() const override { return finishing_ || gone_; }

private:
    // Always reading: Beast answers pings and close frames while a read is pending.
    asio::awaitable<void> reader() {
        auto self = this->shared_from_this();
        beast::flat_buffer b;
        for (;;) {
            auto [ec, n] = co_await ws_.async_read(b, asio::as_tuple(use_awaitable));
            if (ec) break;
            if (!finishing_ && inbox_.size() < ws_inbox_max_messages && inbox_bytes_ + n <= ws_inbox_max_bytes) {
                inbox_.push_back(beast::buffers_to_string(b.data()));
                inbox_bytes_ += n;
                wake_.cancel();
            }
            b.consume(b.size());
        }
        read_done_ = true;
        read_done_evt_.cancel();
        wake_.cancel();
        if (!finishing_) lost();  // the client closed or vanished (finish() does its own closing)
    }

    asio::awaitable<void> writer() {
        auto self = this->shared_from_this();
        while (!outq_.empty() && !gone_) {
            std::string msg = std::move(outq_.front());
            outq_.pop_front();
            out_bytes_ -= msg.size();
            ws_.text(true);
            // A client that stops reading must not hold the connection (and
            // up to 16 MiB of queue) forever.
            stall_.expires_after(ws_write_stall);
            stall_.async_wait([weak = this->weak_from_this()](const boost::system::error_code& sec) {
                if (auto self = weak.lock(); self && !sec) self->lost();
            });
            auto [ec, n] = co_await ws_.async_write(asio::buffer(msg), asio::as_tuple(use_awaitable));
            stall_.cancel();
            if (ec) lost();
        }
        writing_ = false;
        if (finishing_ && !gone_) start_closing();
    }

    void lost() {
        gone_ = true;
        outq_.clear();
        out_bytes_ = 0;
        wake_.cancel();
        close_socket();
    }

    void start_closing() {
        if (closing_started_) return;
        closing_started_ = true;
        asio::co_spawn(ws_.get_executor(), closer(), asio::detached);
    }

    // Everything is written: end the connection without a close frame.
    asio::awaitable<void> closer() {
        auto self = this->shared_from_this();
        boost::system::error_code ec;
        auto& sock = beast::get_lowest_layer(ws_).socket();
        if constexpr (tls) {
            // TLS: stop the WebSocket read (the TLS layer cannot read for two),
            // then close_notify and wait a moment for the client's.
            sock.cancel(ec);
            co_await wait_read_done(std::chrono::steady_clock::now() + ws_linger);
            beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(3));
            (void)co_await ws_.next_layer().async_shutdown(asio::as_tuple(use_awaitable));
        } else {
            // FIN, and keep reading until the client closes too (closing with
            // unread data would reset the connection and could lose our last
            // messages on the client's side).
            sock.shutdown(tcp::socket::shutdown_send, ec);
            co_await wait_read_done(std::chrono::steady_clock::now() + ws_linger);
        }
        close_socket();
    }

    asio::awaitable<void> wait_read_done(std::chrono::steady_clock::time_point deadline) {
        while (!read_done_ && std::chrono::steady_clock::now() < deadline) {
            read_done_evt_.expires_at(deadline);
            (void)co_await read_done_evt_.async_wait(asio::as_tuple(use_awaitable));
        }
    }

    void close_socket() {
        boost::system::error_code ec;
        beast::get_lowest_layer(ws_).socket().close(ec);
    }

    websocket::stream<Stream> ws_;
    asio::steady_timer wake_, read_done_evt_, stall_;
    std::deque<std::string> inbox_, outq_;
    std::size_t inbox_bytes_ = 0, out_bytes_ = 0;
    bool writing_ = false, finishing_ = false, gone_ = false, read_done_ = false, closing_started_ = false;
};

struct ws_upgrade {
    http::request<http::empty_body> req;
    request r;
    ws_route route;
};

template <class Stream>
asio::awaitable<void> run_ws(app_state& app, Stream stream, ws_upgrade up) {
    auto impl = std::make_shared<ws_impl<Stream>>(std::move(stream));
    bool accepted = co_await impl->accept(up.req);
    if (!accepted) co_return;
    impl->start_reading();
    std::shared_ptr<ws_conn> conn = impl;
    try {
        co_await ws_session(app, conn, std::move(up.route), std::move(up.r));
    } catch (const std::exception& e) {
        log("websocket session: internal error: %s", e.what());
    }
    conn->finish();
}

// ---------------------------------------------------------------- capsule proxy (WIRE.md §12.2)
// A Host of the form `{port}-{capsule id}.anything[:port]` sends the request
// to a port inside the capsule instead of the API router: no authentication,
// text/plain errors, one request per client connection (the answer says
// Connection: close), WebSocket upgrades relayed as raw bytes after the 101.

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

// Serves one proxied request; the client connection ends afterwards.
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
