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
#include <string_view>

namespace wrenn {

using namespace std::chrono_literals;

inline constexpr const char* default_base_url = "https://app.wrenn.dev/api";

struct timeouts {
    std::chrono::milliseconds connect = 10s;  // TCP connect + TLS handshake
    std::chrono::milliseconds idle = 30s;     // no byte moved for this long
    std::chrono::milliseconds total = 0ms;    // whole request; 0 = no limit
};

// Retries of HTTP requests that cannot have taken effect (protocol/retry.hpp
// has the rules): jittered exponential backoff. max_attempts = 1 turns
// retries off.
struct retry_policy {
    unsigned max_attempts = 3;                    // attempts in all, the first included
    std::chrono::milliseconds base_delay = 100ms;  // before the 2nd attempt (then doubling)
    std::chrono::milliseconds max_delay = 2s;      // cap on one backoff; Retry-After is honoured up to max_retry_after
    std::chrono::seconds max_retry_after = 30s;    // a longer Retry-After is not waited for: the 429/503 is raised
};

// One HTTP attempt, as the observability hook sees it. No header is in it,
// so no API key; views valid during the call only.
struct attempt_record {
    std::string_view method;         // "GET", "POST", ...
    std::string_view url;            // scheme://host[:port]/path?query
    unsigned attempt = 1;            // 1 for the first try of a request
    std::optional<unsigned> status;  // the answer's status, when one came
    std::chrono::microseconds duration{};
    std::string_view error;          // what failed, when no answer came
    std::optional<std::chrono::milliseconds> retry_in;  // set when another attempt follows after this pause
    std::string_view request_id;     // the answer's X-Request-ID (API 0.4.0 servers), empty without one
};

struct config {
    std::string api_key{};       // empty: WRENN_API_KEY
    std::string base_url{};      // empty: WRENN_BASE_URL, else default_base_url
    std::string proxy_domain{};  // empty: WRENN_PROXY_DOMAIN, else derived (§1.2)
    wrenn::timeouts timeouts{};
    std::string ca_file{};       // extra trusted CA (PEM), on top of the system store
    bool verify_tls = true;    // peer + host-name verification
    std::size_t max_connections_per_origin = 64;
    retry_policy retry{};
    // Called once per HTTP attempt (every retry included), on the client's
    // executor; wire it to a logger or tracer. Must not throw.
    std::function<void(const attempt_record&)> on_attempt{};
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
