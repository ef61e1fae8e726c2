#pragma once

#include <wrenn/protocol/answers.hpp>
#include <wrenn/protocol/base64.hpp>
#include <wrenn/error.hpp>
#include <wrenn/impl/json_read.hpp>
#include <wrenn/impl/parsed_json.hpp>
#include <wrenn/impl/capsule_decoder.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value_to.hpp>

#include <cctype>
#include <charconv>

namespace wrenn::protocol {

namespace json = boost::json;

WRENN_DECL std::optional<std::chrono::seconds> parse_retry_after(std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    if (v.empty()) return std::nullopt;
    long long secs = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), secs);
    if (ec != std::errc{} || p != v.data() + v.size() || secs < 0) return std::nullopt;
    return std::chrono::seconds(secs);
}

namespace detail {

enum class kind { base, validation, auth, forbidden, not_found, conflict, wrong_state, volume_in_use,
                  volume_host_mismatch, volume_name_taken, host_has_capsules, too_large, rate_limited,
                  internal, agent, host_unavailable, timeout };

// The codes of both generations (WIRE.md §1.6, WIRE-0.4 §1.6.3).
inline kind kind_for_code(std::string_view code) {
    struct entry {
        std::string_view code;
        kind k;
    };
    static constexpr entry table[] = {
        {"invalid_request", kind::validation}, {"validation_failed", kind::validation},
        {"unauthorized", kind::auth}, {"auth_invalid_api_key", kind::auth}, {"auth_session_required", kind::auth},
        {"auth_invalid_credentials", kind::auth},
        {"forbidden", kind::forbidden}, {"account_deactivated", kind::forbidden}, {"no_team", kind::forbidden},
        {"template_protected", kind::forbidden}, {"auth_csrf_failed", kind::forbidden},
        {"auth_account_not_activated", kind::forbidden}, {"auth_account_disabled", kind::forbidden},
        {"not_found", kind::not_found}, {"sandbox_not_found", kind::not_found},
        {"template_not_found", kind::not_found}, {"snapshot_not_found", kind::not_found},
        {"volume_not_found", kind::not_found}, {"host_not_found", kind::not_found},
        {"team_not_found", kind::not_found}, {"user_not_found", kind::not_found}, {"build_not_found", kind::not_found},
        {"invalid_state", kind::wrong_state}, {"sandbox_not_running", kind::wrong_state},
        {"sandbox_not_paused", kind::wrong_state},
        {"conflict", kind::conflict}, {"name_reserved", kind::conflict}, {"template_name_taken", kind::conflict},
        {"volumes_attached", kind::conflict},
        {"volume_in_use", kind::volume_in_use}, {"volume_host_mismatch", kind::volume_host_mismatch},
        {"volume_name_taken", kind::volume_name_taken},
        {"host_has_capsules", kind::host_has_capsules}, {"host_has_sandboxes", kind::host_has_capsules},
        {"has_active_sandboxes", kind::host_has_capsules},
        {"too_large", kind::too_large}, {"payload_too_large", kind::too_large},
        {"rate_limited", kind::rate_limited}, {"too_many_requests", kind::rate_limited},
        {"internal_error", kind::internal}, {"db_error", kind::internal}, {"read_error", kind::internal},
        {"agent_error", kind::agent}, {"sandbox_unresponsive", kind::agent},
        {"host_unavailable", kind::host_unavailable}, {"no_hosts_available", kind::host_unavailable},
        {"host_unreachable", kind::host_unavailable}, {"host_draining", kind::host_unavailable},
        {"capacity_unavailable", kind::host_unavailable}, {"service_unavailable", kind::host_unavailable},
        {"timeout", kind::timeout},
    };
    for (const auto& e : table)
        if (e.code == code) return e.k;
    return kind::base;
}

inline kind kind_for_status(unsigned status, bool json_body) {
    switch (status) {
    case 400: return kind::validation;
    case 401: return kind::auth;
    case 403: return kind::forbidden;
    case 404: return kind::not_found;
    case 409: return kind::conflict;
    case 413: return kind::too_large;
    case 429: return kind::rate_limited;
    case 502: return json_body ? kind::agent : kind::internal;  // an HTML 502 is a gateway, not the agent
    case 503: return kind::host_unavailable;
    case 504: return kind::timeout;
    default: return status >= 500 ? kind::internal : kind::base;
    }
}

inline std::vector<std::string> capsule_ids_of(const json::value& root) {
    // WIRE.md §1.6: the real server nests them in "error" (0.4.0: in its
    // "details"); PY reads the top level.
    const json::value* err = nullptr;
    const json::value* details = nullptr;
    if (auto* o = root.if_object(); o && o->contains("error")) {
        err = &o->at("error");
        details = wrenn::detail::js::find(*err, "details");
    }
    for (auto* where : {details, err, &root}) {
        if (!where) continue;
        for (auto key : {"capsule_ids", "sandbox_ids"})
            if (auto ids = wrenn::detail::js::opt_str_list(*where, key)) return *ids;
    }
    return {};
}

inline std::string printable_excerpt(std::string_view body) {
    std::string out;
    for (char c : body.substr(0, 200)) out += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
    while (!out.empty() && out.back() == ' ') out.pop_back();
    if (body.size() > 200) out += "...";
    return out;
}

} // namespace detail

WRENN_DECL bool says_missing_path(std::string_view message) {
    std::string m;
    for (char c : message) m += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (auto needle : {"no such file", "not found", "does not exist", "status 404"})
        if (m.find(needle) != std::string::npos) return true;
    return false;
}

WRENN_DECL error_envelope read_error_envelope(std::string_view body) {
    error_envelope out;
    json::error_code ec;
    auto root = json::parse(body, ec);
    if (ec || !root.is_object()) return out;
    out.json = true;
    const json::value* err = wrenn::detail::js::find(root, "error");
    if (err && err->is_object()) {
        out.code = wrenn::detail::js::str(*err, "code");
        out.message = wrenn::detail::js::str(*err, "message");
        out.request_id = wrenn::detail::js::str(*err, "request_id");
        if (auto* r = wrenn::detail::js::find(*err, "retryable"); r && r->is_bool()) out.retryable = r->get_bool();
        if (auto* d = wrenn::detail::js::find(*err, "details"); d && d->is_object())
            for (const auto& [k, v] : d->get_object())
                out.details.emplace(std::string(k), v.is_string() ? std::string(v.get_string()) : json::serialize(v));
    } else if (err && err->is_string()) {
        out.message = std::string(err->get_string());
    }
    out.capsule_ids = detail::capsule_ids_of(root);
    return out;
}

WRENN_DECL std::exception_ptr make_http_error(unsigned status, std::string_view body,
                                             std::optional<std::chrono::seconds> retry_after, error_context ctx) {
    auto env = read_error_envelope(body);
    auto& code = env.code;
    auto& message = env.message;
    auto k = code.empty() ? detail::kind_for_status(status, env.json) : detail::kind_for_code(code);
    if (k == detail::kind::base && !code.empty()) {
        // an unknown code still gets the class its status implies
        auto by_status = detail::kind_for_status(status, true);
        if (by_status != detail::kind::base) k = by_status;
    }
    if (code.empty()) code = env.json ? "internal_error" : "http_" + std::to_string(status);
    if (message.empty()) {
        auto text = detail::printable_excerpt(body);
        message = text.empty() ? "HTTP " + std::to_string(status) : "HTTP " + std::to_string(status) + ": " + text;
    }
    if (ctx.path_operation && k == detail::kind::agent && says_missing_path(message)) k = detail::kind::not_found;
    if (k == detail::kind::wrong_state) {
        // name the status the capsule is in (0.4.0 puts it in the details only)
        auto st = env.details.find("status");
        if (st != env.details.end() && message.find("(status: ") == std::string::npos)
            message += " (status: " + st->second + ")";
    }
    if (!ctx.operation.empty()) message = std::string(ctx.operation) + ": " + message;
    if (env.request_id.empty()) env.request_id = std::string(ctx.request_id);
    std::string raw(body);
    error::server_fields fields{std::move(env.request_id), env.retryable, std::move(env.details)};
    auto make = [&]<class E>(E e) {
        e.set_server_fields(std::move(fields));
        return std::make_exception_ptr(std::move(e));
    };
    auto plain = [&]<class E>() { return make(E(code, message, status, raw)); };
    switch (k) {
    case detail::kind::validation: return plain.template operator()<validation_error>();
    case detail::kind::auth: return plain.template operator()<authentication_error>();
    case detail::kind::forbidden: return plain.template operator()<forbidden_error>();
    case detail::kind::not_found: return plain.template operator()<not_found_error>();
    case detail::kind::conflict: return plain.template operator()<conflict_error>();
    case detail::kind::wrong_state: return plain.template operator()<wrong_state_error>();
    case detail::kind::volume_in_use: return plain.template operator()<volume_in_use_error>();
    case detail::kind::volume_host_mismatch: return plain.template operator()<volume_host_mismatch_error>();
    case detail::kind::volume_name_taken: return plain.template operator()<volume_name_taken_error>();
    case detail::kind::host_has_capsules:
        return make(host_has_capsules_error(code, message, status, raw, std::move(env.capsule_ids)));
    case detail::kind::too_large: return plain.template operator()<payload_too_large_error>();
    case detail::kind::rate_limited: return make(rate_limited_error(code, message, status, raw, retry_after));
    case detail::kind::internal: return plain.template operator()<internal_error>();
    case detail::kind::agent: return plain.template operator()<agent_error>();
    case detail::kind::host_unavailable: return plain.template operator()<host_unavailable_error>();
    case detail::kind::timeout: return plain.template operator()<timeout_error>();
    case detail::kind::base: break;
    }
    return plain.template operator()<error>();
}

WRENN_DECL void throw_http_error(unsigned status, std::string_view body,
                                 std::optional<std::chrono::seconds> retry_after, error_context ctx) {
    std::rethrow_exception(make_http_error(status, body, retry_after, ctx));
}

namespace detail {
[[noreturn]] inline void throw_invalid_json(std::string_view what, const json::error_code& ec) {
    throw protocol_error("invalid_json",
                         "The server's answer to " + std::string(what) + " is not valid JSON (" + ec.message() + ")");
}
} // namespace detail

WRENN_DECL json::value parse_body(std::string_view body, std::string_view what, json::storage_ptr storage) {
    json::error_code ec;
    auto v = json::parse(body, ec, std::move(storage));  // trailing whitespace (the '\n') is allowed
    if (ec) detail::throw_invalid_json(what, ec);
    return v;
}

namespace detail {
// An answer parsed into an arena of its own and turned into the SDK's types
// while it lives.
class parsed_answer : public wrenn::detail::parsed_json {
public:
    parsed_answer(std::string_view body, std::string_view what) : parsed_json(body) {
        if (error) throw_invalid_json(what, error);
    }
};

template <class T>
T decode_object(std::string_view body, std::string_view what) {
    parsed_answer answer(body, what);
    const auto& v = answer.value;
    if (!v.is_object())
        throw protocol_error("unexpected_answer", "The server's answer to " + std::string(what) +
                                                      " is not a JSON object");
    return json::value_to<T>(v);
}

// `v` is an element of a parsed answer (e.g. its "processes" member).
template <class T>
std::vector<T> decode_array(const json::value& v, std::string_view what) {
    if (!v.is_array())
        throw protocol_error("unexpected_answer", "The server's answer to " + std::string(what) +
                                                      " is not a JSON array");
    std::vector<T> out;
    out.reserve(v.get_array().size());
    for (auto& e : v.get_array()) out.push_back(json::value_to<T>(e));
    return out;
}
} // namespace detail

WRENN_DECL capsule_info decode_capsule(std::string_view body) {
    json::error_code ec;
    capsule_info c;
    auto shape = detail::parse_capsules(body, &c, nullptr, ec);  // impl/capsule_decoder.hpp: no DOM
    if (ec) detail::throw_invalid_json("a capsule request", ec);
    if (shape.wrong_shape || !shape.found)
        throw protocol_error("unexpected_answer", "The server's answer to a capsule request is not a JSON object");
    if (c.id.empty())
        throw protocol_error("unexpected_answer", "The server answered with a capsule that has no id");
    return c;
}

WRENN_DECL std::vector<capsule_info> decode_capsule_list(std::string_view body) {
    json::error_code ec;
    std::vector<capsule_info> list;
    auto shape = detail::parse_capsules(body, nullptr, &list, ec);
    if (ec) detail::throw_invalid_json("list capsules", ec);
    if (shape.wrong_shape)
        throw protocol_error("unexpected_answer", "The server's answer to list capsules is not a JSON array");
    return list;
}

WRENN_DECL template_info decode_template(std::string_view body) {
    return detail::decode_object<template_info>(body, "a snapshot request");
}

WRENN_DECL std::vector<template_info> decode_template_list(std::string_view body) {
    detail::parsed_answer answer(body, "list snapshots");
    return detail::decode_array<template_info>(answer.value, "list snapshots");
}

WRENN_DECL template_page decode_template_page(std::string_view body) {
    detail::parsed_answer answer(body, "list snapshots");
    const auto& v = answer.value;
    template_page p;
    if (v.is_array()) {
        p.templates = detail::decode_array<template_info>(v, "list snapshots");
        p.total = p.per_page = static_cast<int>(p.templates.size());
        return p;
    }
    const json::value* list = v.is_object() ? wrenn::detail::js::find(v, "templates") : nullptr;
    if (!list)
        throw protocol_error("unexpected_answer",
                             "The server's answer to list snapshots is neither a list nor a page of templates");
    p.templates = detail::decode_array<template_info>(*list, "list snapshots");
    using namespace wrenn::detail::js;
    p.total = i32(v, "total", static_cast<int>(p.templates.size()));
    p.page = i32(v, "page", 1);
    p.per_page = i32(v, "per_page", static_cast<int>(p.templates.size()));
    p.total_pages = i32(v, "total_pages", 1);
    return p;
}

WRENN_DECL capsule_metrics decode_metrics(std::string_view body) {
    return detail::decode_object<capsule_metrics>(body, "capsule metrics");
}

WRENN_DECL team_stats decode_team_stats(std::string_view body) {
    return detail::decode_object<team_stats>(body, "team stats");
}

WRENN_DECL team_usage decode_team_usage(std::string_view body) {
    return detail::decode_object<team_usage>(body, "team usage");
}

WRENN_DECL snapshot_result decode_snapshot_created(unsigned status, std::string_view body,
                                                   std::string_view requested_name) {
    snapshot_result r;
    r.name = std::string(requested_name);
    detail::parsed_answer answer(body, "create snapshot");
    const auto& v = answer.value;
    if (!v.is_object())
        throw protocol_error("unexpected_answer", "The server's answer to create snapshot is not a JSON object");
    // 202 (v0.2.0) carries the capsule; 201 (older) the template. Decide by
    // shape as well as status so a server mixing them up is still understood.
    bool looks_like_capsule = v.get_object().contains("status") && v.get_object().contains("id");
    if (status == 202 || looks_like_capsule) {
        r.capsule = json::value_to<capsule_info>(v);
    } else {
        r.snapshot = json::value_to<template_info>(v);
        if (!r.snapshot->name.empty()) r.name = r.snapshot->name;
    }
    return r;
}

WRENN_DECL exec_result decode_exec_result(std::string_view body) {
    detail::parsed_answer answer(body, "exec");
    const auto& v = answer.value;
    if (!v.is_object())
        throw protocol_error("unexpected_answer", "The server's answer to exec is not a JSON object");
    using namespace wrenn::detail::js;
    exec_result r;
    r.stdout_text = str(v, "stdout");
    r.stderr_text = str(v, "stderr");
    r.exit_code = i32(v, "exit_code", -1);
    r.duration_ms = opt_int(v, "duration_ms");
    if (str(v, "encoding") == "base64") {
        auto out = base64_decode(r.stdout_text);
        auto err = base64_decode(r.stderr_text);
        if (!out || !err)
            throw protocol_error("unexpected_answer",
                                 "The server's exec answer says base64 but the output is not valid base64");
        r.stdout_text = std::move(*out);
        r.stderr_text = std::move(*err);
    }
    return r;
}

WRENN_DECL command_handle decode_command_handle(std::string_view body) {
    detail::parsed_answer answer(body, "background exec");
    const auto& v = answer.value;
    using namespace wrenn::detail::js;
    return {i32(v, "pid"), str(v, "tag"), str(v, "sandbox_id")};
}

WRENN_DECL std::vector<process_info> decode_process_list(std::string_view body) {
    detail::parsed_answer answer(body, "list processes");
    const auto& v = answer.value;
    auto* p = wrenn::detail::js::find(v, "processes");
    if (!p) return {};
    return detail::decode_array<process_info>(*p, "list processes");
}

WRENN_DECL std::vector<file_entry> decode_file_list(std::string_view body) {
    detail::parsed_answer answer(body, "list files");
    const auto& v = answer.value;
    auto* e = wrenn::detail::js::find(v, "entries");
    if (!e || e->is_null()) return {};
    return detail::decode_array<file_entry>(*e, "list files");
}

WRENN_DECL file_entry decode_make_dir(std::string_view body) {
    detail::parsed_answer answer(body, "make directory");
    const auto& v = answer.value;
    auto* e = wrenn::detail::js::find(v, "entry");
    if (!e || !e->is_object())
        throw protocol_error("unexpected_answer", "The server's answer to make directory has no entry");
    return json::value_to<file_entry>(*e);
}

WRENN_DECL exec_request shell_exec_request(std::string_view command) {
    exec_request r;
    r.cmd = "/bin/sh";
    r.args = {"-c", std::string(command)};
    return r;
}

} // namespace wrenn::protocol
