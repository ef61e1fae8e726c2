#pragma once

#include <wrenn/protocol/capsule_rules.hpp>

namespace wrenn::protocol {

namespace detail {
inline bool alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// ^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$
inline bool safe_name(std::string_view s) {
    if (s.empty() || s.size() > 64 || !alnum(s[0])) return false;
    for (char c : s)
        if (!alnum(c) && c != '.' && c != '_' && c != '-') return false;
    return true;
}

// ^[a-z0-9]+(-[a-z0-9]+)*$
inline bool slug(std::string_view s) {
    if (s.empty() || s.front() == '-' || s.back() == '-') return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        bool lower_or_digit = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (c == '-' ? s[i - 1] == '-' : !lower_or_digit) return false;
    }
    return true;
}

inline std::size_t utf8_chars(std::string_view s) {
    std::size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
}
} // namespace detail

WRENN_DECL std::optional<std::string> metadata_problem(const std::map<std::string, std::string>& metadata) {
    if (metadata.size() > max_metadata_keys)
        return "at most " + std::to_string(max_metadata_keys) + " keys, not " + std::to_string(metadata.size());
    for (const auto& [k, v] : metadata) {
        if (!detail::safe_name(k))
            return "key \"" + k + "\" must match ^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$";
        if (k == "kernel_version" || k == "vmm_version" || k == "agent_version" || k == "envd_version")
            return "key \"" + k + "\" is the system's";
        if (detail::utf8_chars(v) > max_metadata_value_chars)
            return "the value of \"" + k + "\" is longer than " + std::to_string(max_metadata_value_chars) +
                   " characters";
    }
    return std::nullopt;
}

WRENN_DECL std::optional<std::string> template_ref_problem(std::string_view ref) {
    while (!ref.empty() && ref.front() == ' ') ref.remove_prefix(1);
    while (!ref.empty() && ref.back() == ' ') ref.remove_suffix(1);
    auto slash = ref.find('/');
    if (slash == std::string_view::npos) {
        if (!detail::safe_name(ref)) return "the name must match ^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$";
        return std::nullopt;
    }
    if (ref.find('/', slash + 1) != std::string_view::npos) return "at most one '/' (<team-slug>/<name>)";
    auto team = ref.substr(0, slash), name = ref.substr(slash + 1);
    if (team.size() < 3 || team.size() > 40 || !detail::slug(team))
        return "the team slug must be 3-40 characters of ^[a-z0-9]+(-[a-z0-9]+)*$";
    if (!detail::safe_name(name)) return "the name must match ^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$";
    return std::nullopt;
}

} // namespace wrenn::protocol
