#include "stream_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <array>
#include <cstdio>
#include <string_view>
#include <thread>

namespace bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

// One unmasked, final text frame (RFC 6455 §5.2), as a server sends it.
void append_text_frame(std::string& out, std::string_view payload) {
    out += static_cast<char>(0x81);
    auto n = payload.size();
    if (n < 126) {
        out += static_cast<char>(n);
    } else if (n <= 0xffff) {
        out += static_cast<char>(126);
        out += static_cast<char>((n >> 8) & 0xff);
        out += static_cast<char>(n & 0xff);
    } else {
        out += static_cast<char>(127);
        for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((n >> shift) & 0xff);
    }
    out += payload;
}

// start, `events` stdout messages, exit: each one JSON object and "\n", as
// Go's encoder writes them (WIRE.md §0, §8.2).
std::string encode_stream(long events) {
    std::string out;
    out.reserve(static_cast<std::size_t>(events) * 104 + 64);
    append_text_frame(out, "{\"type\":\"start\",\"pid\":4242}\n");
    std::string msg;
    for (long i = 0; i < events; ++i) {
        std::array<char, 24> number{};
        std::snprintf(number.data(), number.size(), "%08ld", i);
        msg = "{\"type\":\"stdout\",\"data\":\"line ";
        msg += number.data();
        msg += ": ";
        // 72 characters of text in all ("line " 5 + 8 digits + ": " 2 + 57), then "\n"
        msg.append(57, static_cast<char>('a' + i % 26));
        msg += "\\n\"}\n";
        append_text_frame(out, msg);
    }
    append_text_frame(out, "{\"type\":\"exit\",\"exit_code\":0}\n");
    return out;
}

bool is_exec_stream_target(std::string_view target) {
    constexpr std::string_view suffix = "/exec/stream";
    return target.find("/v1/capsules/") != std::string_view::npos && target.size() > suffix.size() &&
           target.substr(target.size() - suffix.size()) == suffix;
}

} // namespace

struct stream_server::impl {
    asio::io_context ioc{1};
    tcp::acceptor acceptor;
    long events;
    std::string bytes;
    std::thread thread;

    impl(long n, unsigned short port)
        : acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), port)), events(n),
          bytes(encode_stream(n)) {}

    asio::awaitable<void> session(tcp::socket socket) {
        try {
            socket.set_option(tcp::no_delay(true));
            beast::flat_buffer buffer;
            http::request<http::empty_body> req;
            co_await http::async_read(socket, buffer, req, asio::use_awaitable);
            if (!websocket::is_upgrade(req) || !is_exec_stream_target(req.target())) {
                http::response<http::string_body> res(http::status::not_found, req.version());
                res.set(http::field::content_type, "application/json");
                res.body() = "{\"code\":\"not_found\",\"message\":\"the stream server only has exec/stream\"}\n";
                res.keep_alive(false);
                res.prepare_payload();
                co_await http::async_write(socket, res, asio::use_awaitable);
                co_return;
            }
            websocket::stream<tcp::socket> ws(std::move(socket));
            co_await ws.async_accept(req, asio::use_awaitable);
            beast::flat_buffer start;
            co_await ws.async_read(start, asio::use_awaitable);
            // The canned stream, then end of sending (the real server closes without a close frame).
            auto& raw = ws.next_layer();
            co_await asio::async_write(raw, asio::buffer(bytes), asio::use_awaitable);
            boost::system::error_code ec;
            raw.shutdown(tcp::socket::shutdown_send, ec);
            // Drain what the client still sends (its close frame, a stop) until it closes:
            // closing with unread bytes would reset the connection under the client's last reads.
            std::array<char, 4096> scratch{};
            for (;;) co_await raw.async_read_some(asio::buffer(scratch), asio::use_awaitable);
        } catch (const std::exception&) {
            // the client closed: this connection is over
        }
    }

    asio::awaitable<void> accept_loop() {
        for (;;) {
            auto socket = co_await acceptor.async_accept(asio::use_awaitable);
            asio::co_spawn(ioc, session(std::move(socket)), asio::detached);
        }
    }
};

stream_server::stream_server(long events, unsigned short port) : impl_(std::make_unique<impl>(events, port)) {
    asio::co_spawn(impl_->ioc, impl_->accept_loop(), asio::detached);
}

stream_server::~stream_server() {
    impl_->ioc.stop();
    if (impl_->thread.joinable()) impl_->thread.join();
}

void stream_server::start() {
    impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

void stream_server::run_in_this_thread() { impl_->ioc.run(); }

unsigned short stream_server::port() const { return impl_->acceptor.local_endpoint().port(); }

std::string stream_server::base_url() const { return "http://127.0.0.1:" + std::to_string(port()) + "/api"; }

long stream_server::events() const { return impl_->events; }

std::size_t stream_server::stream_bytes() const { return impl_->bytes.size(); }

} // namespace bench
