#pragma once

#include <wrenn/config.hpp>
#include <wrenn/error.hpp>
#include <wrenn/protocol/request_head.hpp>
#include <wrenn/protocol/url.hpp>

#include <cstdlib>

namespace wrenn {

WRENN_DECL std::optional<std::string> process_env(const char* name) {
    if (const char* v = std::getenv(name)) return std::string(v);
    return std::nullopt;
}

WRENN_DECL config resolve(config c, const env_lookup& env) {
    auto from_env = [&](std::string& field, const char* var) {
        if (!field.empty()) return;
        if (auto v = env(var); v && !v->empty()) field = *v;
    };
    from_env(c.api_key, "WRENN_API_KEY");
    from_env(c.base_url, "WRENN_BASE_URL");
    from_env(c.proxy_domain, "WRENN_PROXY_DOMAIN");
    if (c.api_key.empty())
        throw config_error("missing_api_key",
                           "No API key provided: set config.api_key or the WRENN_API_KEY "
                           "environment variable.");
    if (!protocol::is_header_safe(c.api_key))
        throw config_error("invalid_api_key",
                           "The API key contains a control character (a line break?); it is sent as the "
                           "X-API-Key header and cannot. Check config.api_key or WRENN_API_KEY.");
    if (c.base_url.empty()) c.base_url = default_base_url;
    auto base = protocol::parse_url(c.base_url);
    if (!base || (base->scheme != "http" && base->scheme != "https"))
        throw config_error("invalid_base_url",
                           "Base URL '" + c.base_url +
                               "' is not an http:// or https:// URL; fix config.base_url "
                               "or WRENN_BASE_URL.");
    if (c.proxy_domain.empty()) c.proxy_domain = protocol::derive_proxy_domain(*base);
    if (c.max_connections_per_origin == 0) c.max_connections_per_origin = 1;
    if (c.retry.max_attempts == 0) c.retry.max_attempts = 1;  // 0 reads as "no retries", not "no request"
    return c;
}

} // namespace wrenn
