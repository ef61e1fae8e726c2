// wrenn-local: writing answers to an HTTP client (plain TCP or TLS).
//
// The connection loop (http.cpp) and the capsule proxy (proxy.cpp) both
// answer clients with these: an `answer` with its body in memory, one whose
// body is an open file sent piecewise, and the short read-and-drop after an
// answer to a request whose body was left unread. Templates over the stream
// (beast::tcp_stream or asio::ssl::stream<beast::tcp_stream>); `raw` is the
// TCP layer underneath, which carries the timeouts.
#pragma once

#include "common.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cerrno>
#include <limits>
#include <tuple>
#include <vector>

#include <unistd.h>

namespace wl {

namespace beast = boost::beast;
namespace http = beast::http;
using asio::use_awaitable;

inline constexpr auto idle_timeout = std::chrono::seconds(620);
inline constexpr auto io_timeout = std::chrono::seconds(60);
inline constexpr std::size_t file_chunk = 64 * 1024;  // streamed bodies move in pieces of this size

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

} // namespace wl
