#include "canned_server.hpp"

#include <algorithm>

#include <openssl/sha.h>

#include <boost/beast/core/detail/base64.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>

namespace wrenn_test {

std::string http_answer(unsigned status, const std::string& body, const std::string& content_type,
                        const std::string& extra_headers) {
    return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: " + content_type +
           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + extra_headers + "\r\n" + body;
}

canned_server::canned_server(std::string response) : canned_server(std::vector<std::string>{std::move(response)}) {}

namespace {
std::vector<reply> as_replies(std::vector<std::string> responses) {
    std::vector<reply> out;
    for (auto& r : responses) {
        if (r == canned_server::hang_up)
            out.push_back({.end = reply::end_how::close});
        else
            out.push_back({.bytes = std::move(r)});
    }
    return out;
}

// The value of header `name` (case-insensitive) in a request head, or "".
std::string header_value(const std::string& head, std::string name) {
    std::string lower = head;
    for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    auto at = lower.find("\r\n" + name + ":");
    if (at == std::string::npos) return {};
    at += name.size() + 3;
    auto end = head.find("\r\n", at);
    std::string v = head.substr(at, end - at);
    while (!v.empty() && v.front() == ' ') v.erase(0, 1);
    while (!v.empty() && v.back() == ' ') v.pop_back();
    return v;
}

std::string websocket_accept(const std::string& key) {
    std::string in = key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char digest[SHA_DIGEST_LENGTH];
    ::SHA1(reinterpret_cast<const unsigned char*>(in.data()), in.size(), digest);
    std::string out(boost::beast::detail::base64::encoded_size(sizeof digest), '\0');
    out.resize(boost::beast::detail::base64::encode(out.data(), digest, sizeof digest));
    return out;
}
} // namespace

std::string ws_frame(const std::string& payload, unsigned opcode) {
    std::string f(1, static_cast<char>(0x80 | (opcode & 0x0f)));
    auto n = payload.size();
    if (n < 126) {
        f += static_cast<char>(n);
    } else if (n <= 0xffff) {
        f += static_cast<char>(126);
        f += static_cast<char>(n >> 8);
        f += static_cast<char>(n & 0xff);
    } else {
        f += static_cast<char>(127);
        for (int shift = 56; shift >= 0; shift -= 8) f += static_cast<char>((n >> shift) & 0xff);
    }
    return f + payload;
}

std::vector<client_frame> client_frames(const std::string& bytes) {
    std::vector<client_frame> out;
    auto byte = [&](std::size_t i) { return static_cast<unsigned char>(bytes[i]); };
    std::size_t at = 0;
    while (bytes.size() - at >= 2) {
        client_frame f;
        f.fin = (byte(at) & 0x80) != 0;
        f.opcode = byte(at) & 0x0f;
        f.masked = (byte(at + 1) & 0x80) != 0;
        std::uint64_t n = byte(at + 1) & 0x7f;
        std::size_t head = 2;
        if (n >= 126) {
            std::size_t len_bytes = n == 126 ? 2 : 8;
            if (bytes.size() - at < head + len_bytes) break;
            n = 0;
            for (std::size_t k = 0; k < len_bytes; ++k) n = n << 8 | byte(at + head + k);
            head += len_bytes;
        }
        std::size_t mask_at = at + head;
        if (f.masked) head += 4;
        if (bytes.size() - at < head + n) break;
        f.payload = bytes.substr(at + head, n);
        if (f.masked)
            for (std::size_t k = 0; k < f.payload.size(); ++k)
                f.payload[k] = static_cast<char>(f.payload[k] ^ bytes[mask_at + k % 4]);
        out.push_back(std::move(f));
        at += head + n;
    }
    return out;
}

canned_server::canned_server(std::vector<std::string> responses) : canned_server(as_replies(std::move(responses))) {}

canned_server::canned_server(std::vector<reply> replies) : replies_(std::move(replies)) {
    if (replies_.empty()) replies_.emplace_back();  // silent
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

std::optional<std::string> canned_server::upgraded_bytes(std::size_t i, std::chrono::milliseconds within) const {
    std::unique_lock lock(mu_);
    if (!upgraded_changed_.wait_for(lock, within, [&] { return i < upgraded_.size() && upgraded_[i].second; }))
        return std::nullopt;
    return upgraded_[i].first;
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
                    std::string request = in.substr(0, head_end + 4);
                    in.erase(0, head_end + 4 + body_len);
                    if (!answer(fd, request, replies_[std::min(n, replies_.size() - 1)])) break;
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

bool canned_server::answer(int fd, const std::string& request, const reply& r) {
    auto send_all = [&](const std::string& bytes) {
        return ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
    };
    std::size_t upgraded = 0;
    std::string upgrade;
    if (r.websocket) {
        upgrade = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Accept: " + websocket_accept(header_value(request, "Sec-WebSocket-Key")) + "\r\n\r\n";
        std::lock_guard lock(mu_);
        upgraded = upgraded_.size();
        upgraded_.emplace_back();
    }
    // the client's bytes after the upgrade are kept; its close is announced
    auto keep = [&](const char* p, ssize_t n) {
        if (!r.websocket) return;
        std::lock_guard lock(mu_);
        if (n > 0) upgraded_[upgraded].first.append(p, static_cast<std::size_t>(n));
        else upgraded_[upgraded].second = true;
        upgraded_changed_.notify_all();
    };
    if (r.drip.count() > 0) {
        if (!upgrade.empty() && !send_all(upgrade)) return false;
        for (char ch : r.bytes) {
            if (stop_ || !send_all(std::string(1, ch))) return false;
            std::this_thread::sleep_for(r.drip);  // the fault itself: a server that trickles
        }
    } else if (!send_all(upgrade + r.bytes)) {  // frames in the same segment as the 101: none may be lost
        return false;
    }
    switch (r.end) {
    case reply::end_how::keep_open:
        if (!r.websocket) return true;
        // After an upgrade the rest is frames: hold the connection (keeping
        // what the client sends) until the client goes.
        for (char buf[4096];;) {
            pollfd c{fd, POLLIN, 0};
            if (::poll(&c, 1, 100) == 0) {
                if (stop_) return false;
                continue;
            }
            auto n = ::recv(fd, buf, sizeof buf, 0);
            keep(buf, n);
            if (n <= 0) return false;
        }
    case reply::end_how::close:
        // FIN now, then read until the client goes: closing with unread
        // bytes (say a WebSocket client's first message) would send RST.
        ::shutdown(fd, SHUT_WR);
        for (char buf[4096];;) {
            pollfd c{fd, POLLIN, 0};
            auto n = ::poll(&c, 1, 2000) <= 0 ? 0 : ::recv(fd, buf, sizeof buf, 0);
            keep(buf, n);
            if (n <= 0) return false;
        }
    case reply::end_how::reset: {
        linger l{1, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        return false;
    }
    }
    return false;
}

} // namespace wrenn_test
