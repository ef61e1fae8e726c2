#pragma once

#include <wrenn/protocol/url.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace wrenn::protocol {

namespace detail {
inline std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}
} // namespace detail

WRENN_DECL std::string url::authority() const {
    std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    if (explicit_port) h += ":" + std::to_string(port);
    return h;
}

WRENN_DECL std::string url::to_string() const { return scheme + "://" + authority() + path; }

WRENN_DECL std::optional<url> parse_url(std::string_view text) {
    auto sep = text.find("://");
    if (sep == std::string_view::npos) return std::nullopt;
    url u;
    u.scheme = detail::lower(text.substr(0, sep));
    std::uint16_t default_port;
    if (u.scheme == "http" || u.scheme == "ws") default_port = 80;
    else if (u.scheme == "https" || u.scheme == "wss") default_port = 443;
    else return std::nullopt;

    auto rest = text.substr(sep + 3);
    auto end = rest.find_first_of("/?#");
    auto authority = rest.substr(0, end);
    auto path = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
    if (auto q = path.find_first_of("?#"); q != std::string_view::npos) path = path.substr(0, q);
    if (authority.find('@') != std::string_view::npos) return std::nullopt; // no userinfo in base URLs
    if (authority.empty()) return std::nullopt;

    std::string_view host, port;
    if (authority.front() == '[') {
        auto close = authority.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        host = authority.substr(1, close - 1);
        // An IP literal is IPv6, so it has a ':'; without one, authority()
        // would print it unbracketed and it would not parse back.
        if (host.find(':') == std::string_view::npos) return std::nullopt;
        auto after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return std::nullopt;
            port = after.substr(1);
            if (port.empty()) return std::nullopt;
        }
    } else {
        auto colon = authority.rfind(':');
        host = authority.substr(0, colon);
        if (host.find(':') != std::string_view::npos) return std::nullopt;  // IPv6 needs brackets
        if (colon != std::string_view::npos) {
            port = authority.substr(colon + 1);
            if (port.empty()) return std::nullopt;
        }
    }
    if (host.empty()) return std::nullopt;
    for (char c : host)
        if (std::isspace(static_cast<unsigned char>(c)) || c == '/' || c == '\\') return std::nullopt;
    u.host = detail::lower(host);
    if (!port.empty()) {
        unsigned p = 0;
        auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
        if (ec != std::errc{} || ptr != port.data() + port.size() || p == 0 || p > 65535)
            return std::nullopt;
        u.port = static_cast<std::uint16_t>(p);
        u.explicit_port = true;
    } else {
        u.port = default_port;
    }
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    u.path = std::string(path);
    return u;
}

WRENN_DECL void prepend_base_path(const url& base, std::string& path) {
    if (path.empty() || path.front() != '/') path.insert(0, 1, '/');
    path.insert(0, base.path);
}

WRENN_DECL std::string join_path(const url& base, std::string_view path) {
    std::string out(path);
    prepend_base_path(base, out);
    return out;
}

WRENN_DECL void append_component(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    // RFC 3986 unreserved, without the locale (std::isalnum asks it for every byte)
    auto unreserved = [](unsigned char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
               c == '.' || c == '~';
    };
    // an id or a plain name (the usual case) goes as it is, in one copy
    if (std::all_of(s.begin(), s.end(), [&](char c) { return unreserved(static_cast<unsigned char>(c)); })) {
        out += s;
        return;
    }
    out.reserve(out.size() + s.size() + 16);
    for (unsigned char c : s) {
        if (unreserved(c)) {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
}

WRENN_DECL std::string encode_component(std::string_view s) {
    std::string out;
    append_component(out, s);
    return out;
}

WRENN_DECL std::string derive_proxy_domain(const url& base) {
    if (base.host == "app.wrenn.dev") return "wrenn.dev";
    return base.authority();
}

WRENN_DECL std::string capsule_proxy_url(const url& base, std::string_view proxy_domain,
                                         std::string_view capsule_id, unsigned port) {
    std::string out = base.tls() ? "wss://" : "ws://";
    out += std::to_string(port);
    out += '-';
    out += capsule_id;
    out += '.';
    out += proxy_domain;
    return out;
}

WRENN_DECL bool is_localhost_name(std::string_view host) {
    auto h = detail::lower(host);
    if (!h.empty() && h.back() == '.') h.pop_back();
    constexpr std::string_view suffix = ".localhost";
    return h == "localhost" ||
           (h.size() > suffix.size() && h.compare(h.size() - suffix.size(), suffix.size(), suffix) == 0);
}

} // namespace wrenn::protocol
