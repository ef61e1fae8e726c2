#include "canned_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <array>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace bench {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

struct canned_server::impl {
    asio::io_context ioc{1};
    tcp::acceptor acceptor{ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
    std::optional<asio::ssl::context> tls;
    std::string body;
    std::string download;  // the answer to .../files/stream/read
    std::thread thread;

    static bool ends_with(std::string_view s, std::string_view suffix) {
        return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
    }

    template <class Stream>
    asio::awaitable<void> answer(Stream& stream) {
        boost::beast::flat_buffer buffer;
        std::array<char, 64 * 1024> scratch{};
        for (;;) {
            // Any body, of any size, read and dropped piece by piece (the uploads).
            http::request_parser<http::buffer_body> parser;
            parser.body_limit(boost::none);
            co_await http::async_read_header(stream, buffer, parser, asio::use_awaitable);
            while (!parser.is_done()) {
                parser.get().body().data = scratch.data();
                parser.get().body().size = scratch.size();
                auto [ec, n] = co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
                if (ec && ec != http::error::need_buffer) throw boost::system::system_error(ec);
            }
            auto& req = parser.get();
            http::response<http::string_body> res(http::status::ok, req.version());
            if (ends_with(req.target(), "/files/stream/write")) {
                res.result(http::status::no_content);
            } else if (ends_with(req.target(), "/files/stream/read")) {
                res.set(http::field::content_type, "application/octet-stream");
                res.body() = download;
            } else {
                res.set(http::field::content_type, "application/json");
                res.body() = body;
            }
            res.keep_alive(req.keep_alive());
            res.prepare_payload();
            co_await http::async_write(stream, res, asio::use_awaitable);
            if (!req.keep_alive()) co_return;
        }
    }

    asio::awaitable<void> session(tcp::socket socket) {
        try {
            if (!tls) {
                co_await answer(socket);
                co_return;
            }
            asio::ssl::stream<tcp::socket> stream(std::move(socket), *tls);
            co_await stream.async_handshake(asio::ssl::stream_base::server, asio::use_awaitable);
            co_await answer(stream);
        } catch (const std::exception&) {
            // the client went away: the end of this connection
        }
    }

    asio::awaitable<void> accept_loop() {
        for (;;) {
            auto socket = co_await acceptor.async_accept(asio::use_awaitable);
            asio::co_spawn(ioc, session(std::move(socket)), asio::detached);
        }
    }
};

canned_server::canned_server(std::string body, const std::string& tls_dir, std::size_t download_size)
    : impl_(std::make_unique<impl>()) {
    impl_->body = std::move(body);
    impl_->download.resize(download_size);
    for (std::size_t i = 0; i < download_size; ++i) impl_->download[i] = static_cast<char>('a' + i % 26);
    if (!tls_dir.empty()) {
        impl_->tls.emplace(asio::ssl::context::tls_server);
        impl_->tls->use_certificate_chain_file(tls_dir + "/server.pem");
        impl_->tls->use_private_key_file(tls_dir + "/server.key", asio::ssl::context::pem);
    }
    asio::co_spawn(impl_->ioc, impl_->accept_loop(), asio::detached);
    impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

canned_server::~canned_server() {
    impl_->ioc.stop();
    impl_->thread.join();
}

std::string canned_server::base_url() const {
    return std::string(impl_->tls ? "https" : "http") + "://127.0.0.1:" +
           std::to_string(impl_->acceptor.local_endpoint().port()) + "/api";
}

} // namespace bench
