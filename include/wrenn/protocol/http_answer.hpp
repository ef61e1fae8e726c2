// The client side of an HTTP/1.1 answer (RFC 9112), sans-I/O: the status
// line and the header block, then the body by Content-Length, in chunks, or
// up to the end of the connection. impl/http_transport.ipp and
// impl/websocket.ipp move the bytes.
//
// Why our own and not Beast's parser: Beast's keeps every header in a
// heap-allocated list and looks each up by name afterwards, about a seventh
// of a small request's cost; the transport wants five headers and the body
// (bench/NOTES.md).
#pragma once

#include <wrenn/detail/config.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wrenn::protocol {

struct answer_limits {
    std::size_t head = 64 * 1024;                                  // status line and headers
    std::uint64_t body = std::numeric_limits<std::uint64_t>::max();  // body bytes
};

class answer_reader {
public:
    enum class event {
        need_more,  // every byte was taken; the answer goes on
        head,       // the head is complete: status(), header() and the rest are set
        body,       // body() holds the next piece of the body (a view into the input)
        done,       // the answer is complete; the bytes after it were not taken
        failed,     // the answer is not valid HTTP/1.1 or over a limit: failure() says how
    };

    explicit answer_reader(answer_limits limits = {}) : limits_(limits) {}

    // Takes bytes of the answer from [data, data + size) and says what they
    // completed; `used` is how many were taken. Call again with the rest
    // after a head or body event. Interim answers (1xx but 101) are skipped.
    WRENN_DECL event read(const char* data, std::size_t size, std::size_t& used);
    // The connection ended: done when the body runs to the end of the
    // connection (or the answer was already complete), failed otherwise.
    WRENN_DECL event finish();
    // Ready for the next answer on the same connection, under `limits`
    // (keeps its buffers).
    WRENN_DECL void reset(answer_limits limits = {});

    bool started() const noexcept { return started_; }
    bool head_done() const noexcept { return head_done_; }
    bool is_done() const noexcept { return state_ == state::done; }
    unsigned status() const noexcept { return status_; }
    // Whether the connection may carry another request after this answer.
    bool keep_alive() const noexcept { return keep_alive_; }
    // The body's size when the head gives it (Content-Length, not chunked).
    std::optional<std::uint64_t> content_length() const noexcept { return content_length_; }
    // The first header called `name` (ASCII case-insensitive), value trimmed.
    WRENN_DECL std::optional<std::string_view> header(std::string_view name) const;
    std::string_view body() const noexcept { return body_; }
    std::uint64_t body_bytes() const noexcept { return body_seen_; }
    const std::string& failure() const noexcept { return failure_; }

private:
    enum class state : unsigned char {
        head,          // collecting the status line and headers
        length_body,   // Content-Length bytes
        eof_body,      // everything up to the end of the connection
        chunk_line,    // a chunk's size line
        chunk_data,
        chunk_end,     // the CRLF after a chunk's data
        trailers,      // the lines after the last chunk
        done,
        failed,
    };

    event fail(std::string why);
    event parse_head();  // head_ holds a complete head
    event on_chunk_line();
    event start_body();

    answer_limits limits_;
    state state_ = state::head;
    bool started_ = false;
    bool head_done_ = false;  // the real answer's head (not an interim one)
    bool keep_alive_ = true;
    unsigned status_ = 0;
    std::optional<std::uint64_t> content_length_;
    std::uint64_t left_ = 0;       // of the body (length_body) or of the chunk (chunk_data, chunk_end)
    std::uint64_t body_seen_ = 0;
    std::string head_;             // the head's bytes (header views point into it)
    std::string line_;             // a chunk-size or trailer line across reads
    std::vector<std::pair<std::string_view, std::string_view>> fields_;
    std::string_view body_;
    std::string failure_;
};

} // namespace wrenn::protocol

#ifdef WRENN_HEADER_ONLY
#include <wrenn/impl/http_answer.ipp>
#endif
