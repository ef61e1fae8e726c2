// wrenn-local's capsule proxy (WIRE.md §12.2): requests whose Host is
// `{port}-{capsule id}.{proxy domain}` go to that port inside the capsule
// (the proxy domain is localhost:{server port}, with TLS
// wrenn.localhost:{server port}, whose names the test certificate covers).
// Real upstreams (python3 servers started in a capsule), a raw Beast client
// over HTTP and TLS.
//
// Compiler notes (g++ 12): never co_await inside CHECK/REQUIRE or `?:`, and
// never build an owning temporary inside a co_await expression: name it first.
#include <catch2/catch.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json.hpp>

#include "async.hpp"
#include "local_server.hpp"
#include "ws_client.hpp"

#include <chrono>
#include <map>
#include <string>
#include <type_traits>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using asio::use_awaitable;
using namespace std::chrono_literals;
using wrenn_test::http_call;
using wrenn_test::local_server;
using wrenn_test::run_io;

namespace {

using plain_stream = beast::tcp_stream;
using tls_stream = asio::ssl::stream<beast::tcp_stream>;

asio::ssl::context& client_tls() {
    static asio::ssl::context ctx = [] {
        asio::ssl::context c(asio::ssl::context::tls_client);
        c.load_verify_file(wrenn_test::test_pki::get().ca_cert);
        c.set_verify_mode(asio::ssl::verify_peer);
        return c;
    }();
    return ctx;
}

// base URL: scheme://127.0.0.1:port[/prefix]
std::string server_port(const local_server& srv) {
    std::string rest = srv.base_url().substr(srv.base_url().find("://") + 3);
    rest = rest.substr(0, rest.find('/'));
    return rest.substr(rest.rfind(':') + 1);
}

std::string api_prefix(const local_server& srv) {
    std::string rest = srv.base_url().substr(srv.base_url().find("://") + 3);
    auto slash = rest.find('/');
    return slash == std::string::npos ? std::string{} : rest.substr(slash);
}

unsigned short free_port() {
    asio::io_context io;
    tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return a.local_endpoint().port();
}

void throw_if(const boost::system::error_code& ec, const char* what) {
    if (ec) throw std::runtime_error(std::string(what) + ": " + ec.message());
}

// A connection to the server, verified (TLS) for `host_name`.
template <class Stream>
asio::awaitable<Stream> open_to(const local_server& srv, const std::string& host_name) {
    auto ex = co_await asio::this_coro::executor;
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(std::stoi(server_port(srv))));
    if constexpr (std::is_same_v<Stream, plain_stream>) {
        Stream s(ex);
        s.expires_after(20s);
        auto [ec] = co_await s.async_connect(ep, asio::as_tuple(use_awaitable));
        throw_if(ec, "connect");
        co_return s;
    } else {
        Stream s(ex, client_tls());
        beast::get_lowest_layer(s).expires_after(20s);
        auto [ec] = co_await beast::get_lowest_layer(s).async_connect(ep, asio::as_tuple(use_awaitable));
        throw_if(ec, "connect");
        SSL_set_tlsext_host_name(s.native_handle(), host_name.c_str());
        // Verified for the very name: `{port}-{id}.wrenn.localhost` against
        // the certificate's *.wrenn.localhost (OpenSSL never lets *.localhost
        // match `{port}-{id}.localhost`, a wildcard right under a single label).
        s.set_verify_callback(asio::ssl::host_name_verification(host_name));
        auto [hec] = co_await s.async_handshake(asio::ssl::stream_base::client, asio::as_tuple(use_awaitable));
        throw_if(hec, "TLS handshake");
        co_return s;
    }
}

struct reply {
    unsigned status = 0;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
    std::string header(const std::string& name) const {
        auto it = headers.find(name);
        return it == headers.end() ? std::string{} : it->second;
    }
};

struct call {
    std::string host;  // the Host header (without the server port: it is added)
    std::string method = "GET";
    std::string target = "/";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
};

template <class Stream>
asio::awaitable<reply> call_as(const local_server& srv, const call& c) {
    auto s = co_await open_to<Stream>(srv, c.host);
    http::request<http::string_body> req{http::string_to_verb(c.method), c.target, 11};
    req.set(http::field::host, c.host + ":" + server_port(srv));
    for (auto& [k, v] : c.headers) req.set(k, v);
    if (!c.body.empty() || c.method == "POST") {
        req.body() = c.body;
        req.prepare_payload();
    }
    beast::get_lowest_layer(s).expires_after(60s);
    auto [wec, wn] = co_await http::async_write(s, req, asio::as_tuple(use_awaitable));
    throw_if(wec, "HTTP write");
    beast::flat_buffer buf;
    http::response_parser<http::string_body> p;
    p.body_limit(64 * 1024 * 1024);
    if (c.method == "HEAD") p.skip(true);
    auto [rec, rn] = co_await http::async_read(s, buf, p, asio::as_tuple(use_awaitable));
    throw_if(rec, "HTTP read");
    reply r;
    r.status = p.get().result_int();
    for (auto& f : p.get()) {
        std::string name(f.name_string());
        for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        r.headers[name] = std::string(f.value());
    }
    r.body = std::move(p.get().body());
    co_return r;
}

asio::awaitable<reply> proxy_call(const local_server& srv, bool tls, const call& c) {
    if (tls) co_return co_await call_as<tls_stream>(srv, c);
    co_return co_await call_as<plain_stream>(srv, c);
}

// `{port}-{id}.{proxy domain without its port}`
std::string proxy_host(const local_server& srv, unsigned port, const std::string& id) {
    return std::to_string(port) + "-" + id + "." + srv.proxy_host_suffix();
}

asio::awaitable<void> exec_background(const local_server& srv, const std::string& id, const std::string& script) {
    json::value body = {{"cmd", "/bin/sh"}, {"args", json::array{"-c", script}}, {"background", true}};
    std::string path = "/v1/capsules/" + id + "/exec", text = json::serialize(body);
    auto r = co_await http_call(srv, "POST", path, text);
    if (r.status != 202) throw std::runtime_error("background exec: " + r.body);
}

// Polls `target` through the proxy until the upstream answers (not 502).
asio::awaitable<bool> wait_upstream(const local_server& srv, bool tls, const std::string& host, const std::string& target) {
    auto deadline = std::chrono::steady_clock::now() + 20s;
    call c{host, "GET", target, {}, {}};
    while (std::chrono::steady_clock::now() < deadline) {
        auto r = co_await proxy_call(srv, tls, c);
        if (r.status != 502) co_return true;
        co_await wrenn_test::sleep_for(50ms);
    }
    co_return false;
}

// An HTTP/1.1 upstream: POST echoes the body; GET /redirect answers with an
// absolute Location on the capsule-local address; other GETs describe the
// request (path, Host, X-API-Key) in headers.
const char* echo_server_py = R"PY(
import http.server, sys
port = int(sys.argv[1])
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def seen(self):
        self.send_header("X-Seen-Host", self.headers.get("Host", ""))
        self.send_header("X-Seen-Key", self.headers.get("X-API-Key", ""))
        self.send_header("X-Seen-Path", self.path)
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        data = self.rfile.read(n)
        self.send_response(200)
        self.seen()
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def do_GET(self):
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:%d/target?x=1" % port)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = b"echo"
        self.send_response(200)
        self.seen()
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
)PY";

// A minimal WebSocket echo: the handshake by hand (with an X-Seen-Host header
// in the 101), then every frame echoed back unmasked; a close frame is
// answered and ends the connection.
const char* ws_echo_py = R"PY(
import socket, sys, hashlib, base64, struct, threading
port = int(sys.argv[1])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(8)
def serve(c):
    data = b""
    while b"\r\n\r\n" not in data:
        d = c.recv(4096)
        if not d:
            c.close(); return
        data += d
    head, buf = data.split(b"\r\n\r\n", 1)
    hdrs = {}
    for line in head.split(b"\r\n")[1:]:
        k, v = line.split(b":", 1)
        hdrs[k.strip().lower()] = v.strip()
    if b"sec-websocket-key" not in hdrs:
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nplain")
        c.close(); return
    acc = base64.b64encode(hashlib.sha1(hdrs[b"sec-websocket-key"] + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
    c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "
              + acc + b"\r\nX-Seen-Host: " + hdrs.get(b"host", b"") + b"\r\n\r\n")
    def need(n):
        nonlocal buf
        while len(buf) < n:
            d = c.recv(65536)
            if not d:
                raise EOFError
            buf += d
        out, buf = buf[:n], buf[n:]
        return out
    try:
        while True:
            b0, b1 = need(2)
            op, n = b0 & 15, b1 & 127
            if n == 126:
                n = struct.unpack(">H", need(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", need(8))[0]
            mask = need(4) if b1 & 128 else b"\0\0\0\0"
            p = bytes(x ^ mask[i % 4] for i, x in enumerate(need(n)))
            if n < 126:
                ln = bytes([n])
            elif n < 65536:
                ln = bytes([126]) + struct.pack(">H", n)
            else:
                ln = bytes([127]) + struct.pack(">Q", n)
            c.sendall(bytes([b0 & 0x8F]) + ln + p)
            if op == 8:
                break
    except EOFError:
        pass
    c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
)PY";

std::string heredoc_run(const char* script, unsigned port) {
    return "exec python3 - " + std::to_string(port) + " <<'WRENN_PY'\n" + script + "\nWRENN_PY\n";
}

template <class Stream>
asio::awaitable<void> ws_echo_through_proxy(const local_server& srv, unsigned port, const std::string& id) {
    const std::string host = proxy_host(srv, port, id);
    auto s = co_await open_to<Stream>(srv, host);
    websocket::stream<Stream> ws(std::move(s));
    beast::get_lowest_layer(ws).expires_never();
    ws.set_option(websocket::stream_base::timeout{20s, 20s, false});
    websocket::response_type res;
    const std::string host_header = host + ":" + server_port(srv);
    auto [hec] = co_await ws.async_handshake(res, host_header, "/echo?q=1", asio::as_tuple(use_awaitable));
    throw_if(hec, "websocket handshake through the proxy");
    CHECK(res.result_int() == 101);
    CHECK(std::string(res["X-Seen-Host"]) == "127.0.0.1:" + std::to_string(port));

    std::string small = "hello through the proxy";
    std::string large(200 * 1024, 'x');
    for (std::size_t i = 0; i < large.size(); ++i) large[i] = static_cast<char>('a' + i % 26);
    const std::vector<const std::string*> messages{&small, &large, &small};
    for (const std::string* msg : messages) {
        ws.text(true);
        auto [wec, wn] = co_await ws.async_write(asio::buffer(*msg), asio::as_tuple(use_awaitable));
        throw_if(wec, "websocket write");
        beast::flat_buffer b;
        auto [rec, rn] = co_await ws.async_read(b, asio::as_tuple(use_awaitable));
        throw_if(rec, "websocket read");
        std::string got = beast::buffers_to_string(b.data());
        CHECK(ws.got_text());
        CHECK(got.size() == msg->size());
        CHECK(got == *msg);
    }
    auto [cec] = co_await ws.async_close(websocket::close_code::normal, asio::as_tuple(use_awaitable));
    throw_if(cec, "websocket close");
}

} // namespace

TEST_CASE("proxy: HTTP requests reach a server inside the capsule", "[proxy]") {
    const bool tls = GENERATE(false, true);
    CAPTURE(tls);
    local_server srv({.tls = tls});
    run_io([&]() -> asio::awaitable<void> {
        auto id = co_await wrenn_test::create_capsule(srv);
        const unsigned files_port = free_port(), echo_port = free_port(), dead_port = free_port();
        REQUIRE(files_port != echo_port);

        std::string site = "mkdir -p site/dir && printf 'hello from the capsule' > site/hello.txt && "
                           "printf inner > site/dir/inner.txt && cd site && exec python3 -m http.server " +
                           std::to_string(files_port) + " --bind 127.0.0.1 >/dev/null 2>&1";
        co_await exec_background(srv, id, site);
        std::string echo = heredoc_run(echo_server_py, echo_port);
        co_await exec_background(srv, id, echo);

        const std::string files = proxy_host(srv, files_port, id), echo_host = proxy_host(srv, echo_port, id);
        const std::string hello = "/hello.txt", root = "/";
        bool files_up = co_await wait_upstream(srv, tls, files, hello);
        REQUIRE(files_up);
        bool echo_up = co_await wait_upstream(srv, tls, echo_host, root);
        REQUIRE(echo_up);

        // GET a file; HEAD; an upstream 404; python's own /dir -> /dir/ redirect.
        call c1{files, "GET", "/hello.txt", {}, {}};
        auto r = co_await proxy_call(srv, tls, c1);
        CHECK(r.status == 200);
        CHECK(r.body == "hello from the capsule");
        call c2{files, "HEAD", "/hello.txt", {}, {}};
        r = co_await proxy_call(srv, tls, c2);
        CHECK(r.status == 200);
        CHECK(r.header("content-length") == "22");
        CHECK(r.body.empty());
        call c3{files, "GET", "/missing.txt", {}, {}};
        r = co_await proxy_call(srv, tls, c3);
        CHECK(r.status == 404);
        call c4{files, "GET", "/dir", {}, {}};
        r = co_await proxy_call(srv, tls, c4);
        CHECK(r.status == 301);
        CHECK(r.header("location") == "/dir/");
        call c5{files, "GET", "/dir/inner.txt", {}, {}};
        r = co_await proxy_call(srv, tls, c5);
        CHECK(r.status == 200);
        CHECK(r.body == "inner");

        // An absolute Location on the capsule-local address becomes a path.
        call c6{echo_host, "GET", "/redirect", {}, {}};
        r = co_await proxy_call(srv, tls, c6);
        CHECK(r.status == 302);
        CHECK(r.header("location") == "/target?x=1");

        // Path and query unchanged, Host rewritten, X-API-Key forwarded (and not needed).
        call c7{echo_host, "GET", "/a//b/?x=1&y=%20", {}, {{"X-API-Key", "k123"}}};
        r = co_await proxy_call(srv, tls, c7);
        CHECK(r.status == 200);
        CHECK(r.header("x-seen-path") == "/a//b/?x=1&y=%20");
        CHECK(r.header("x-seen-host") == "127.0.0.1:" + std::to_string(echo_port));
        CHECK(r.header("x-seen-key") == "k123");
        CHECK(r.header("connection") == "close");  // one request per proxied connection
        call c8{echo_host, "GET", "/", {}, {}};
        r = co_await proxy_call(srv, tls, c8);
        CHECK(r.header("x-seen-key").empty());

        // A 2 MiB upload, echoed back.
        std::string big(2 * 1024 * 1024, '\0');
        for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 7919) % 251);
        call c9{echo_host, "POST", "/upload", big, {}};
        r = co_await proxy_call(srv, tls, c9);
        CHECK(r.status == 200);
        CHECK(r.body.size() == big.size());
        CHECK(r.body == big);

        // The errors, text/plain.
        auto expect_error = [&](std::string host, unsigned status, std::string text) -> asio::awaitable<void> {
            call c10{host, "GET", "/", {}, {}};
            auto e = co_await proxy_call(srv, tls, c10);
            CAPTURE(host);
            CHECK(e.status == status);
            CHECK(e.body == text + "\n");
            CHECK(e.header("content-type").rfind("text/plain", 0) == 0);
        };
        {
            const std::string h13 = "0-" + id + "." + srv.proxy_host_suffix(), t13 = "invalid port";
            co_await expect_error(h13, 400, t13);
        }
        {
            const std::string h14 = "70000-" + id + "." + srv.proxy_host_suffix(), t14 = "invalid port";
            co_await expect_error(h14, 400, t14);
        }
        {
            const std::string h15 = "99999999999999999999999-" + id + "." + srv.proxy_host_suffix(), t15 = "invalid port";
            co_await expect_error(h15, 400, t15);
        }
        {
            const std::string h16 = std::to_string(files_port) + "-cl-abc." + srv.proxy_host_suffix(), t16 = "invalid sandbox ID";
            co_await expect_error(h16, 400, t16);
        }
        {
            const std::string h17 = std::to_string(files_port) + "-cl-0000000000000000000000000." + srv.proxy_host_suffix(), t17 = "sandbox not found";
            co_await expect_error(h17, 404, t17);
        }
        {
            const std::string h18 = proxy_host(srv, dead_port, id), t18 = "proxy error: dial tcp 127.0.0.1:" + std::to_string(dead_port) + ": Connection refused";
            co_await expect_error(h18, 502, t18);
        }

        auto other = co_await wrenn_test::create_capsule(srv);
        std::string pause_path = "/v1/capsules/" + other + "/pause";
        auto paused = co_await http_call(srv, "POST", pause_path);
        REQUIRE(paused.status / 100 == 2);
        {
            const std::string h19 = proxy_host(srv, files_port, other), t19 = "sandbox is not running (status: paused)";
            co_await expect_error(h19, 409, t19);
        }

        // Hosts that do not match go to the API as before.
        std::string get_path = "/v1/capsules/" + id;
        auto api = co_await http_call(srv, "GET", get_path);
        CHECK(api.status == 200);
        CHECK(api.json().at("id").as_string() == id);
        call c11{"localhost", "GET", api_prefix(srv) + "/v1/capsules", {}, {}};
        r = co_await proxy_call(srv, tls, c11);
        CHECK(r.status == 401);  // the API, without a key
        call c12{"x" + files, "GET", api_prefix(srv) + "/hello.txt", {}, {}};
        r = co_await proxy_call(srv, tls, c12);
        CHECK(r.status == 404);
        CHECK(r.header("content-type") == "application/json");
    }, 120s);
}

TEST_CASE("proxy: WebSocket upgrades are relayed", "[proxy]") {
    const bool tls = GENERATE(false, true);
    CAPTURE(tls);
    local_server srv({.tls = tls});
    run_io([&]() -> asio::awaitable<void> {
        auto id = co_await wrenn_test::create_capsule(srv);
        const unsigned port = free_port();
        std::string script = heredoc_run(ws_echo_py, port);
        co_await exec_background(srv, id, script);
        const std::string host = proxy_host(srv, port, id), root = "/";
        bool up = co_await wait_upstream(srv, tls, host, root);
        REQUIRE(up);
        if (tls) co_await ws_echo_through_proxy<tls_stream>(srv, port, id);
        else co_await ws_echo_through_proxy<plain_stream>(srv, port, id);
        // And again on a fresh connection: the first relay ended cleanly.
        if (tls) co_await ws_echo_through_proxy<tls_stream>(srv, port, id);
        else co_await ws_echo_through_proxy<plain_stream>(srv, port, id);
    }, 90s);
}
