// wrenn-local: the errors of both API generations (api_errors.hpp).
#include "api_errors.hpp"

#include <boost/json/object.hpp>

#include <atomic>
#include <cerrno>

namespace wl {

namespace {
std::atomic<api_generation> generation{api_generation::v0_2};

bool retryable_code(std::string_view code) {
    for (auto c : {"rate_limited", "timeout", "service_unavailable", "sandbox_unresponsive", "host_unreachable",
                   "host_draining", "capacity_unavailable"})
        if (code == c) return true;
    return false;
}

// Either generation's answer, chosen here so each call site states both.
answer either(answer old_form, answer new_form) { return api_04() ? std::move(new_form) : std::move(old_form); }
} // namespace

api_generation api() { return generation.load(std::memory_order_relaxed); }
void set_api(api_generation g) { generation.store(g, std::memory_order_relaxed); }

std::string new_request_id() { return "req_" + random_hex(8); }

answer error_04(unsigned status, std::string_view code, std::string_view message, error_details details) {
    auto id = new_request_id();
    json::object err{{"code", code}, {"message", utf8_replace_invalid(message)}, {"request_id", id},
                     {"retryable", retryable_code(code)}};
    if (!details.empty()) {
        json::object d;
        for (auto& [k, v] : details) d[k] = v;
        err["details"] = std::move(d);
    }
    auto a = json_answer(status, json::object{{"error", std::move(err)}});
    a.headers.emplace_back("X-Request-ID", std::move(id));
    return a;
}

void stamp_request_id(answer& a) {
    if (!api_04()) return;
    for (auto& [k, v] : a.headers)
        if (k == "X-Request-ID") return;
    a.headers.emplace_back("X-Request-ID", new_request_id());
}

namespace errors {

answer capsule_not_found(std::string_view old_message) {
    return either(error_answer(404, "not_found", old_message),
                  error_04(404, "sandbox_not_found", "Sandbox not found."));
}

answer not_running(std::string_view status, std::string_view old_message) {
    return either(error_answer(409, "invalid_state", old_message),
                  error_04(409, "sandbox_not_running", "Sandbox is not running.", {{"status", std::string(status)}}));
}

answer not_paused(std::string_view status) {
    return either(error_answer(409, "invalid_state", "resource is not paused"),
                  error_04(409, "sandbox_not_paused", "Sandbox is not paused.", {{"status", std::string(status)}}));
}

answer metrics_unavailable(std::string_view status) {
    return either(error_answer(404, "not_found", "metrics not available for sandbox in state: " + std::string(status)),
                  error_04(404, "not_found", "Metrics are not available for a sandbox in state " + std::string(status) + ".",
                           {{"status", std::string(status)}}));
}

answer template_not_found(std::string_view ref) {
    return either(error_answer(404, "not_found", "template not found"),
                  error_04(404, "template_not_found", "Template \"" + std::string(ref) + "\" not found."));
}

answer missing_field(std::string_view field, std::string_view old_message) {
    return either(error_answer(400, "invalid_request", old_message),
                  error_04(400, "validation_failed", "The " + std::string(field) + " field is required.",
                           {{"field", std::string(field)}}));
}

answer bad_range(std::string_view allowed) {
    return either(error_answer(400, "invalid_request", "range must be one of: " + std::string(allowed)),
                  error_04(400, "validation_failed", "The range parameter must be one of: " + std::string(allowed) + ".",
                           {{"field", "range"}}));
}

answer bad_api_key() {
    return either(error_answer(401, "unauthorized", "invalid API key"),
                  error_04(401, "auth_invalid_api_key", "Invalid API key."));
}

answer no_credentials() {
    if (!api_04()) return error_answer(401, "unauthorized", "X-API-Key or Authorization: Bearer <token> required");
    auto a = error_04(401, "auth_session_required", "A valid session or API key is required.");
    // the real server clears the dashboard's cookies here
    a.headers.emplace_back("Set-Cookie", "wrenn_sid=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
    a.headers.emplace_back("Set-Cookie", "wrenn_csrf=; Path=/; Max-Age=0; SameSite=Strict");
    return a;
}

answer file_syscall(int err, std::string message) {
    if (!api_04()) return error_answer(502, "agent_error", message);
    switch (err) {
    case ENOENT: return error_04(404, "not_found", message);
    case ENOTDIR:
    case EISDIR:
    case EINVAL: return error_04(400, "invalid_request", message);
    case EEXIST: return error_04(409, "conflict", message);
    case EACCES:
    case EPERM: return error_04(403, "forbidden", message);
    default: return error_04(500, "internal_error", message);
    }
}

} // namespace errors
} // namespace wl
