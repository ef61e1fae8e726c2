// A minimal loopback WebSocket server for the exec-stream benchmark: at
// <anything>/v1/capsules/<id>/exec/stream it completes the upgrade, reads the
// client's start message, then replays the same canned exec stream to every
// client (WIRE.md §8.2 as on the wire: text frames of one JSON object each,
// ending with "\n", no close frame): start, `events` stdout messages of ~100
// bytes, exit 0; then it stops sending (TCP FIN, as the real server) and
// drains whatever the client still sends until it closes. The frames are
// encoded once up front and written with one write per client, so the server
// costs almost nothing next to the clients it feeds. One thread.
#pragma once

#include <memory>
#include <string>

namespace bench {

// The bytes of one stdout event's `data` once decoded: 72 characters of text
// and a newline (sent as the JSON escape \n). Every client checks this length.
inline constexpr std::size_t stream_data_size = 73;

class stream_server {
public:
    // Listens at once (port 0: an ephemeral port); serves once start() or
    // run_in_this_thread() is called.
    stream_server(long events, unsigned short port = 0);
    ~stream_server();
    stream_server(const stream_server&) = delete;
    stream_server& operator=(const stream_server&) = delete;

    unsigned short port() const;
    std::string base_url() const;  // http://127.0.0.1:<port>/api
    long events() const;
    std::size_t stream_bytes() const;  // bytes sent to each client after the upgrade
    void start();               // serves on a thread of its own, until destroyed
    void run_in_this_thread();  // the standalone server: never returns

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace bench
