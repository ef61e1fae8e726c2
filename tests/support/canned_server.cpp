#include "canned_server.hpp"

#include <algorithm>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>

namespace wrenn_test {

std::string http_answer(unsigned status, const std::string& body, const std::string& content_type,
                        const std::string& extra_headers) {
    return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: " + content_type +
           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + extra_headers + "\r\n" + body;
}

canned_server::canned_server(std::string response) : canned_server(std::vector<std::string>{std::move(response)}) {}

canned_server::canned_server(std::vector<std::string> responses) : responses_(std::move(responses)) {
    if (responses_.empty()) responses_.emplace_back();  // silent
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listen_fd_, 64) != 0)
        throw std::runtime_error("canned_server: bind/listen failed");
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
}

canned_server::~canned_server() {
    stop_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    thread_.join();
    ::close(listen_fd_);
}

std::vector<std::string> canned_server::requests() const {
    std::lock_guard lock(mu_);
    return requests_;
}

void canned_server::serve() {
    while (!stop_) {
        pollfd p{listen_fd_, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) continue;
        std::string in;
        char buf[4096];
        for (;;) {  // one connection, many requests (keep-alive)
            auto head_end = in.find("\r\n\r\n");
            if (head_end != std::string::npos) {
                std::size_t body_len = 0;
                auto cl = in.find("Content-Length: ");
                if (cl == std::string::npos) cl = in.find("content-length: ");
                if (cl != std::string::npos && cl < head_end) body_len = std::strtoul(in.c_str() + cl + 16, nullptr, 10);
                if (in.size() >= head_end + 4 + body_len) {
                    std::size_t n;
                    {
                        std::lock_guard lock(mu_);
                        requests_.push_back(in.substr(0, head_end + 4 + body_len));
                        n = requests_.size() - 1;
                    }
                    in.erase(0, head_end + 4 + body_len);
                    const std::string& response = responses_[std::min(n, responses_.size() - 1)];
                    if (response == hang_up) break;
                    if (::send(fd, response.data(), response.size(), MSG_NOSIGNAL) < 0) break;
                    continue;
                }
            }
            pollfd c{fd, POLLIN, 0};
            if (::poll(&c, 1, 100) == 0) {
                if (stop_) break;
                continue;
            }
            auto n = ::recv(fd, buf, sizeof buf, 0);
            if (n <= 0) break;
            in.append(buf, static_cast<std::size_t>(n));
        }
        ::close(fd);
    }
}

} // namespace wrenn_test
