// wrenn-local answers malformed requests with its JSON error envelope and
// keeps running. Raw bytes over a socket, since the SDK never sends them.
#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>

#include "local_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

using wrenn_test::local_server;

namespace {

unsigned short port_of(const std::string& base_url) {
    auto colon = base_url.rfind(':');
    return static_cast<unsigned short>(std::stoi(base_url.substr(colon + 1)));
}

// Sends `raw` on a fresh connection and returns everything read until the
// server closes or 5 s pass.
std::string raw_exchange(unsigned short port, const std::string& raw) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::send(fd, raw.data(), raw.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(raw.size()));
    ::shutdown(fd, SHUT_WR);
    std::string out;
    char buf[4096];
    for (;;) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 5000) <= 0) break;
        auto n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
}

struct answer {
    unsigned status = 0;
    std::string code, message;
};

answer parse(const std::string& raw) {
    answer a;
    REQUIRE(raw.rfind("HTTP/1.1 ", 0) == 0);
    a.status = static_cast<unsigned>(std::stoi(raw.substr(9, 3)));
    auto body = raw.substr(raw.find("\r\n\r\n") + 4);
    INFO("body: " << body);
    REQUIRE(!body.empty());
    CHECK(body.back() == '\n');
    auto v = boost::json::parse(body);
    a.code = std::string(v.at("error").at("code").as_string());
    a.message = std::string(v.at("error").at("message").as_string());
    return a;
}

std::string request(const std::string& method, const std::string& target, const std::string& key,
                    const std::string& body = "", const std::string& content_type = "application/json") {
    std::string r = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
    if (!key.empty()) r += "X-API-Key: " + key + "\r\n";
    if (!body.empty() || method == "POST") r += "Content-Type: " + content_type + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    return r + "\r\n" + body;
}

} // namespace

TEST_CASE("wrenn-local: malformed requests get the JSON envelope and the server keeps running", "[server]") {
    local_server srv;
    auto port = port_of(srv.base_url());
    const auto& key = srv.api_key();

    struct bad {
        std::string what, raw;
        unsigned status;
        std::string code;
    };
    const bad cases[] = {
        {"invalid JSON", request("POST", "/api/v1/capsules", key, "{nope"), 400, "invalid_request"},
        {"empty body", request("POST", "/api/v1/capsules", key, ""), 400, "invalid_request"},
        {"wrong JSON type", request("POST", "/api/v1/capsules", key, R"({"vcpus":"2"})"), 400, "invalid_request"},
        {"fractional int", request("POST", "/api/v1/capsules", key, R"({"vcpus":1.5})"), 400, "invalid_request"},
        {"JSON array body", request("POST", "/api/v1/capsules", key, "[1,2]"), 400, "invalid_request"},
        {"bad capsule id", request("GET", "/api/v1/capsules/cl-NOT-AN-ID", key), 400, "invalid_request"},
        {"dot-dot path", request("GET", "/api/v1/capsules/../../etc/passwd", key), 404, "not_found"},
        {"unknown route", request("GET", "/api/v1/nothing-here", key), 404, "not_found"},
        {"wrong method", request("PUT", "/api/v1/capsules", key), 405, ""},
        {"no API key", request("GET", "/api/v1/capsules", ""), 401, "unauthorized"},
        {"wrong API key", request("GET", "/api/v1/capsules", "wrn_nope"), 401, "unauthorized"},
    };
    for (const auto& c : cases) {
        INFO(c.what);
        auto a = parse(raw_exchange(port, c.raw));
        CHECK(a.status == c.status);
        if (!c.code.empty()) CHECK(a.code == c.code);
        CHECK_FALSE(a.message.empty());
    }

    // Garbage that is not HTTP at all: a 400, and the server survives.
    auto garbage = raw_exchange(port, std::string("\x16\x03\x01") + " not http at all\r\n\r\n");
    CHECK(garbage.rfind("HTTP/1.1 400", 0) == 0);
    auto huge_header = raw_exchange(port, "GET /api/v1/capsules HTTP/1.1\r\nX-Big: " + std::string(200000, 'a') + "\r\n\r\n");
    CHECK((huge_header.rfind("HTTP/1.1 4", 0) == 0 || huge_header.empty()));

    // Still serving: list answers 200 with an array.
    auto ok = raw_exchange(port, request("GET", "/api/v1/capsules", key));
    CHECK(ok.rfind("HTTP/1.1 200", 0) == 0);
    CHECK(ok.find("\r\n\r\n[") != std::string::npos);
}
