// Test support for fault injection only: a loopback HTTP server on its own
// thread that answers requests with scripted bytes (and ends connections the
// way it is told), and records what it received. Real behaviour is tested
// against wrenn-local.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace wrenn_test {

// What the server does with one request.
struct reply {
    enum class end_how {
        keep_open,  // read the next request on the same connection
        close,      // FIN
        reset,      // RST (SO_LINGER 0)
    };
    std::string bytes{};                 // written verbatim; empty: nothing (a silent server)
    end_how end = end_how::keep_open;
    std::chrono::milliseconds drip{0};   // > 0: one byte at a time, this far apart
    bool websocket = false;              // first answer the upgrade (101), `bytes` (raw frames) in the same write
};

class canned_server {
public:
    // `response` is written verbatim (status line, headers, body) for every request.
    explicit canned_server(std::string response);
    // The n-th request (counted over all connections) gets responses[n], the
    // last one repeating. An empty response sends nothing (a silent server);
    // hang_up closes the connection once the request was read.
    explicit canned_server(std::vector<std::string> responses);
    explicit canned_server(std::vector<reply> replies);
    static inline const std::string hang_up = "<hang up>";
    ~canned_server();

    std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/api"; }
    unsigned short port() const { return port_; }
    std::vector<std::string> requests() const;  // raw request heads + bodies, in order
    // What the client sent on the i-th upgraded connection after its upgrade,
    // once the client has closed it; nullopt if it is still open `within`.
    std::optional<std::string> upgraded_bytes(std::size_t i, std::chrono::milliseconds within) const;

private:
    void serve();
    bool answer(int fd, const std::string& request, const reply& r);  // false: the connection is done
    std::vector<reply> replies_;
    int listen_fd_ = -1;
    unsigned short port_ = 0;
    std::atomic<bool> stop_{false};
    mutable std::mutex mu_;
    mutable std::condition_variable upgraded_changed_;
    std::vector<std::string> requests_;
    std::vector<std::pair<std::string, bool>> upgraded_;  // bytes after the upgrade, closed by the client
    std::thread thread_;
};

// "HTTP/1.1 <status> X\r\nContent-Type: ...\r\nContent-Length: n\r\n<extra>\r\n<body>"
std::string http_answer(unsigned status, const std::string& body,
                        const std::string& content_type = "application/json", const std::string& extra_headers = "");

// One unmasked WebSocket frame from the server: FIN set, `opcode` (1 text, 2
// binary, 8 close, ...), the payload with its length encoded as RFC 6455 says.
std::string ws_frame(const std::string& payload, unsigned opcode = 1);

// The frames a client wrote (masked, as RFC 6455 wants), unmasked; a cut
// frame at the end is left out.
struct client_frame {
    unsigned opcode = 0;
    bool fin = false, masked = false;
    std::string payload;
};
std::vector<client_frame> client_frames(const std::string& bytes);

} // namespace wrenn_test
