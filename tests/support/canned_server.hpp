// Test support for fault injection only: a loopback HTTP server on its own
// thread that answers every request with the same canned bytes, and records
// what it received. Real behaviour is tested against wrenn-local.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace wrenn_test {

class canned_server {
public:
    // `response` is written verbatim (status line, headers, body) for every request.
    explicit canned_server(std::string response);
    // The n-th request (counted over all connections) gets responses[n], the
    // last one repeating. An empty response sends nothing (a silent server);
    // hang_up closes the connection once the request was read.
    explicit canned_server(std::vector<std::string> responses);
    static inline const std::string hang_up = "<hang up>";
    ~canned_server();

    std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/api"; }
    unsigned short port() const { return port_; }
    std::vector<std::string> requests() const;  // raw request heads + bodies, in order

private:
    void serve();
    std::vector<std::string> responses_;
    int listen_fd_ = -1;
    unsigned short port_ = 0;
    std::atomic<bool> stop_{false};
    mutable std::mutex mu_;
    std::vector<std::string> requests_;
    std::thread thread_;
};

// "HTTP/1.1 <status> X\r\nContent-Type: ...\r\nContent-Length: n\r\n<extra>\r\n<body>"
std::string http_answer(unsigned status, const std::string& body,
                        const std::string& content_type = "application/json", const std::string& extra_headers = "");

} // namespace wrenn_test
