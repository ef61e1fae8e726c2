// wrenn-local: the WebSocket sessions (WIRE.md §8, §9, §11) and the
// connection they run over. ws.cpp runs a session (exec stream, the stream
// of a running process, a PTY) on a ws_conn; ws_transport.cpp provides the
// ws_conn after the HTTP layer's upgrade.
#pragma once

#include "common.hpp"

namespace wl {

struct ws_message {
    enum status_t { message, ended, timeout } status = ended;
    std::string data;  // the payload of a text or binary message
};

// A server-side WebSocket after the upgrade (plain or TLS), on the server's
// one thread. A read is pending all the time (client pings get pongs, client
// close frames are answered); messages wait in a small inbox (64 messages /
// 4 MiB; more are dropped). Sends are queued and written one at a time. The
// server never sends a close frame: finish() writes what is queued, then ends
// the connection (TCP FIN; with TLS a close_notify alert first).
class ws_conn {
public:
    virtual ~ws_conn() = default;
    // The next client message; `ended` once the client is gone or after
    // finish(); `timeout` at the deadline.
    virtual asio::awaitable<ws_message> receive_until(std::chrono::steady_clock::time_point deadline) = 0;
    asio::awaitable<ws_message> receive() { return receive_until(std::chrono::steady_clock::time_point::max()); }
    // Queues one text frame. false (nothing queued) when more than 16 MiB
    // wait already, unless `force`. Ignored once closing().
    virtual bool send(std::string text, bool force = false) = 0;
    // Sends what is queued, then closes the connection.
    virtual void finish() = 0;
    // finish() was called or the client is gone.
    virtual bool closing() const = 0;
};

asio::awaitable<void> ws_session(app_state& app, std::shared_ptr<ws_conn> ws, ws_route route, request req);

} // namespace wl
