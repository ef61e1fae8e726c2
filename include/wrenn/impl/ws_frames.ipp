#pragma once

#include <wrenn/protocol/base64.hpp>
#include <wrenn/protocol/ws_frames.hpp>

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>

namespace wrenn::protocol {

namespace ws_detail {

inline bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return (x >= 'A' && x <= 'Z' ? x + 32 : x) == (y >= 'A' && y <= 'Z' ? y + 32 : y);
           });
}

inline std::string_view trim(std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return v;
}

// Whether the comma-separated header value `list` holds `token` (any case).
inline bool has_token(std::string_view list, std::string_view token) {
    while (true) {
        auto comma = list.find(',');
        if (iequals(trim(list.substr(0, comma)), token)) return true;
        if (comma == std::string_view::npos) return false;
        list.remove_prefix(comma + 1);
    }
}

// RFC 6455 §7.4: the codes a close frame may carry on the wire.
inline bool is_valid_close_code(std::uint16_t c) {
    return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999);
}

inline unsigned char byte(const char* p) { return static_cast<unsigned char>(*p); }

} // namespace ws_detail

WRENN_DECL std::string ws_key(const std::array<unsigned char, 16>& nonce) {
    return base64_encode(std::string_view(reinterpret_cast<const char*>(nonce.data()), nonce.size()));
}

WRENN_DECL std::string ws_accept(std::string_view key) {
    std::string in(key);
    in += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";  // RFC 6455 §1.3
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(in.data(), in.size(), md, &n, EVP_sha1(), nullptr);
    return base64_encode(std::string_view(reinterpret_cast<const char*>(md), n));
}

WRENN_DECL std::string ws_upgrade_headers(std::string_view key) {
    std::string h = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ";
    h += key;
    h += "\r\nSec-WebSocket-Version: 13\r\n";
    return h;
}

WRENN_DECL std::optional<std::string> ws_upgrade_problem(const ws_upgrade_answer& a, std::string_view key) {
    using namespace ws_detail;
    if (!a.upgrade || !has_token(*a.upgrade, "websocket")) return "its Upgrade header is not 'websocket'";
    if (!a.connection || !has_token(*a.connection, "upgrade")) return "its Connection header does not say 'upgrade'";
    if (!a.accept) return "it has no Sec-WebSocket-Accept header";
    if (trim(*a.accept) != ws_accept(key)) return "its Sec-WebSocket-Accept does not match the key sent";
    if (a.extensions && !trim(*a.extensions).empty())
        return "it chose the extension '" + std::string(trim(*a.extensions)) + "', which was not offered";
    if (a.protocol && !trim(*a.protocol).empty())
        return "it chose the subprotocol '" + std::string(trim(*a.protocol)) + "', which was not offered";
    return std::nullopt;
}

WRENN_DECL void append_ws_frame(std::string& out, ws_opcode op, std::string_view payload,
                                std::array<unsigned char, 4> mask) {
    const std::uint64_t n = payload.size();
    out += static_cast<char>(0x80 | static_cast<unsigned>(op));
    if (n < 126) {
        out += static_cast<char>(0x80 | n);
    } else if (n <= 0xffff) {
        out += static_cast<char>(0x80 | 126);
        out += static_cast<char>(n >> 8);
        out += static_cast<char>(n & 0xff);
    } else {
        out += static_cast<char>(0x80 | 127);
        for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((n >> shift) & 0xff);
    }
    out.append(reinterpret_cast<const char*>(mask.data()), mask.size());
    const std::size_t at = out.size();
    out.append(payload);
    for (std::size_t i = 0; i < payload.size(); ++i) out[at + i] = static_cast<char>(out[at + i] ^ mask[i % 4]);
}

WRENN_DECL std::string ws_close_payload(std::uint16_t code, std::string_view reason) {
    std::string p;
    p += static_cast<char>(code >> 8);
    p += static_cast<char>(code & 0xff);
    p += reason;
    return p;
}

WRENN_DECL bool is_valid_utf8(std::string_view s) {
    const char* p = s.data();
    const char* const end = p + s.size();
    auto in = [](unsigned char c, unsigned char lo, unsigned char hi) { return c >= lo && c <= hi; };
    while (p < end) {
        // ASCII eight bytes at a time: the common case
        if (end - p >= 8) {
            std::uint64_t v;
            std::memcpy(&v, p, 8);
            if ((v & 0x8080808080808080ull) == 0) {
                p += 8;
                continue;
            }
        }
        const unsigned char c = ws_detail::byte(p);
        if (c < 0x80) {
            ++p;
            continue;
        }
        // the lead byte says how many continuation bytes follow, and the
        // first of them is narrowed where overlong forms, surrogates and
        // code points past U+10FFFF would start
        unsigned more;
        unsigned char lo = 0x80, hi = 0xbf;
        if (in(c, 0xc2, 0xdf)) more = 1;
        else if (c == 0xe0) more = 2, lo = 0xa0;
        else if (c == 0xed) more = 2, hi = 0x9f;
        else if (in(c, 0xe1, 0xef)) more = 2;
        else if (c == 0xf0) more = 3, lo = 0x90;
        else if (in(c, 0xf1, 0xf3)) more = 3;
        else if (c == 0xf4) more = 3, hi = 0x8f;
        else return false;
        if (static_cast<std::size_t>(end - p) <= more) return false;
        if (!in(ws_detail::byte(p + 1), lo, hi)) return false;
        for (unsigned k = 2; k <= more; ++k)
            if (!in(ws_detail::byte(p + k), 0x80, 0xbf)) return false;
        p += more + 1;
    }
    return true;
}

WRENN_DECL std::string_view ws_reader::close_reason() const {
    return control_.size() > 2 ? std::string_view(control_).substr(2) : std::string_view();
}

inline ws_reader::event ws_reader::fail(const char* why, std::uint16_t code) {
    failure_ = why;
    failure_code_ = code;
    return event::failed;
}

// A frame's payload is complete: need_more when it was a fragment of a message.
inline ws_reader::event ws_reader::end_of_frame() {
    switch (op_) {
    case ws_opcode::ping: return event::ping;
    case ws_opcode::pong: return event::pong;
    case ws_opcode::close:
        if (control_.size() == 1) return fail("a close frame whose payload is 1 byte (a code takes 2)");
        close_code_ = 1005;
        if (control_.size() >= 2) {
            close_code_ = static_cast<std::uint16_t>(ws_detail::byte(&control_[0]) << 8 | ws_detail::byte(&control_[1]));
            if (!ws_detail::is_valid_close_code(close_code_)) return fail("a close frame with an invalid close code");
            if (!is_valid_utf8(close_reason()))
                return fail("a close frame whose reason is not valid UTF-8", ws_close_invalid_data);
        }
        return event::close;
    default:
        if (!fin_) return event::need_more;
        in_message_ = false;
        if (!binary_ && !is_valid_utf8(message_))
            return fail("a text message that is not valid UTF-8", ws_close_invalid_data);
        return event::message;
    }
}

WRENN_DECL ws_reader::event ws_reader::read(const char* data, std::size_t size, std::size_t& used) {
    using ws_detail::byte;
    used = 0;
    if (failure_) return event::failed;
    for (;;) {
        if (!in_frame_) {
            if (size - used < 2) return event::need_more;
            const unsigned char b0 = byte(data + used), b1 = byte(data + used + 1);
            if (b1 & 0x80) return fail("a masked frame (a server must not mask its frames)");
            if (b0 & 0x70) return fail("a frame with reserved bits set (no extension was agreed)");
            const unsigned op = b0 & 0x0f;
            const bool fin = (b0 & 0x80) != 0;
            const bool control = (op & 0x8) != 0;
            if (op > 2 && !(op >= 8 && op <= 10)) return fail("a frame with a reserved opcode");
            std::uint64_t len = b1 & 0x7f;
            if (control && !fin) return fail("a fragmented control frame");
            if (control && len > 125) return fail("a control frame with a payload over 125 bytes");
            const std::size_t header = len == 126 ? 4 : len == 127 ? 10 : 2;
            if (size - used < header) return event::need_more;
            if (len == 126) {
                len = std::uint64_t(byte(data + used + 2)) << 8 | byte(data + used + 3);
                if (len < 126) return fail("a frame length not in its shortest form");
            } else if (len == 127) {
                len = 0;
                for (std::size_t k = 2; k < 10; ++k) len = len << 8 | byte(data + used + k);
                if (len >> 63) return fail("a frame length with its most significant bit set");
                if (len <= 0xffff) return fail("a frame length not in its shortest form");
            }
            if (control) {
                control_.clear();
            } else {
                if (op == 0 && !in_message_) return fail("a continuation frame with no message to continue");
                if (op != 0 && in_message_) return fail("a new message before the fragments of the last one ended");
                if (op != 0) {
                    message_.clear();
                    binary_ = op == 2;
                    in_message_ = true;
                }
                if (len > max_message_ - std::min<std::uint64_t>(message_.size(), max_message_))
                    return fail("a message larger than the limit", ws_close_too_big);
            }
            op_ = static_cast<ws_opcode>(op);
            fin_ = fin;
            left_ = len;
            in_frame_ = true;
            used += header;
        }
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left_, size - used));
        if (n > 0) ((static_cast<unsigned>(op_) & 0x8) ? control_ : message_).append(data + used, n);
        used += n;
        left_ -= n;
        if (left_ > 0) return event::need_more;
        in_frame_ = false;
        if (auto e = end_of_frame(); e != event::need_more) return e;
    }
}

} // namespace wrenn::protocol
