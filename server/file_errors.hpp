// wrenn-local: how the file routes (WIRE.md §10) fail. The confinement
// (capsule_paths.hpp) and the routes throw these; the routes turn them into
// the JSON error envelope with the helpers below.
#pragma once

#include "api_errors.hpp"
#include "common.hpp"

#include <cctype>
#include <cstring>
#include <string>
#include <string_view>

namespace wl {

// A failed system call on the requested path; the route turns it into
// `502 agent_error "<what the route does>: <verb> <path>: <error text>"`.
struct sys_error {
    int err;
    const char* verb;
    std::string text = {};  // replaces strerror(err) when set
};

// A failure with a complete answer (403 escapes, 400/409 for mkdir).
struct file_error {
    unsigned status;
    std::string code, message;
};

// strerror(e) starting in lower case, as Go's error texts do.
inline std::string errtext(int e) {
    std::string s = std::strerror(e);
    if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
    return s;
}

// 400 invalid_request.
inline answer invalid(std::string_view message) { return error_answer(400, "invalid_request", message); }

// The answer to a sys_error (see above); `what` names what the route does.
inline answer agent_failure(const char* what, const std::string& shown, const sys_error& e) {
    std::string text = e.text.empty() ? errtext(e.err) : e.text;
    return errors::file_syscall(e.err, std::string(what) + ": " + e.verb + " " + shown + ": " + text);
}

} // namespace wl
