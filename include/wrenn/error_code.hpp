// Errors as values. Every asynchronous operation completes with
// (std::exception_ptr, result) for any Asio completion token (completion.hpp);
// with boost::asio::as_tuple the exception_ptr comes back as a value, and
// these functions say what it holds without a try/catch of your own:
//
//     auto [e, info] = co_await client.capsules().get(id, boost::asio::as_tuple(boost::asio::use_awaitable));
//     if (wrenn::error_code_of(e) == wrenn::errc::not_found) ...
//     if (auto* err = wrenn::error_of(e)) std::cerr << err->status() << " " << err->message();
#pragma once

#include <wrenn/detail/config.hpp>
#include <wrenn/error.hpp>

#include <boost/system/error_code.hpp>

#include <exception>
#include <type_traits>

namespace wrenn {

// The class of a wrenn::error: one value per exception class of error.hpp.
enum class errc {
    validation = 1,     // validation_error
    authentication,     // authentication_error
    forbidden,          // forbidden_error
    not_found,          // not_found_error
    conflict,           // conflict_error
    host_has_capsules,  // host_has_capsules_error
    payload_too_large,  // payload_too_large_error
    rate_limited,       // rate_limited_error
    internal,           // internal_error
    agent,              // agent_error
    host_unavailable,   // host_unavailable_error
    config,             // config_error
    usage,              // usage_error
    timeout,            // timeout_error
    transport,          // transport_error
    protocol,           // protocol_error
    capsule_state,      // capsule_state_error
    git,                // git_error
    git_command,        // git_command_error
    git_auth,           // git_auth_error
    wrong_state,        // wrong_state_error (a conflict_error)
    volume_in_use,      // volume_in_use_error (a conflict_error)
    volume_host_mismatch, // volume_host_mismatch_error (a conflict_error)
    volume_name_taken,  // volume_name_taken_error (a conflict_error)
    other,              // a wrenn::error of no subclass, or an exception that is not the SDK's
};

// The category of errc ("wrenn").
WRENN_DECL const boost::system::error_category& error_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), error_category()};
}

// What `e` holds, as an error_code: a wrenn::error's class (errc); a
// boost::system::system_error's own code (a cancellation is
// boost::asio::error::operation_aborted); errc::other for any other
// exception; an empty code when `e` is null.
WRENN_DECL boost::system::error_code error_code_of(const std::exception_ptr& e) noexcept;

// The wrenn::error that `e` holds, for its message(), status(), code() (the
// server's) and body(), and its subclass's own fields (dynamic_cast); null
// when `e` holds none. Valid as long as `e`, or a copy of it, is.
WRENN_DECL const error* error_of(const std::exception_ptr& e) noexcept;

} // namespace wrenn

template <>
struct boost::system::is_error_code_enum<wrenn::errc> : std::true_type {};

#ifdef WRENN_HEADER_ONLY
#include <wrenn/impl/error_code.ipp>
#endif
