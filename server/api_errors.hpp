// wrenn-local: the two API generations it speaks, and their errors.
//
// --api 0.4 answers as Wrenn's API 0.4.0 does: every answer
// carries X-Request-ID, errors use the 0.4.0 envelope
// {"error":{"code","message","request_id","retryable","details"?}} and its
// code catalog. --api 0.2 answers as server v0.1.5 did ({"error":{"code",
// "message"}}, no request id; the default until 0.4 is complete). error_answer() (common.hpp) takes the old
// form and maps it mechanically; the errors below differ by more than that
// (codes, statuses, messages, details) and are written per generation.
#pragma once

#include "common.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wl {

enum class api_generation { v0_2, v0_4 };
api_generation api();  // chosen once, at start-up
void set_api(api_generation g);
inline bool api_04() { return api() == api_generation::v0_4; }

// The slug of the one team wrenn-local serves (API 0.4.0 names a template's owner by it).
inline constexpr const char* local_team_slug = "local";

using error_details = std::vector<std::pair<std::string, std::string>>;

// req_ + 16 lower-case hex (WIRE-0.4 §1.4).
std::string new_request_id();

// The 0.4.0 envelope, with its request id in the body and the header;
// `retryable` from the catalog.
answer error_04(unsigned status, std::string_view code, std::string_view message, error_details details = {});

// Gives an answer its X-Request-ID (0.4 only; an error has one already).
void stamp_request_id(answer& a);

namespace errors {
// (`old_message`: what v0.1.5 said on that route)
answer capsule_not_found(std::string_view old_message = "sandbox not found");  // 404 not_found | sandbox_not_found
answer not_running(std::string_view status, std::string_view old_message);      // 409 invalid_state | sandbox_not_running {status}
answer not_paused(std::string_view status);     // 409 invalid_state | sandbox_not_paused {status}
answer metrics_unavailable(std::string_view status);  // 404 not_found, 0.4: {status}
answer template_not_found(std::string_view ref);  // 404 not_found | template_not_found naming it
answer missing_field(std::string_view field, std::string_view old_message);  // 400 invalid_request | validation_failed {field}
answer bad_range(std::string_view allowed);     // 400 invalid_request | validation_failed {field: range}
// Authentication (WIRE-0.4 §1.3): a key that is not ours, or none.
answer bad_api_key();
answer no_credentials();
// A failed system call on a capsule's file (0.2: 502 agent_error; 0.4: by errno).
answer file_syscall(int err, std::string message);
} // namespace errors

} // namespace wl
