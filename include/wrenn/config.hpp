// Connection settings. Each value is resolved explicit > environment >
// default (WIRE.md §1.2); resolution is a pure function so it is unit-tested
// without touching the process environment.
#pragma once

#include <wrenn/detail/config.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>

namespace wrenn {

using namespace std::chrono_literals;

inline constexpr const char* default_base_url = "https://app.wrenn.dev/api";

struct timeouts {
    std::chrono::milliseconds connect = 10s;  // TCP connect + TLS handshake
    std::chrono::milliseconds idle = 30s;     // no byte moved for this long
    std::chrono::milliseconds total = 0ms;    // whole request; 0 = no limit
};

struct config {
    std::string api_key{};       // empty: WRENN_API_KEY
    std::string base_url{};      // empty: WRENN_BASE_URL, else default_base_url
    std::string proxy_domain{};  // empty: WRENN_PROXY_DOMAIN, else derived (§1.2)
    wrenn::timeouts timeouts{};
    std::string ca_file{};       // extra trusted CA (PEM), on top of the system store
    bool verify_tls = true;    // peer + host-name verification
    std::size_t max_connections_per_origin = 64;
};

// Looks up one environment variable; returns nullopt when unset.
using env_lookup = std::function<std::optional<std::string>(const char*)>;

WRENN_DECL std::optional<std::string> process_env(const char* name);

// Fills every empty field from the environment and the defaults. Throws
// wrenn::config_error (naming WRENN_API_KEY) when no key is found and
// wrenn::config_error when the base URL cannot be parsed.
WRENN_DECL config resolve(config explicit_config, const env_lookup& env = process_env);

} // namespace wrenn

#ifdef WRENN_HEADER_ONLY
#include <wrenn/impl/config.ipp>
#endif
