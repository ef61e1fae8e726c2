// The HTTP/1.1 request head the transport sends, sans-I/O: request line and
// header block written straight into a reusable buffer (no per-field
// allocation, unlike a Beast message built per request; bench/NOTES.md).
#pragma once

#include <wrenn/detail/config.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace wrenn::protocol {

struct request_head {
    std::string_view method;        // "GET", "POST", "PUT", "DELETE"
    std::string_view target;        // path and query, e.g. "/api/v1/capsules/x"
    std::string_view host;          // the Host header: "host" or "host:port"
    std::string_view user_agent;
    std::string_view api_key;       // X-API-Key; empty: not sent
    std::string_view content_type;  // empty: not sent
    std::size_t body_size = 0;      // bytes of body that follow the head
    bool chunked = false;           // the body follows in chunks (size unknown)
    std::string_view extra_headers; // more header lines, each "Name: value\r\n" (a WebSocket upgrade's)
};

// Appends the request line, the headers and the blank line to `out`.
// Content-Length is sent when there is a body, and as 0 for an empty POST or
// PUT (servers may refuse those without a length: 411); Transfer-Encoding:
// chunked replaces it for a chunked body.
WRENN_DECL void append_request_head(std::string& out, const request_head& h);

// Whether `v` may be sent as a header value or request target as it is: no
// CR, LF, NUL or other control character (they would end the header early
// and let the rest be read as another header or request).
WRENN_DECL bool is_header_safe(std::string_view v);

} // namespace wrenn::protocol

#ifdef WRENN_HEADER_ONLY
#include <wrenn/impl/request_head.ipp>
#endif
