#pragma once

#include <wrenn/client.hpp>
#include <wrenn/impl/client_impl.hpp>
#include <wrenn/error.hpp>
#include <wrenn/protocol/answers.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>

namespace wrenn {

namespace asio = boost::asio;

namespace detail {

WRENN_DECL client_impl::client_impl(asio::any_io_executor ex, config resolved)
    : executor(std::move(ex)), cfg(std::move(resolved)), base(*protocol::parse_url(cfg.base_url)) {
    transport_settings ts;
    ts.origin = base;
    ts.api_key = cfg.api_key;
    ts.timeouts = cfg.timeouts;
    ts.ca_file = cfg.ca_file;
    ts.verify_tls = cfg.verify_tls;
    ts.max_connections = cfg.max_connections_per_origin;
    ts.retry = cfg.retry;
    ts.on_attempt = cfg.on_attempt;
    transport = make_http_transport(executor, std::move(ts));
}

WRENN_DECL asio::awaitable<http_response> client_impl::call(http_request req) {
    // send() raises the error status itself: no coroutine frame here, one
    // less per request (bench/NOTES.md)
    protocol::prepend_base_path(base, req.target);  // no allocation when capsule_path left room
    req.throw_http_errors = true;
    return send(transport, std::move(req));
}

WRENN_DECL asio::awaitable<http_response> client_impl::call_streaming(http_request head, body_chunks chunks) {
    head.target = path(head.target);
    std::string operation = head.operation;
    bool path_operation = head.path_operation;
    auto resp = co_await send_streaming(transport, std::move(head), std::move(chunks));
    if (resp.status >= 400)
        protocol::throw_http_error(resp.status, resp.body, resp.retry_after, {operation, path_operation, resp.request_id});
    co_return resp;
}

WRENN_DECL asio::awaitable<http_body_stream> client_impl::open(http_request req) {
    req.target = path(req.target);
    std::string operation = req.operation;
    bool path_operation = req.path_operation;
    auto stream = co_await open_body_stream(transport, std::move(req));
    if (stream.status() >= 400) {
        std::string body;  // an error envelope: small, but bounded anyway
        for (auto piece = co_await stream.next(); !piece.empty() && body.size() < (1u << 20);
             piece = co_await stream.next())
            body += piece;
        protocol::throw_http_error(stream.status(), body, stream.retry_after(), {operation, path_operation});
    }
    co_return stream;
}

WRENN_DECL std::string client_impl::capsule_path(std::string_view id, std::string_view rest) {
    std::string p;
    p.reserve(48 + id.size() + rest.size());  // with room for the base path call() puts in front
    p += "/v1/capsules/";
    protocol::append_component(p, id);
    p += rest;
    return p;
}

inline http_request json_post(std::string target, const boost::json::value& body) {
    http_request r;
    r.method = http_method::post;
    r.target = std::move(target);
    r.body = boost::json::serialize(body);
    r.content_type = "application/json";
    return r;
}

inline http_request bare(http_method m, std::string target, bool idempotent) {
    http_request r;
    r.method = m;
    r.target = std::move(target);
    r.idempotent = idempotent;
    return r;
}

// A lifecycle change may take a while on the server (a VM boots, pauses or is saved).
inline http_request slow_request(http_request r, const config& cfg) {
    r.idle_timeout = std::max<std::chrono::milliseconds>(cfg.timeouts.idle, std::chrono::seconds(60));
    return r;
}

inline void append_query(std::string& target, std::string_view key, std::string_view value) {
    if (value.empty()) return;
    target += target.find('?') == std::string::npos ? '?' : '&';
    target += key;
    target += '=';
    target += protocol::encode_component(value);
}

} // namespace detail

// ---- client ----
WRENN_DECL client::client(executor_type ex, config cfg)
    : impl_(std::make_shared<detail::client_impl>(std::move(ex), resolve(std::move(cfg)))) {}

WRENN_DECL client::client(boost::asio::io_context& ctx, config cfg) : client(ctx.get_executor(), std::move(cfg)) {}

WRENN_DECL client::executor_type client::get_executor() const { return impl_->executor; }
WRENN_DECL boost::asio::any_io_executor capsules_api::get_executor() const { return c_->executor; }
WRENN_DECL boost::asio::any_io_executor snapshots_api::get_executor() const { return c_->executor; }
WRENN_DECL const config& client::settings() const { return impl_->cfg; }
WRENN_DECL capsules_api client::capsules() const { return capsules_api(impl_); }
WRENN_DECL snapshots_api client::snapshots() const { return snapshots_api(impl_); }
WRENN_DECL client::pool_figures client::pool() const {
    auto s = detail::stats(*impl_->transport);
    return {s.open, s.idle, s.waiting, s.created};
}

// ---- capsules ----
// Each operation builds its request and hands it to detail::rest_call.
using detail::from_body;
using detail::http_method;
using detail::rest_call;

WRENN_DECL asio::awaitable<capsule_info> capsules_api::create(create_capsule_request req) const {
    return rest_call<capsule_info>(c_, detail::json_post("/v1/capsules", boost::json::value_from(req)),
                                   from_body<protocol::decode_capsule>);
}

WRENN_DECL asio::awaitable<std::vector<capsule_info>> capsules_api::list() const {
    return rest_call<std::vector<capsule_info>>(c_, detail::bare(http_method::get, "/v1/capsules", true),
                                                from_body<protocol::decode_capsule_list>);
}

WRENN_DECL asio::awaitable<capsule_info> capsules_api::get(std::string id) const {
    return rest_call<capsule_info>(c_, detail::bare(http_method::get, detail::client_impl::capsule_path(id), true),
                                   from_body<protocol::decode_capsule>);
}

WRENN_DECL asio::awaitable<void> capsules_api::destroy(std::string id) const {
    return rest_call<void>(c_, detail::bare(http_method::del, detail::client_impl::capsule_path(id), true));
}

WRENN_DECL asio::awaitable<capsule_info> capsules_api::pause(std::string id) const {
    auto req = detail::bare(http_method::post, detail::client_impl::capsule_path(id, "/pause"), false);
    return rest_call<capsule_info>(c_, detail::slow_request(std::move(req), c_->cfg), from_body<protocol::decode_capsule>);
}

WRENN_DECL asio::awaitable<capsule_info> capsules_api::resume(std::string id) const {
    auto req = detail::bare(http_method::post, detail::client_impl::capsule_path(id, "/resume"), false);
    return rest_call<capsule_info>(c_, detail::slow_request(std::move(req), c_->cfg), from_body<protocol::decode_capsule>);
}

WRENN_DECL asio::awaitable<void> capsules_api::ping(std::string id) const {
    return rest_call<void>(c_, detail::bare(http_method::post, detail::client_impl::capsule_path(id, "/ping"), true));
}

WRENN_DECL asio::awaitable<capsule_metrics> capsules_api::metrics(std::string id, std::string range) const {
    auto target = detail::client_impl::capsule_path(id, "/metrics");
    detail::append_query(target, "range", range);
    return rest_call<capsule_metrics>(c_, detail::bare(http_method::get, std::move(target), true),
                                      from_body<protocol::decode_metrics>);
}

WRENN_DECL asio::awaitable<team_stats> capsules_api::stats(std::string range) const {
    std::string target = "/v1/capsules/stats";
    detail::append_query(target, "range", range);
    return rest_call<team_stats>(c_, detail::bare(http_method::get, std::move(target), true),
                                 from_body<protocol::decode_team_stats>);
}

WRENN_DECL asio::awaitable<team_usage> capsules_api::usage(std::string from, std::string to) const {
    std::string target = "/v1/capsules/usage";
    detail::append_query(target, "from", from);
    detail::append_query(target, "to", to);
    return rest_call<team_usage>(c_, detail::bare(http_method::get, std::move(target), true),
                                 from_body<protocol::decode_team_usage>);
}

WRENN_DECL asio::awaitable<exec_result> capsules_api::exec(std::string id, exec_request req) const {
    req.background = false;
    auto http = detail::json_post(detail::client_impl::capsule_path(id, "/exec"), boost::json::value_from(req));
    // The answer only comes when the command ends: wait for the server's own
    // limit plus a margin (30 s is the server default when none is sent).
    auto server_limit = std::chrono::seconds(req.timeout_sec && *req.timeout_sec > 0 ? *req.timeout_sec : 30);
    http.idle_timeout =
        std::max<std::chrono::milliseconds>(c_->cfg.timeouts.idle, server_limit + std::chrono::seconds(10));
    return rest_call<exec_result>(c_, std::move(http), from_body<protocol::decode_exec_result>);
}

WRENN_DECL asio::awaitable<command_handle> capsules_api::exec_background(std::string id, exec_request req) const {
    req.background = true;
    req.timeout_sec.reset();
    auto http = detail::json_post(detail::client_impl::capsule_path(id, "/exec"), boost::json::value_from(req));
    // an answer without the capsule's id is about this capsule
    detail::answer_decoder<command_handle> decode = [](detail::http_response& r, std::string_view id) {
        auto h = protocol::decode_command_handle(r.body);
        if (h.capsule_id.empty()) h.capsule_id = std::string(id);
        return h;
    };
    return rest_call<command_handle>(c_, std::move(http), decode, std::move(id));
}

WRENN_DECL asio::awaitable<std::vector<process_info>> capsules_api::processes(std::string id) const {
    auto req = detail::bare(http_method::get, detail::client_impl::capsule_path(id, "/processes"), true);
    return rest_call<std::vector<process_info>>(c_, std::move(req), from_body<protocol::decode_process_list>);
}

WRENN_DECL asio::awaitable<void> capsules_api::kill_process(std::string id, std::string selector,
                                                           kill_signal signal) const {
    auto target = detail::client_impl::capsule_path(id, "/processes/" + protocol::encode_component(selector));
    detail::append_query(target, "signal", signal == kill_signal::sigterm ? "SIGTERM" : "SIGKILL");
    auto http = detail::bare(http_method::del, std::move(target), true);
    http.operation = "kill process '" + selector + "'";
    return rest_call<void>(c_, std::move(http));
}

// ---- snapshots ----
WRENN_DECL asio::awaitable<snapshot_result> snapshots_api::create(std::string capsule_id, std::string name,
                                                                 bool overwrite) const {
    boost::json::object body{{"sandbox_id", capsule_id}};
    if (!name.empty()) body["name"] = name;
    auto req = detail::json_post(overwrite ? "/v1/snapshots?overwrite=true" : "/v1/snapshots", body);
    detail::answer_decoder<snapshot_result> decode = [](detail::http_response& r, std::string_view name) {
        return protocol::decode_snapshot_created(r.status, r.body, name);
    };
    return rest_call<snapshot_result>(c_, detail::slow_request(std::move(req), c_->cfg), decode, std::move(name));
}

namespace detail {
inline http_request template_page_get(const template_page_request& r) {
    std::string target = "/v1/snapshots";
    append_query(target, "type", r.type);
    append_query(target, "q", r.search);
    append_query(target, "page", std::to_string(r.page));
    append_query(target, "per_page", std::to_string(r.per_page));
    return bare(http_method::get, std::move(target), true);
}

inline asio::awaitable<std::vector<template_info>> all_templates(std::shared_ptr<client_impl> c, std::string type) {
    std::vector<template_info> all;
    template_page_request r{.type = type, .search = {}, .page = 1, .per_page = 200};
    for (;;) {
        auto get = template_page_get(r);  // named first (g++ 12, see the README's compiler notes)
        auto p = co_await rest_call<template_page>(c, std::move(get), from_body<protocol::decode_template_page>);
        const bool last = p.templates.empty() || p.page >= p.total_pages;
        all.insert(all.end(), std::make_move_iterator(p.templates.begin()), std::make_move_iterator(p.templates.end()));
        if (last) co_return all;
        r.page = p.page + 1;
    }
}

inline http_request json_patch(std::string target, const boost::json::value& body) {
    auto r = json_post(std::move(target), body);
    r.method = http_method::patch;
    return r;
}
} // namespace detail

WRENN_DECL asio::awaitable<std::vector<template_info>> snapshots_api::list(std::string type) const {
    return detail::all_templates(c_, std::move(type));
}

namespace detail {
inline asio::awaitable<template_page> template_page_call(std::shared_ptr<client_impl> c, bool in_range,
                                                         http_request get) {
    if (!in_range)
        throw usage_error("invalid_argument", "snapshots.list_page: page must be 1 or more and per_page 1 to 200");
    co_return co_await rest_call<template_page>(std::move(c), std::move(get), from_body<protocol::decode_template_page>);
}
} // namespace detail

WRENN_DECL asio::awaitable<template_page> snapshots_api::list_page(template_page_request req) const {
    const bool in_range = req.page >= 1 && req.per_page >= 1 && req.per_page <= 200;
    return detail::template_page_call(c_, in_range, detail::template_page_get(req));
}

WRENN_DECL asio::awaitable<void> snapshots_api::set_public(std::string name, bool is_public) const {
    auto req = detail::json_patch("/v1/snapshots/" + protocol::encode_component(name) + "/visibility",
                                  boost::json::object{{"public", is_public}});
    req.operation = "snapshots.set_public('" + name + "')";
    return rest_call<void>(c_, std::move(req));
}

WRENN_DECL asio::awaitable<void> snapshots_api::rename(std::string name, std::string new_name) const {
    auto req = detail::json_patch("/v1/snapshots/" + protocol::encode_component(name),
                                  boost::json::object{{"new_name", new_name}});
    req.operation = "snapshots.rename('" + name + "')";
    return rest_call<void>(c_, std::move(req));
}

WRENN_DECL asio::awaitable<void> snapshots_api::remove(std::string name) const {
    return rest_call<void>(c_,
                           detail::bare(http_method::del, "/v1/snapshots/" + protocol::encode_component(name), true));
}

} // namespace wrenn
