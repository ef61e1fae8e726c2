// wrenn-local: the WebSocket upgrade of an HTTP connection.
//
// When the connection loop (http.cpp) reads an upgrade request on one of the
// WebSocket routes, it hands the connection's stream over to run_ws, which
// accepts the upgrade and runs the route's session (ws.cpp) over a ws_conn
// built on Beast's websocket::stream (ws_transport.cpp). Instantiated for
// beast::tcp_stream and asio::ssl::stream<beast::tcp_stream>.
#pragma once

#include "common.hpp"

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>

namespace wl {

namespace http = boost::beast::http;

struct ws_upgrade {
    http::request<http::empty_body> req;
    request r;
    ws_route route;
};

// Accepts the upgrade, then runs the session until it ends; the stream is
// the connection's (owned from now on).
template <class Stream>
asio::awaitable<void> run_ws(app_state& app, Stream stream, ws_upgrade up);

} // namespace wl
