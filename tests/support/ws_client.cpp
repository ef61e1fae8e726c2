#include "ws_client.hpp"
#include "build_kind.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <deque>
#include <system_error>
#include <type_traits>

namespace wrenn_test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using asio::use_awaitable;

namespace {

struct target {
    bool tls = false;
    std::string host, port, prefix;
};

target parse_base(const std::string& base) {
    target t;
    std::string rest;
    if (base.rfind("https://", 0) == 0) {
        t.tls = true;
        rest = base.substr(8);
    } else if (base.rfind("http://", 0) == 0) {
        rest = base.substr(7);
    } else {
        throw std::runtime_error("unexpected base URL " + base);
    }
    auto slash = rest.find('/');
    std::string hostport = rest.substr(0, slash);
    t.prefix = slash == std::string::npos ? std::string{} : rest.substr(slash);
    auto colon = hostport.rfind(':');
    t.host = hostport.substr(0, colon);
    t.port = hostport.substr(colon + 1);
    return t;
}

asio::ssl::context& client_tls() {
    static asio::ssl::context ctx = [] {
        asio::ssl::context c(asio::ssl::context::tls_client);
        c.load_verify_file(test_pki::get().ca_cert);
        c.set_verify_mode(asio::ssl::verify_peer);
        return c;
    }();
    return ctx;
}

// connect, TLS and upgrade: the 1,000-stream load test waits behind the
// server's spawns (11 s to 22 s on this VM, depending on its moment)
constexpr auto setup_timeout = std::chrono::seconds(60) * slowdown;

void throw_if(const boost::system::error_code& ec, const char* what) {
    if (ec) throw std::system_error(ec, what);
}

// A connected (and for TLS, handshaken) stream.
template <class Stream>
asio::awaitable<Stream> open_stream(const target& t) {
    auto ex = co_await asio::this_coro::executor;
    tcp::resolver resolver(ex);
    auto [rec, results] = co_await resolver.async_resolve(t.host, t.port, asio::as_tuple(use_awaitable));
    throw_if(rec, "resolve");
    // Bounded set-up: a server that does not answer is a test failure, not a hang.
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
        Stream s(ex);
        s.expires_after(setup_timeout);
        auto [ec, ep] = co_await s.async_connect(results, asio::as_tuple(use_awaitable));
        throw_if(ec, "connect");
        co_return s;
    } else {
        Stream s(ex, client_tls());
        beast::get_lowest_layer(s).expires_after(setup_timeout);
        auto [ec, ep] = co_await beast::get_lowest_layer(s).async_connect(results, asio::as_tuple(use_awaitable));
        throw_if(ec, "connect");
        s.set_verify_callback(asio::ssl::host_name_verification(t.host));
        auto [hec] = co_await s.async_handshake(asio::ssl::stream_base::client, asio::as_tuple(use_awaitable));
        throw_if(hec, "TLS handshake");
        co_return s;
    }
}

using plain_stream = beast::tcp_stream;
using tls_stream = asio::ssl::stream<beast::tcp_stream>;

template <class Stream>
class ws_impl final : public ws_client, public std::enable_shared_from_this<ws_impl<Stream>> {
public:
    explicit ws_impl(Stream&& s) : ws_(std::move(s)), wake_(ws_.get_executor()), held_timer_(ws_.get_executor()) {}

    asio::awaitable<void> handshake(const target& t, const std::string& path, const ws_options& opts) {
        ws_.set_option(websocket::stream_base::decorator([opts](websocket::request_type& req) {
            if (!opts.api_key.empty()) req.set("X-API-Key", opts.api_key);
            if (!opts.bearer.empty()) req.set(http::field::authorization, "Bearer " + opts.bearer);
        }));
        ws_.read_message_max(64 * 1024 * 1024);
        ws_.control_callback([this](websocket::frame_type kind, beast::string_view payload) {
            if (kind == websocket::frame_type::pong) push(ws_event{ws_event::pong, std::string(payload), 0, {}});
        });
        websocket::response_type res;
        std::string host = t.host + ":" + t.port, full = t.prefix + path;
        beast::get_lowest_layer(ws_).expires_after(setup_timeout);
        auto [ec] = co_await ws_.async_handshake(res, host, full, asio::as_tuple(use_awaitable));
        beast::get_lowest_layer(ws_).expires_never();
        if (ec) {
            // (Beast presets the response to 500: only upgrade_declined means one came)
            if (ec == websocket::error::upgrade_declined) throw ws_refused(res.result_int(), res.body());
            throw std::system_error(ec, "websocket handshake");
        }
        asio::co_spawn(ws_.get_executor(), reader(), asio::detached);
    }

    asio::awaitable<ws_event> next(std::chrono::milliseconds within) override {
        auto self = this->shared_from_this();
        auto deadline = std::chrono::steady_clock::now() + within;
        for (;;) {
            if (!events_.empty()) {
                ws_event e = events_.front();
                if (!e.final()) events_.pop_front();
                co_return e;
            }
            if (std::chrono::steady_clock::now() >= deadline) co_return ws_event{};
            wake_.expires_at(deadline);
            (void)co_await wake_.async_wait(asio::as_tuple(use_awaitable));
        }
    }

    asio::awaitable<void> send_text(std::string text) override {
        auto self = this->shared_from_this();
        ws_.text(true);
        auto [ec, n] = co_await ws_.async_write(asio::buffer(text), asio::as_tuple(use_awaitable));
        throw_if(ec, "websocket write");
    }

    asio::awaitable<void> send_binary(std::string bytes) override {
        auto self = this->shared_from_this();
        ws_.binary(true);
        auto [ec, n] = co_await ws_.async_write(asio::buffer(bytes), asio::as_tuple(use_awaitable));
        throw_if(ec, "websocket write");
    }

    asio::awaitable<void> send_json(json::value v) override {
        std::string text = json::serialize(v);
        co_await send_text(std::move(text));
    }

    asio::awaitable<void> ping(std::string payload) override {
        auto self = this->shared_from_this();
        websocket::ping_data pd(payload);
        auto [ec] = co_await ws_.async_ping(pd, asio::as_tuple(use_awaitable));
        throw_if(ec, "websocket ping");
    }

    asio::awaitable<void> send_close(unsigned code) override {
        auto self = this->shared_from_this();
        websocket::close_reason cr(static_cast<std::uint16_t>(code));
        closing_ = true;  // the close handshake reads the answer: the reader's own end is not news
        auto [ec] = co_await ws_.async_close(cr, asio::as_tuple(use_awaitable));
        ws_event e;
        e.ec = ec;
        if (!ec) {
            e.kind = ws_event::close_frame;
            e.close_code = ws_.reason().code;
        } else {
            e.kind = ec == asio::error::eof || ec == asio::ssl::error::stream_truncated ? ws_event::eof : ws_event::error;
        }
        push(std::move(e));
    }

    asio::awaitable<void> send_raw(std::string bytes) override {
        auto self = this->shared_from_this();
        auto [ec, n] = co_await asio::async_write(ws_.next_layer(), asio::buffer(bytes), asio::as_tuple(use_awaitable));
        throw_if(ec, "raw write");
    }

    void hold() override { held_ = true; }
    void release() override {
        held_ = false;
        held_timer_.cancel();
    }

    void abort() override {
        boost::system::error_code ec;
        beast::get_lowest_layer(ws_).socket().close(ec);
    }

private:
    void push(ws_event e) {
        events_.push_back(std::move(e));
        wake_.cancel();
    }

    asio::awaitable<void> reader() {
        auto self = this->shared_from_this();
        for (;;) {
            while (held_) {
                held_timer_.expires_at(std::chrono::steady_clock::time_point::max());
                (void)co_await held_timer_.async_wait(asio::as_tuple(use_awaitable));
            }
            beast::flat_buffer b;
            auto [ec, n] = co_await ws_.async_read(b, asio::as_tuple(use_awaitable));
            if (!ec) {
                push(ws_event{ws_.got_text() ? ws_event::text : ws_event::binary, beast::buffers_to_string(b.data()),
                              0, {}});
                continue;
            }
            if (closing_) co_return;  // send_close reports the end
            ws_event e;
            e.ec = ec;
            if (ec == websocket::error::closed) {
                e.kind = ws_event::close_frame;
                e.close_code = ws_.reason().code;
            } else if (ec == asio::error::eof || ec == http::error::end_of_stream ||
                       ec == asio::ssl::error::stream_truncated) {
                e.kind = ws_event::eof;
            } else {
                e.kind = ws_event::error;
            }
            push(std::move(e));
            co_return;
        }
    }

    websocket::stream<Stream> ws_;
    asio::steady_timer wake_;
    std::deque<ws_event> events_;
    bool closing_ = false, held_ = false;
    asio::steady_timer held_timer_;
};

template <class Stream>
asio::awaitable<std::shared_ptr<ws_client>> connect_as(const target& t, const std::string& path,
                                                       const ws_options& opts) {
    auto s = co_await open_stream<Stream>(t);
    auto c = std::make_shared<ws_impl<Stream>>(std::move(s));
    co_await c->handshake(t, path, opts);
    std::shared_ptr<ws_client> out = c;
    co_return out;
}

template <class Stream>
asio::awaitable<http_reply> http_as(const target& t, const local_server& srv, const std::string& method,
                                    const std::string& path, const std::string& body) {
    auto s = co_await open_stream<Stream>(t);
    http::request<http::string_body> req{http::string_to_verb(method), t.prefix + path, 11};
    req.set(http::field::host, t.host + ":" + t.port);
    req.set("X-API-Key", srv.api_key());
    req.set(http::field::connection, "close");
    if (!body.empty() || method == "POST") {
        req.set(http::field::content_type, "application/json");
        req.body() = body;
    }
    req.prepare_payload();
    beast::get_lowest_layer(s).expires_after(std::chrono::seconds(60));  // bounded, like the rest
    auto [wec, wn] = co_await http::async_write(s, req, asio::as_tuple(use_awaitable));
    throw_if(wec, "HTTP write");
    beast::flat_buffer buf;
    http::response<http::string_body> res;
    auto [rec, rn] = co_await http::async_read(s, buf, res, asio::as_tuple(use_awaitable));
    throw_if(rec, "HTTP read");
    co_return http_reply{res.result_int(), std::move(res.body())};
}

} // namespace

json::value ws_event::json() const { return json::parse(data); }

std::string ws_event::type() const {
    if (kind != text && kind != binary) return {};
    boost::system::error_code ec;
    auto v = json::parse(data, ec);
    if (ec || !v.is_object()) return {};
    auto* t = v.get_object().if_contains("type");
    return t && t->is_string() ? std::string(t->get_string()) : std::string{};
}

std::string ws_event::describe() const {
    static const char* names[] = {"text", "binary", "pong", "close_frame", "eof", "error", "timeout"};
    std::string s = names[kind];
    if (!data.empty()) s += " " + data.substr(0, 500);
    if (kind == close_frame) s += " code " + std::to_string(close_code);
    if (ec) s += " (" + ec.message() + ")";
    return s;
}

asio::awaitable<std::shared_ptr<ws_client>> ws_client::connect(const local_server& srv, std::string_view path_view,
                                                              ws_options opts) {
    const std::string path(path_view);
    auto t = parse_base(srv.base_url());
    if (t.tls) co_return co_await connect_as<tls_stream>(t, path, opts);
    co_return co_await connect_as<plain_stream>(t, path, opts);
}

asio::awaitable<std::shared_ptr<ws_client>> ws_client::connect(const local_server& srv, std::string_view path) {
    ws_options opts;
    opts.api_key = srv.api_key();
    co_return co_await connect(srv, path, std::move(opts));
}

asio::awaitable<std::vector<ws_event>> events_to_end(ws_client& ws, std::chrono::milliseconds within) {
    auto deadline = std::chrono::steady_clock::now() + within;
    std::vector<ws_event> out;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            out.push_back(ws_event{});
            co_return out;
        }
        auto e = co_await ws.next(left);
        out.push_back(e);
        if (e.final() || e.kind == ws_event::timeout) co_return out;
    }
}

std::vector<ws_event> messages_of(const std::vector<ws_event>& evs) {
    std::vector<ws_event> out;
    for (auto& e : evs)
        if (e.kind == ws_event::text || e.kind == ws_event::binary) out.push_back(e);
    return out;
}

std::string describe(const std::vector<ws_event>& evs) {
    std::string s;
    for (auto& e : evs) s += "  " + e.describe() + "\n";
    return s;
}

json::value http_reply::json() const { return json::parse(body); }

asio::awaitable<http_reply> http_call(const local_server& srv, std::string_view method_view,
                                      std::string_view path_view, std::string_view body_view) {
    const std::string method(method_view), path(path_view), body(body_view);
    auto t = parse_base(srv.base_url());
    if (t.tls) co_return co_await http_as<tls_stream>(t, srv, method, path, body);
    co_return co_await http_as<plain_stream>(t, srv, method, path, body);
}

asio::awaitable<std::string> create_capsule(const local_server& srv) {
    auto r = co_await http_call(srv, "POST", "/v1/capsules", "{}");  // literals: no owning temporaries
    if (r.status != 201) throw std::runtime_error("create capsule: HTTP " + std::to_string(r.status) + " " + r.body);
    co_return std::string(r.json().at("id").as_string());
}

void run_io(std::function<asio::awaitable<void>()> body, std::chrono::seconds limit) {
    asio::io_context io;
    bool done = false;
    std::exception_ptr failure;
    asio::co_spawn(io, body(), [&](std::exception_ptr e) {
        done = true;
        failure = e;
    });
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done && std::chrono::steady_clock::now() < deadline && !io.stopped())
        io.run_one_until(deadline);
    if (failure) std::rethrow_exception(failure);
    if (!done) throw std::runtime_error("the test coroutine did not finish within " + std::to_string(limit.count()) + " s");
}

} // namespace wrenn_test
