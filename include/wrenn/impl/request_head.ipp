#pragma once

#include <wrenn/protocol/request_head.hpp>

#include <charconv>

namespace wrenn::protocol {

WRENN_DECL void append_request_head(std::string& out, const request_head& h) {
    auto field = [&out](std::string_view name, std::string_view value) {
        out += name;
        out += ": ";
        out += value;
        out += "\r\n";
    };
    out += h.method;
    out += ' ';
    out += h.target;
    out += " HTTP/1.1\r\n";
    field("Host", h.host);
    field("User-Agent", h.user_agent);
    field("Accept", "application/json");
    if (!h.api_key.empty()) field("X-API-Key", h.api_key);
    if (!h.content_type.empty()) field("Content-Type", h.content_type);
    if (h.chunked) {
        field("Transfer-Encoding", "chunked");
    } else if (h.body_size > 0 || h.method == "POST" || h.method == "PUT") {
        char digits[24];
        auto end = std::to_chars(digits, digits + sizeof digits, h.body_size).ptr;
        field("Content-Length", std::string_view(digits, static_cast<std::size_t>(end - digits)));
    }
    out += h.extra_headers;
    out += "\r\n";
}

WRENN_DECL bool is_header_safe(std::string_view v) {
    for (unsigned char c : v)
        if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
    return true;
}

} // namespace wrenn::protocol
