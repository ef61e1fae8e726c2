// protocol/request_head.hpp: the request line and headers the transport
// sends, byte for byte, and which values may be sent as headers.
#include <catch2/catch.hpp>

#include <wrenn/protocol/request_head.hpp>

#include <string>

using wrenn::protocol::append_request_head;
using wrenn::protocol::is_header_safe;
using wrenn::protocol::request_head;

namespace {

request_head get(std::string_view target) {
    request_head h;
    h.method = "GET";
    h.target = target;
    h.host = "127.0.0.1:8080";
    h.user_agent = "wrenn-cpp/9.9.9";
    h.api_key = "wrn_k";
    return h;
}

std::string head_of(const request_head& h) {
    std::string out;
    append_request_head(out, h);
    return out;
}

} // namespace

TEST_CASE("request head: a GET has no body headers", "[request_head]") {
    CHECK(head_of(get("/api/v1/capsules/cl-1")) ==
          "GET /api/v1/capsules/cl-1 HTTP/1.1\r\n"
          "Host: 127.0.0.1:8080\r\n"
          "User-Agent: wrenn-cpp/9.9.9\r\n"
          "Accept: application/json\r\n"
          "X-API-Key: wrn_k\r\n"
          "\r\n");
}

TEST_CASE("request head: a body gets its type and length", "[request_head]") {
    auto h = get("/v1/capsules");
    h.method = "POST";
    h.content_type = "application/json";
    h.body_size = 1234567;
    CHECK(head_of(h) ==
          "POST /v1/capsules HTTP/1.1\r\n"
          "Host: 127.0.0.1:8080\r\n"
          "User-Agent: wrenn-cpp/9.9.9\r\n"
          "Accept: application/json\r\n"
          "X-API-Key: wrn_k\r\n"
          "Content-Type: application/json\r\n"
          "Content-Length: 1234567\r\n"
          "\r\n");
}

TEST_CASE("request head: an empty POST or PUT says Content-Length 0, an empty GET or DELETE nothing",
          "[request_head]") {
    for (std::string_view method : {"POST", "PUT", "GET", "DELETE"}) {
        INFO(method);
        auto h = get("/x");
        h.method = method;
        bool says_zero = head_of(h).find("\r\nContent-Length: 0\r\n") != std::string::npos;
        CHECK(says_zero == (method == "POST" || method == "PUT"));
    }
    auto del = get("/x");
    del.method = "DELETE";
    del.content_type = "application/json";
    del.body_size = 2;
    CHECK(head_of(del).find("\r\nContent-Length: 2\r\n") != std::string::npos);
}

TEST_CASE("request head: a chunked body replaces the length", "[request_head]") {
    auto h = get("/v1/capsules/cl-1/files/stream/write?path=%2Fx");
    h.method = "POST";
    h.content_type = "multipart/form-data; boundary=b";
    h.body_size = 99;  // ignored: the size is not known up front
    h.chunked = true;
    auto out = head_of(h);
    CHECK(out.find("\r\nTransfer-Encoding: chunked\r\n") != std::string::npos);
    CHECK(out.find("Content-Length") == std::string::npos);
    CHECK(out.find("Content-Type: multipart/form-data; boundary=b\r\n") != std::string::npos);
    CHECK(out.substr(out.size() - 4) == "\r\n\r\n");
}

TEST_CASE("request head: no key, no X-API-Key, and the buffer is appended to", "[request_head]") {
    auto h = get("/health");
    h.api_key = {};
    std::string out = "previous bytes|";
    append_request_head(out, h);
    CHECK(out.rfind("previous bytes|GET /health HTTP/1.1\r\n", 0) == 0);
    CHECK(out.find("X-API-Key") == std::string::npos);
}

TEST_CASE("request head: header-safe values", "[request_head]") {
    CHECK(is_header_safe(""));
    CHECK(is_header_safe("wrn_abc123"));
    CHECK(is_header_safe("with space\tand tab"));
    CHECK(is_header_safe("caf\xc3\xa9"));  // obs-text passes as it is
    CHECK_FALSE(is_header_safe("a\r\nX-Evil: 1"));
    CHECK_FALSE(is_header_safe("a\nb"));
    CHECK_FALSE(is_header_safe("a\rb"));
    CHECK_FALSE(is_header_safe(std::string_view("a\0b", 3)));
    CHECK_FALSE(is_header_safe("a\x7f"));
    CHECK_FALSE(is_header_safe("a\x01"));
}
