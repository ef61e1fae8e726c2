#pragma once

#include <wrenn/protocol/base64.hpp>

#include <array>

namespace wrenn::protocol {

namespace detail {
inline constexpr char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

inline constexpr std::array<signed char, 256> b64_table = [] {
    std::array<signed char, 256> t{};
    for (auto& x : t) x = -1;
    for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(b64_alphabet[i])] = static_cast<signed char>(i);
    return t;
}();
} // namespace detail

WRENN_DECL std::string base64_encode(std::string_view in) {
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    std::size_t i = 0;
    auto byte = [&](std::size_t k) { return static_cast<unsigned char>(in[k]); };
    for (; i + 3 <= in.size(); i += 3) {
        unsigned v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
        out += detail::b64_alphabet[(v >> 18) & 63];
        out += detail::b64_alphabet[(v >> 12) & 63];
        out += detail::b64_alphabet[(v >> 6) & 63];
        out += detail::b64_alphabet[v & 63];
    }
    if (std::size_t rest = in.size() - i) {
        unsigned v = byte(i) << 16;
        if (rest == 2) v |= byte(i + 1) << 8;
        out += detail::b64_alphabet[(v >> 18) & 63];
        out += detail::b64_alphabet[(v >> 12) & 63];
        out += rest == 2 ? detail::b64_alphabet[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

WRENN_DECL std::optional<std::string> base64_decode(std::string_view in) {
    if (in.size() % 4 != 0) return std::nullopt;
    std::string out;
    out.reserve(in.size() / 4 * 3);
    for (std::size_t i = 0; i < in.size(); i += 4) {
        bool last = i + 4 == in.size();
        int pad = 0;
        unsigned v = 0;
        for (std::size_t k = 0; k < 4; ++k) {
            char c = in[i + k];
            if (c == '=') {
                // '=' only in the last group, only in the last two places, and contiguous
                if (!last || k < 2) return std::nullopt;
                ++pad;
                v <<= 6;
                continue;
            }
            if (pad) return std::nullopt;
            auto d = detail::b64_table[static_cast<unsigned char>(c)];
            if (d < 0) return std::nullopt;
            v = (v << 6) | static_cast<unsigned>(d);
        }
        out += static_cast<char>((v >> 16) & 0xff);
        if (pad < 2) out += static_cast<char>((v >> 8) & 0xff);
        if (pad < 1) out += static_cast<char>(v & 0xff);
    }
    return out;
}

WRENN_DECL std::optional<std::string> base64_decode_wrapped(std::string_view in) {
    std::string compact;
    compact.reserve(in.size());
    for (char c : in)
        if (c != '\n' && c != '\r' && c != ' ' && c != '\t') compact += c;
    return base64_decode(compact);
}

} // namespace wrenn::protocol
