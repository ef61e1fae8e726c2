// wrenn-local: the capsule proxy (WIRE.md §12.2), as the HTTP connection
// loop (http.cpp) calls it once it has read a request header whose Host
// names a capsule port. Instantiated for beast::tcp_stream and
// asio::ssl::stream<beast::tcp_stream>.
#pragma once

#include "common.hpp"
#include "front.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

namespace wl {

// Serves one proxied request (its header read by `header_parser`; the rest
// of the client's bytes so far in `buf`); the client connection ends afterwards.
template <class Stream>
asio::awaitable<void> proxy_request(app_state& app, Stream& stream, boost::beast::tcp_stream& raw,
                                    boost::beast::flat_buffer& buf,
                                    http::request_parser<http::empty_body>& header_parser, const proxy_target& t);

} // namespace wl
