// Text helpers shared by the git protocol's parsers and argv builders.
#pragma once

#include <wrenn/error.hpp>

#include <string>
#include <string_view>

namespace wrenn::protocol::git::detail {

// Python's str.isspace() over ASCII: what strip()/rstrip() remove.
inline bool is_space(char c) {
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= '\x1c' && c <= '\x1f');
}

inline std::string_view rstrip(std::string_view s) {
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

inline std::string_view strip(std::string_view s) {
    s = rstrip(s);
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    return s;
}

inline char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

inline std::string ascii_lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = ascii_lower(c);
    return out;
}

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

[[noreturn]] inline void invalid(std::string_view op, const std::string& what) {
    throw usage_error("invalid_argument", "git." + std::string(op) + ": " + what);
}

} // namespace wrenn::protocol::git::detail
