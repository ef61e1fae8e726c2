// One HTTP/1.1 connection of a transport: its socket (plain or TLS), the
// bytes read but not yet taken, the answer reader and the expiry the
// transport's watchdog keeps. Pooled connections and WebSockets are made of it.
#pragma once

#include <wrenn/protocol/http_answer.hpp>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace wrenn::detail {

// Bytes read from a connection that the answer reader has not taken yet.
class read_buffer {
public:
    const char* data() const noexcept { return bytes_.get() + begin_; }
    std::size_t size() const noexcept { return end_ - begin_; }
    void consume(std::size_t n) noexcept {
        begin_ += n;
        if (begin_ == end_) begin_ = end_ = 0;
    }
    // Room to read into, in a buffer of at least `capacity` bytes (allocated
    // on first use, so an idle pooled connection costs nothing here).
    boost::asio::mutable_buffer room(std::size_t capacity) {
        if (capacity_ < capacity) {
            std::unique_ptr<char[]> bigger(new char[capacity]);
            if (size() > 0) std::memcpy(bigger.get(), data(), size());
            end_ = size();
            begin_ = 0;
            bytes_ = std::move(bigger);
            capacity_ = capacity;
        } else if (begin_ > 0 && capacity_ - end_ < capacity_ / 4) {
            std::memmove(bytes_.get(), data(), size());  // a partial head or chunk line: move it to the front
            end_ = size();
            begin_ = 0;
        }
        return {bytes_.get() + end_, capacity_ - end_};
    }
    void commit(std::size_t n) noexcept { end_ += n; }

private:
    std::unique_ptr<char[]> bytes_;
    std::size_t capacity_ = 0, begin_ = 0, end_ = 0;
};

struct http_connection {
    // Plain connections are read and written through plain->socket(): Beast's
    // tcp_stream would add its timer and rate bookkeeping to every operation,
    // and the watchdog (watch/unwatch) keeps the deadlines instead.
    std::optional<boost::beast::tcp_stream> plain;
    std::optional<boost::beast::ssl_stream<boost::beast::tcp_stream>> tls;
    read_buffer in;
    protocol::answer_reader reader;  // kept with the connection: its buffers are reused
    std::string head;  // the request head being sent (reused: it keeps its capacity)
    std::chrono::steady_clock::time_point idle_since{};
    // While a read or write is under way on a pooled connection: when it has
    // waited too long. The transport's watchdog cancels it then and sets
    // timed_out, so the failure reads as the timeout it is. Both under
    // `watch_mu`: the lease's holder and the watchdog (maybe on another
    // thread) are the only ones to take it, so requests on different
    // connections never wait for each other here.
    std::mutex watch_mu;
    std::chrono::steady_clock::time_point expiry = std::chrono::steady_clock::time_point::max();
    std::atomic<bool> timed_out = false;

    boost::beast::tcp_stream& tcp() { return tls ? tls->next_layer() : *plain; }
};


} // namespace wrenn::detail
