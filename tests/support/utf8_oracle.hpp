// An independent UTF-8 check for testing protocol::is_valid_utf8 (unit
// tests, fuzz_ws_frames): written the plain way, code point by code point,
// from RFC 3629 §3, then rejecting what §3/§4 forbid: overlong forms,
// UTF-16 surrogates, code points past U+10FFFF.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace wrenn_test {

inline bool utf8_oracle(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t len;
        std::uint32_t cp;
        if ((c & 0x80) == 0) len = 1, cp = c;
        else if ((c & 0xe0) == 0xc0) len = 2, cp = c & 0x1f;
        else if ((c & 0xf0) == 0xe0) len = 3, cp = c & 0x0f;
        else if ((c & 0xf8) == 0xf0) len = 4, cp = c & 0x07;
        else return false;  // a continuation byte or F8..FF as a lead
        if (s.size() - i < len) return false;
        for (std::size_t k = 1; k < len; ++k) {
            const auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xc0) != 0x80) return false;
            cp = cp << 6 | (cc & 0x3f);
        }
        static constexpr std::uint32_t min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min_for_len[len]) return false;         // overlong
        if (cp >= 0xd800 && cp <= 0xdfff) return false;  // UTF-16 surrogate
        if (cp > 0x10ffff) return false;                 // past Unicode
        i += len;
    }
    return true;
}

} // namespace wrenn_test
