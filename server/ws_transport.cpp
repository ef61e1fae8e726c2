// wrenn-local: ws_conn over Beast's websocket::stream (see ws.hpp for what a
// ws_conn promises), and run_ws, which accepts an upgrade and runs the
// session over it. Plain TCP or TLS.
#include "ws_transport.hpp"
#include "ws.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <deque>
#include <type_traits>

namespace wl {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using asio::use_awaitable;

namespace {

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

} // namespace

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

template asio::awaitable<void> run_ws(app_state&, beast::tcp_stream, ws_upgrade);
template asio::awaitable<void> run_ws(app_state&, asio::ssl::stream<beast::tcp_stream>, ws_upgrade);

} // namespace wl
