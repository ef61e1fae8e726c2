#pragma once

#include <wrenn/error_code.hpp>

#include <boost/system/system_error.hpp>

#include <string>

namespace wrenn {

namespace detail {

class wrenn_category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "wrenn"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
        case errc::validation: return "the server refused the request as invalid (validation_error)";
        case errc::authentication: return "the API key was missing or refused (authentication_error)";
        case errc::forbidden: return "the key may not do this (forbidden_error)";
        case errc::not_found: return "no such capsule, template, process or file (not_found_error)";
        case errc::conflict: return "the object is in a state that does not allow this (conflict_error)";
        case errc::host_has_capsules: return "the host still runs capsules (host_has_capsules_error)";
        case errc::payload_too_large: return "the request body is too large (payload_too_large_error)";
        case errc::rate_limited: return "the server asks to slow down (rate_limited_error)";
        case errc::internal: return "the server failed (internal_error)";
        case errc::agent: return "the capsule's agent failed (agent_error)";
        case errc::host_unavailable: return "no host can serve this now (host_unavailable_error)";
        case errc::config: return "the configuration is missing or invalid (config_error)";
        case errc::usage: return "an argument the SDK refuses before any I/O (usage_error)";
        case errc::timeout: return "a deadline passed (timeout_error)";
        case errc::transport: return "the connection failed (transport_error)";
        case errc::protocol: return "the server's answer could not be understood (protocol_error)";
        case errc::capsule_state: return "the capsule will not become running (capsule_state_error)";
        case errc::git: return "a git command failed (git_error)";
        case errc::git_command: return "a git command exited non-zero (git_command_error)";
        case errc::git_auth: return "the git remote refused the credentials (git_auth_error)";
        case errc::wrong_state: return "the capsule is not in the state this needs (wrong_state_error)";
        case errc::volume_in_use: return "the volume is attached or busy (volume_in_use_error)";
        case errc::volume_host_mismatch: return "the volume is pinned to another host (volume_host_mismatch_error)";
        case errc::volume_name_taken: return "a volume with this name exists (volume_name_taken_error)";
        case errc::other: return "an error of no wrenn class";
        }
        return "unknown wrenn error " + std::to_string(ev);
    }
};

// The class of `e`, most derived first.
inline errc class_of(const error& e) noexcept {
#define WRENN_CLASS_OF(type, value) \
    if (dynamic_cast<const type*>(&e)) return errc::value;
    WRENN_CLASS_OF(host_has_capsules_error, host_has_capsules)
    WRENN_CLASS_OF(git_auth_error, git_auth)
    WRENN_CLASS_OF(git_command_error, git_command)
    WRENN_CLASS_OF(git_error, git)
    WRENN_CLASS_OF(wrong_state_error, wrong_state)
    WRENN_CLASS_OF(volume_in_use_error, volume_in_use)
    WRENN_CLASS_OF(volume_host_mismatch_error, volume_host_mismatch)
    WRENN_CLASS_OF(volume_name_taken_error, volume_name_taken)
    WRENN_CLASS_OF(validation_error, validation)
    WRENN_CLASS_OF(authentication_error, authentication)
    WRENN_CLASS_OF(forbidden_error, forbidden)
    WRENN_CLASS_OF(not_found_error, not_found)
    WRENN_CLASS_OF(conflict_error, conflict)
    WRENN_CLASS_OF(payload_too_large_error, payload_too_large)
    WRENN_CLASS_OF(rate_limited_error, rate_limited)
    WRENN_CLASS_OF(internal_error, internal)
    WRENN_CLASS_OF(agent_error, agent)
    WRENN_CLASS_OF(host_unavailable_error, host_unavailable)
    WRENN_CLASS_OF(config_error, config)
    WRENN_CLASS_OF(usage_error, usage)
    WRENN_CLASS_OF(timeout_error, timeout)
    WRENN_CLASS_OF(transport_error, transport)
    WRENN_CLASS_OF(protocol_error, protocol)
    WRENN_CLASS_OF(capsule_state_error, capsule_state)
#undef WRENN_CLASS_OF
    return errc::other;
}

} // namespace detail

WRENN_DECL const boost::system::error_category& error_category() noexcept {
    static const detail::wrenn_category category;
    return category;
}

WRENN_DECL boost::system::error_code error_code_of(const std::exception_ptr& e) noexcept {
    if (!e) return {};
    try {
        std::rethrow_exception(e);
    } catch (const error& x) {
        return make_error_code(detail::class_of(x));
    } catch (const boost::system::system_error& x) {
        return x.code();
    } catch (...) {
        return make_error_code(errc::other);
    }
}

// The Itanium C++ ABI (g++, clang++) rethrows the exception object that the
// exception_ptr owns, not a copy: the reference caught stays valid with it.
WRENN_DECL const error* error_of(const std::exception_ptr& e) noexcept {
    if (!e) return nullptr;
    try {
        std::rethrow_exception(e);
    } catch (const error& x) {
        return &x;
    } catch (...) {
        return nullptr;
    }
}

} // namespace wrenn
