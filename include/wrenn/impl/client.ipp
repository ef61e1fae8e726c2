#pragma once

#include <wrenn/client.hpp>
#include <wrenn/detail/client_impl.hpp>
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
        protocol::throw_http_error(resp.status, resp.body, resp.retry_after, {operation, path_operation});
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
using detail::http_method;

WRENN_DECL asio::awaitable<capsule_info> capsules_api::create(create_capsule_request req) const {
    // a coroutine of its own holding the handle by value: the api object may be a temporary.
    // (Requests are named before co_await: g++ 12 mishandles aggregate temporaries there.)
    return [](std::shared_ptr<detail::client_impl> c_, create_capsule_request req) -> asio::awaitable<capsule_info> {
        auto http = detail::json_post("/v1/capsules", boost::json::value_from(req));
        auto resp = co_await c_->call(std::move(http));
        co_return protocol::decode_capsule(resp.body);
    }(c_, std::move(req));
}

WRENN_DECL asio::awaitable<std::vector<capsule_info>> capsules_api::list() const {
    // a coroutine of its own holding the handle by value: the api object may be a temporary
    return [](std::shared_ptr<detail::client_impl> c_) -> asio::awaitable<std::vector<capsule_info>> {
        auto http = detail::bare(http_method::get, "/v1/capsules", true);
        auto resp = co_await c_->call(std::move(http));
        co_return protocol::decode_capsule_list(resp.body);
    }(c_);
}

WRENN_DECL asio::awaitable<capsule_info> capsules_api::get(std::string id) const {
    // a coroutine of its own holding the handle by value: the api object may be a temporary
    return [](std::shared_ptr<detail::client_impl> c_, std::string id) -> asio::awaitable<capsule_info> {
        auto http = detail::bare(http_method::get, detail::client_impl::capsule_path(id), true);
        auto resp = co_await c_->call(std::move(http));
        co_return protocol::decode_capsule(resp.body);
    }(c_, std::move(id));
}

WRENN_DECL asio::awaitable<void> capsules_api::destroy(std::string id) const {
    // a coroutine of its own holding the handle by value: the api object may be a temporary
    return [](std::shared_ptr<detail::client_impl> c_, std::string id) -> asio::awaitable<void> {
        auto http = detail::bare(http_method::del, detail::client_impl::capsule_path(id), true);
        co_await c_->call(std::move(http));
    }(c_, std::move(id));
}

WRENN_DECL asio::awaitable<capsule_info> capsules_api::pause(std::string id) const {
    // a coroutine of its own holding the handle by value: the api object may be a temporary
    return [](std::shared_ptr<detail::client_impl> c_, std::string id) -> asio::awaitable<capsule_info> {
        auto req = detail::bare(http_method::post, detail::client_impl::capsule_path(id, "/pause"), false);
        req.idle_timeout = std::max<std::chrono::milliseconds>(c_->cfg.timeouts.idle, std::chrono::seconds(60));
        auto resp = co_await c_->call(std::move(req));
        co_return protocol::decode_capsule(resp.body);
    }(c_, std::move(id));
}

WRENN_DECL asio::awaitable<capsule_info> capsules_api::resume(std::string id) const {
    // a coroutine of its own holding the handle by value: the api object may be a temporary
    return [](std::shared_ptr<detail::client_impl> c_, std::string id) -> asio::awaitable<capsule_info> {
        auto req = detail::bare(http_method::post, detail::client_impl::capsule_path(id, "/resume"), false);
        req.idle_timeout = std::max<std::chrono::milliseconds>(c_->cfg.timeouts.idle, std::chrono::seconds(60));
        auto resp = co_await c_->call(std::move(req));
        co_return protocol::decode_capsule(resp.body);
    }(c_, std::move(id));
}

WRENN_DECL asio::awaitable<void> capsules_api::ping(std::string id) const {
    // a coroutine of its own holding the handle by value: the api object may be a temporary
    return [](std::shared_ptr<detail::client_impl> c_, std::string id) -> asio::awaitable<void> {
        auto http = detail::bare(http_method::post, detail::client_impl::capsule_path(id, "/ping"), true);
        co_await c_->call(std::move(http));
    }(c_, std::move(id));
}

WRENN_DECL asio::awaitable<capsule_metrics> capsules_api::metrics(std::string id, std::string range) const {
    // a coroutine of its own holding the handle by value: the api object may be a temporary
    return [](std::shared_ptr<detail::client_impl> c_, std::string id, std::string range) -> asio::awaitable<capsule_metrics> {
        auto target = detail::client_impl::capsule_path(id, "/metrics");
        detail::append_query(target, "range", range);
        auto http = detail::bare(http_method::get, std::move(target), true);
        auto resp = co_await c_->call(std::move(http));
        co_return protocol::decode_metrics(resp.body);
    }(c_, std::move(id), std::move(range));
}

WRENN_DECL asio::awaitable<team_stats> capsules_api::stats(std::string range) const {
    // a coroutine of its own holding the handle by value: the api object may be a temporary
    return [](std::shared_ptr<detail::client_impl> c_, std::string range) -> asio::awaitable<team_stats> {
        std::string target = "/v1/capsules/stats";
        detail::append_query(target, "range", range);
        auto http = detail::bare(http_method::get, std::move(target), true);
        auto resp = co_await c_->call(std::move(http));
        co_return protocol::decode_team_stats(resp.body);
    }(c_, std::move(range));
}

WRENN_DECL asio::awaitable<team_usage> capsules_api::usage(std::string from, std::string to) const {
    // a coroutine of its own holding the handle by value: the api object may be a temporary
    return [](std::shared_ptr<detail::client_impl> c_, std::string from, std::string to) -> asio::awaitable<team_usage> {
        std::string target = "/v1/capsules/usage";
        detail::append_query(target, "from", from);
        detail::append_query(target, "to", to);
        auto http = detail::bare(http_method::get, std::move(target), true);
        auto resp = co_await c_->call(std::move(http));
        co_return protocol::decode_team_usage(resp.body);
    }(c_, std::move(from), std::move(to));
}

WRENN_DECL asio::awaitable<exec_result> capsules_api::exec(std::string id, exec_request req) const {
    // a coroutine of its own holding the handle by value: the api object may be a temporary
    return [](std::shared_ptr<detail::client_impl> c_, std::string id, exec_request req) -> asio::awaitable<exec_result> {
        req.background = false;
        auto http = detail::json_post(detail::client_impl::capsule_path(id, "/exec"), boost::json::value_from(req));
        // The answer only comes when the command ends: wait for the server's own
        // limit plus a margin (30 s is the server default when none is sent).
        auto server_limit = std::chrono::seconds(req.timeout_sec && *req.timeout_sec > 0 ? *req.timeout_sec : 30);
        http.idle_timeout = std::max<std::chrono::milliseconds>(c_->cfg.timeouts.idle,
                                                                server_limit + std::chrono::seconds(10));
        auto resp = co_await c_->call(std::move(http));
        co_return protocol::decode_exec_result(resp.body);
    }(c_, std::move(id), std::move(req));
}

WRENN_DECL asio::awaitable<command_handle> capsules_api::exec_background(std::string id, exec_request req) const {
    // a coroutine of its own holding the handle by value: the api object may be a temporary
    return [](std::shared_ptr<detail::client_impl> c_, std::string id, exec_request req) -> asio::awaitable<command_handle> {
        req.background = true;
        req.timeout_sec.reset();
        auto http = detail::json_post(detail::client_impl::capsule_path(id, "/exec"), boost::json::value_from(req));
        auto resp = co_await c_->call(std::move(http));
        auto h = protocol::decode_command_handle(resp.body);
        if (h.capsule_id.empty()) h.capsule_id = std::string(id);
        co_return h;
    }(c_, std::move(id), std::move(req));
}

WRENN_DECL asio::awaitable<std::vector<process_info>> capsules_api::processes(std::string id) const {
    return [](std::shared_ptr<detail::client_impl> c_, std::string id) -> asio::awaitable<std::vector<process_info>> {
        auto http = detail::bare(http_method::get, detail::client_impl::capsule_path(id, "/processes"), true);
        auto resp = co_await c_->call(std::move(http));
        co_return protocol::decode_process_list(resp.body);
    }(c_, std::move(id));
}

WRENN_DECL asio::awaitable<void> capsules_api::kill_process(std::string id, std::string selector,
                                                           kill_signal signal) const {
    auto target = detail::client_impl::capsule_path(id, "/processes/" + protocol::encode_component(selector));
    detail::append_query(target, "signal", signal == kill_signal::sigterm ? "SIGTERM" : "SIGKILL");
    auto http = detail::bare(http_method::del, std::move(target), true);
    http.operation = "kill process '" + selector + "'";
    return [](std::shared_ptr<detail::client_impl> c_, detail::http_request http) -> asio::awaitable<void> {
        co_await c_->call(std::move(http));
    }(c_, std::move(http));
}

// ---- snapshots ----
WRENN_DECL asio::awaitable<snapshot_result> snapshots_api::create(std::string capsule_id, std::string name,
                                                                 bool overwrite) const {
    // a coroutine of its own holding the handle by value: the api object may be a temporary
    return [](std::shared_ptr<detail::client_impl> c_, std::string capsule_id, std::string name, bool overwrite) -> asio::awaitable<snapshot_result> {
        boost::json::object body{{"sandbox_id", capsule_id}};
        if (!name.empty()) body["name"] = name;
        auto req = detail::json_post(overwrite ? "/v1/snapshots?overwrite=true" : "/v1/snapshots", body);
        req.idle_timeout = std::max<std::chrono::milliseconds>(c_->cfg.timeouts.idle, std::chrono::seconds(60));
        auto resp = co_await c_->call(std::move(req));
        co_return protocol::decode_snapshot_created(resp.status, resp.body, name);
    }(c_, std::move(capsule_id), std::move(name), overwrite);
}

WRENN_DECL asio::awaitable<std::vector<template_info>> snapshots_api::list(std::string type) const {
    // a coroutine of its own holding the handle by value: the api object may be a temporary
    return [](std::shared_ptr<detail::client_impl> c_, std::string type) -> asio::awaitable<std::vector<template_info>> {
        std::string target = "/v1/snapshots";
        detail::append_query(target, "type", type);
        auto http = detail::bare(http_method::get, std::move(target), true);
        auto resp = co_await c_->call(std::move(http));
        co_return protocol::decode_template_list(resp.body);
    }(c_, std::move(type));
}

WRENN_DECL asio::awaitable<void> snapshots_api::remove(std::string name) const {
    // a coroutine of its own holding the handle by value: the api object may be a temporary
    return [](std::shared_ptr<detail::client_impl> c_, std::string name) -> asio::awaitable<void> {
        auto http = detail::bare(http_method::del, "/v1/snapshots/" + protocol::encode_component(name), true);
        co_await c_->call(std::move(http));
    }(c_, std::move(name));
}

} // namespace wrenn
