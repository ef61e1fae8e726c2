// URL rules of the protocol, sans-I/O: parsing the base URL, joining request
// paths onto it (the base path is kept, httpx-style), the proxy-domain
// resolution and capsule proxy URLs (WIRE.md §1.1, §1.2, §12.1).
#pragma once

#include <wrenn/detail/config.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wrenn::protocol {

struct url {
    std::string scheme;  // "http" or "https" (or ws/wss for proxy URLs)
    std::string host;    // without brackets for IPv6
    std::uint16_t port = 0;     // effective port (default filled in)
    bool explicit_port = false; // the text named a port
    std::string path;    // base path without trailing '/', may be empty

    bool tls() const { return scheme == "https" || scheme == "wss"; }
    // "host" or "host:port" as it belongs in a Host header / authority.
    std::string authority() const;
    std::string to_string() const;
};

// Parses "scheme://host[:port][/path]". Only http/https/ws/wss are accepted.
// Returns nullopt for anything else; no exceptions.
WRENN_DECL std::optional<url> parse_url(std::string_view text);

// base path + "/v1/..." (the request path must start with '/').
WRENN_DECL std::string join_path(const url& base, std::string_view path);

// join_path(base, path), in place: one allocation at most, none when `path`
// has the room.
WRENN_DECL void prepend_base_path(const url& base, std::string& path);

// Percent-encodes one path segment or query value (RFC 3986 unreserved kept).
WRENN_DECL std::string encode_component(std::string_view s);
// encode_component(s), appended to `out`.
WRENN_DECL void append_component(std::string& out, std::string_view s);

// WIRE.md §1.2: explicit > WRENN_PROXY_DOMAIN (already folded into explicit by
// resolve()) > "wrenn.dev" for the default host > base host[:port].
WRENN_DECL std::string derive_proxy_domain(const url& base);

// `{ws|wss}://{port}-{capsule_id}.{proxy_domain}` (§12.1).
WRENN_DECL std::string capsule_proxy_url(const url& base, std::string_view proxy_domain,
                                         std::string_view capsule_id, unsigned port);

// Whether a host name is under ".localhost" (RFC 6761: always loopback).
WRENN_DECL bool is_localhost_name(std::string_view host);

} // namespace wrenn::protocol

#ifdef WRENN_HEADER_ONLY
#include <wrenn/impl/url.ipp>
#endif
