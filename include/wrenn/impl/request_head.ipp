#pragma once

#include <wrenn/protocol/request_head.hpp>

#include <charconv>
#include <cstring>

namespace wrenn::protocol {

WRENN_DECL void append_request_head(std::string& out, const request_head& h) {
    using namespace std::string_view_literals;
    char digits[24];
    std::string_view length;
    if (!h.chunked && (h.body_size > 0 || h.method == "POST" || h.method == "PUT"))
        length = std::string_view(digits, static_cast<std::size_t>(
                                              std::to_chars(digits, digits + sizeof digits, h.body_size).ptr - digits));
    // The pieces, in order; sized once and copied in, with no per-piece growth check (bench/NOTES.md).
    std::string_view pieces[24];
    std::size_t n = 0, total = 0;
    auto add = [&](std::string_view v) {
        pieces[n++] = v;
        total += v.size();
    };
    auto field = [&](std::string_view name_colon, std::string_view value) {
        add(name_colon);
        add(value);
        add("\r\n"sv);
    };
    add(h.method);
    add(" "sv);
    add(h.target);
    add(" HTTP/1.1\r\n"sv);
    field("Host: "sv, h.host);
    field("User-Agent: "sv, h.user_agent);
    add("Accept: application/json\r\n"sv);
    if (!h.api_key.empty()) field("X-API-Key: "sv, h.api_key);
    if (!h.content_type.empty()) field("Content-Type: "sv, h.content_type);
    if (h.chunked) add("Transfer-Encoding: chunked\r\n"sv);
    else if (!length.empty()) field("Content-Length: "sv, length);
    add(h.extra_headers);
    add("\r\n"sv);
    auto at = out.size();
    out.resize(at + total);
    char* p = out.data() + at;
    for (std::size_t i = 0; i < n; ++i) {
        if (pieces[i].empty()) continue;
        std::memcpy(p, pieces[i].data(), pieces[i].size());
        p += pieces[i].size();
    }
}

WRENN_DECL bool is_header_safe(std::string_view v) {
    for (unsigned char c : v)
        if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
    return true;
}

} // namespace wrenn::protocol
