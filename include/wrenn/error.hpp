// The exception hierarchy. Every error the SDK raises derives from
// wrenn::error and carries the server's code, message, HTTP status and raw
// body (empty for client-side errors), and what servers of API 0.4.0 add:
// the request id, whether the same request may succeed later, and details.
// Server codes of both generations map to classes by code, falling back to
// the HTTP status for codes we do not know.
#pragma once

#include <wrenn/detail/config.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace wrenn {

class error : public std::runtime_error {
public:
    error(std::string code, std::string message, unsigned status = 0, std::string body = {});

    const std::string& code() const noexcept { return code_; }
    const std::string& message() const noexcept { return message_; }
    unsigned status() const noexcept { return status_; }
    const std::string& body() const noexcept { return body_; }

    // API 0.4.0 servers; empty against older ones.
    // The server's id of the failed request (its X-Request-ID): quote it to support.
    const std::string& request_id() const noexcept { return request_id_; }
    // Whether the server says the same request may succeed later.
    std::optional<bool> retryable() const noexcept { return retryable_; }
    // The error's details, e.g. {"status": "paused"} or {"field": "path"};
    // a value that is not a string is kept as its JSON text.
    const std::map<std::string, std::string>& details() const noexcept { return details_; }

    // What the server said beyond code and message (set by the SDK when it builds the error).
    struct server_fields {
        std::string request_id{};
        std::optional<bool> retryable{};
        std::map<std::string, std::string> details{};
    };
    void set_server_fields(server_fields f) {
        request_id_ = std::move(f.request_id);
        retryable_ = f.retryable;
        details_ = std::move(f.details);
    }

private:
    std::string code_, message_;
    unsigned status_;
    std::string body_;
    std::string request_id_;
    std::optional<bool> retryable_;
    std::map<std::string, std::string> details_;
};

// --- server errors, one class per error kind (WIRE.md §1.6) ---
#define WRENN_ERROR_CLASS(name, base)   \
    class name : public base {          \
    public:                             \
        using base::base;               \
    };

// (old codes, then the codes of API 0.4.0)
WRENN_ERROR_CLASS(validation_error, error)       // 400 invalid_request, validation_failed
WRENN_ERROR_CLASS(authentication_error, error)   // 401 unauthorized, auth_invalid_api_key, auth_session_required, ...
WRENN_ERROR_CLASS(forbidden_error, error)        // 403 forbidden, account_deactivated, no_team, template_protected, ...
WRENN_ERROR_CLASS(not_found_error, error)        // 404 not_found, sandbox_not_found, template_not_found, volume_not_found, ...
WRENN_ERROR_CLASS(conflict_error, error)         // 409 conflict, name_reserved, template_name_taken, volumes_attached, ...
WRENN_ERROR_CLASS(payload_too_large_error, error) // 413 too_large, payload_too_large
WRENN_ERROR_CLASS(internal_error, error)         // 500 internal_error, db_error, non-JSON bodies
WRENN_ERROR_CLASS(agent_error, error)            // 502 agent_error, sandbox_unresponsive (in-capsule failures)
WRENN_ERROR_CLASS(host_unavailable_error, error) // 502/503 host_unavailable, no_hosts_available, host_unreachable,
                                                 // host_draining, capacity_unavailable, service_unavailable

// 409: the capsule is not in the state the operation needs (sandbox_not_running,
// sandbox_not_paused; invalid_state on older servers). capsule_status() is the
// status it is in, when the server said (details.status, or the old message's
// "(status: s)"); the message names it too.
class wrong_state_error : public conflict_error {
public:
    using conflict_error::conflict_error;
    std::string capsule_status() const {
        if (auto it = details().find("status"); it != details().end()) return it->second;
        const std::string& m = message();
        auto at = m.rfind("(status: ");
        if (at == std::string::npos) return {};
        auto end = m.find(')', at);
        return end == std::string::npos ? std::string() : m.substr(at + 9, end - at - 9);
    }
};

// 409s about volumes (API 0.4.0).
WRENN_ERROR_CLASS(volume_in_use_error, conflict_error)        // volume_in_use: attached, or being attached or deleted
WRENN_ERROR_CLASS(volume_host_mismatch_error, conflict_error) // volume_host_mismatch: pinned to another (or no) host
WRENN_ERROR_CLASS(volume_name_taken_error, conflict_error)    // volume_name_taken

// 409 from deleting a host that still runs capsules; carries their ids.
class host_has_capsules_error : public conflict_error {
public:
    host_has_capsules_error(std::string code, std::string message, unsigned status,
                            std::string body, std::vector<std::string> capsule_ids)
        : conflict_error(std::move(code), std::move(message), status, std::move(body)),
          capsule_ids_(std::move(capsule_ids)) {}
    const std::vector<std::string>& capsule_ids() const noexcept { return capsule_ids_; }

private:
    std::vector<std::string> capsule_ids_;
};

// 429: the server asks us to slow down; retry_after is what it asked for.
class rate_limited_error : public error {
public:
    rate_limited_error(std::string code, std::string message, unsigned status,
                       std::string body, std::optional<std::chrono::seconds> retry_after)
        : error(std::move(code), std::move(message), status, std::move(body)),
          retry_after_(retry_after) {}
    std::optional<std::chrono::seconds> retry_after() const noexcept { return retry_after_; }

private:
    std::optional<std::chrono::seconds> retry_after_;
};

// --- client-side errors (status 0) ---
WRENN_ERROR_CLASS(config_error, error)     // bad or missing configuration (e.g. no API key)
WRENN_ERROR_CLASS(usage_error, error)      // an argument the SDK refuses before any I/O
WRENN_ERROR_CLASS(timeout_error, error)    // a connect / idle / total / wait deadline passed; 504 timeout (the server's)
WRENN_ERROR_CLASS(transport_error, error)  // connection refused, reset, TLS failure, ...
WRENN_ERROR_CLASS(protocol_error, error)   // the server's answer could not be understood
WRENN_ERROR_CLASS(capsule_state_error, error) // wait_ready saw error/stopped/paused

// --- git (capsule.git): a git command exited non-zero ---
class git_error : public error {
public:
    git_error(std::string code, std::string message, std::string stderr_text, int exit_code)
        : error(std::move(code), std::move(message)), stderr_(std::move(stderr_text)), exit_code_(exit_code) {}
    // git's stderr (credentials redacted) and exit code.
    const std::string& stderr_text() const noexcept { return stderr_; }
    int exit_code() const noexcept { return exit_code_; }

private:
    std::string stderr_;
    int exit_code_;
};

class git_command_error : public git_error {
public:
    using git_error::git_error;
};

// The remote refused the credentials (or asked for some and none were given).
class git_auth_error : public git_error {
public:
    using git_error::git_error;
};

#undef WRENN_ERROR_CLASS

} // namespace wrenn

#ifdef WRENN_HEADER_ONLY
#include <wrenn/impl/error.ipp>
#endif
