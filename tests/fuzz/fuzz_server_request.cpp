// Fuzz target: wrenn-local's request handling up to the point where it would
// touch a capsule (server/front.hpp), on the bytes a client sends.
//
// Input: the bytes of one HTTP/1.1 request as they arrive on a connection.
// They go through what the server's connection loop does (server/http.cpp
// serve()), without sockets: Beast's request parser with the server's header
// limit -> plan_request (refuse / proxy / WebSocket upgrade / API) -> the body,
// buffered with the server's body limit -> plan_route (escapes, API key,
// route, ids, query values) -> the JSON body check of the route. Twice: with
// the API under /api and at the root.
//
// Properties:
//  - every refusal is the JSON error envelope ({"error":{"code","message"}}
//    and nothing else, valid UTF-8, non-empty strings, a trailing newline)
//    with a 4xx status fitting the case (431, 413, 414, 400, 401, 404, 405);
//  - a route is only ever chosen for a request carrying the API key, and a
//    capsule route only with a valid capsule id;
//  - a WebSocket upgrade only ever goes ahead with a valid capsule id;
//  - a body check that accepts gives values within their rules (names and
//    ids valid, cmd non-empty, no NUL, paths absolute and bounded).
#include "fuzz_common.hpp"

#include "front.hpp"

#include <boost/beast/http/string_body.hpp>
#include <boost/json/parse.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

namespace {

using namespace wl;

const std::string the_key = "wrn_0123456789abcdef0123456789abcdef";

app_state& app(bool prefixed) {
    static asio::io_context io;
    static app_state with_prefix = [] {
        app_state a(io);
        a.api_key = the_key;
        a.prefix = "/api";
        return a;
    }();
    static app_state at_root = [] {
        app_state a(io);
        a.api_key = the_key;
        a.prefix = "";
        return a;
    }();
    return prefixed ? with_prefix : at_root;
}

// The JSON error envelope, exactly.
void check_envelope(const answer& a, const char* where) {
    fuzz::check(a.status >= 400 && a.status < 600, where);
    fuzz::check(a.content_type == "application/json", "an envelope that is not application/json");
    fuzz::check(!a.file, "an envelope with a file body");
    fuzz::check(!a.body.empty() && a.body.back() == '\n', "an envelope without its trailing newline");
    boost::system::error_code ec;
    auto v = json::parse(a.body, ec);  // refuses invalid UTF-8
    fuzz::check(!ec, "an envelope that is not JSON (or not UTF-8)");
    fuzz::check(v.is_object() && v.get_object().size() == 1, "an envelope with more than \"error\"");
    auto* e = v.get_object().if_contains("error");
    fuzz::check(e && e->is_object() && e->get_object().size() == 2, "\"error\" is not {code, message}");
    auto* code = e->get_object().if_contains("code");
    auto* message = e->get_object().if_contains("message");
    fuzz::check(code && code->is_string() && !code->get_string().empty(), "an envelope without a code");
    fuzz::check(message && message->is_string() && !message->get_string().empty(), "an envelope without a message");
}

void check_status_in(unsigned status, std::initializer_list<unsigned> allowed, const char* what) {
    for (unsigned s : allowed)
        if (s == status) return;
    fuzz::check(false, what);
}

// The route's body check, as the routes (routes_*.cpp, files.cpp) run it.
void check_body(const route_plan& plan, std::string_view body) {
    auto refused = [](const auto& c) {
        if (auto* a = std::get_if<answer>(&c)) {
            check_envelope(*a, "a body refusal");
            fuzz::check(a->status == 400, "a body refusal that is not 400");
            return true;
        }
        return false;
    };
    switch (plan.route) {
    case route_id::create_capsule: {
        auto c = check_create_body(body);
        if (refused(c)) return;
        auto& b = std::get<create_body>(c);
        fuzz::check(valid_name(b.template_name), "create: an invalid template name accepted");
        fuzz::check(b.vcpus > 0 && b.memory_mb > 0 && b.timeout_sec >= 0, "create: a non-positive size accepted");
        return;
    }
    case route_id::exec: {
        auto c = check_exec_body(body);
        if (refused(c)) return;
        auto& r = std::get<wrenn::exec_request>(c);
        fuzz::check(!r.cmd.empty() && r.cmd.find('\0') == std::string::npos, "exec: a bad cmd accepted");
        for (auto& a : r.args) fuzz::check(a.find('\0') == std::string::npos, "exec: NUL in args accepted");
        return;
    }
    case route_id::create_snapshot: {
        auto c = check_snapshot_body(body);
        if (refused(c)) return;
        auto& b = std::get<snapshot_body>(c);
        fuzz::check(valid_capsule_id(b.sandbox_id), "snapshot: an invalid sandbox_id accepted");
        fuzz::check(b.name.empty() || valid_name(b.name), "snapshot: an invalid name accepted");
        return;
    }
    case route_id::files: {
        if (plan.arg == "write" || plan.arg == "stream/write") {
            // The upload's path field, as the multipart part would carry it.
            std::string why;
            auto p = check_upload_path(body.substr(0, 8192), why);
            if (!p) {
                fuzz::check(!why.empty(), "upload: a refusal without a reason");
                return;
            }
            fuzz::check(!p->empty() && p->front() == '/', "upload: a relative path accepted");
            fuzz::check(p->find('\0') == std::string::npos, "upload: NUL in a path accepted");
            return;
        }
        auto c = check_file_body(plan.arg, body);
        if (refused(c)) return;
        auto& r = std::get<file_body_request>(c);
        fuzz::check(!r.path.empty() && r.path.front() == '/', "files: a relative path accepted");
        fuzz::check(r.path.find('\0') == std::string::npos, "files: NUL in a path accepted");
        fuzz::check(r.path.size() <= max_path_length + home_dir.size() + 1, "files: an overlong path accepted");
        return;
    }
    default:
        return;
    }
}

void run(bool prefixed, std::string_view in) {
    app_state& a = app(prefixed);
    http::request_parser<http::empty_body> header;
    header.header_limit(header_limit);
    header.body_limit(boost::none);
    boost::system::error_code ec;
    std::size_t used = header.put(boost::asio::buffer(in.data(), in.size()), ec);
    if (ec == http::error::need_more) return;  // the server would wait for more (until its header timeout)
    if (ec) {
        auto r = refusal_for(ec);
        check_envelope(r, "a parser refusal");
        check_status_in(r.status, {400, 413, 431}, "a parser refusal with an unexpected status");
        return;
    }
    fuzz::check(header.is_header_done(), "put() succeeded without a header");
    in.remove_prefix(used);

    header_plan plan = plan_request(a, header);
    switch (plan.kind) {
    case header_plan::refused:
        check_envelope(plan.refusal, "a header refusal");
        check_status_in(plan.refusal.status, {400, 413, 414}, "a header refusal with an unexpected status");
        fuzz::check(!plan.keep_alive, "a refusal that keeps the connection");
        return;
    case header_plan::proxied:
        fuzz::check(!plan.proxy.port_text.empty() && plan.proxy.capsule_id.rfind("cl-", 0) == 0,
                    "a proxy target that does not match the proxy Host form");
        return;
    case header_plan::upgrade:
        fuzz::check(valid_capsule_id(plan.ws.capsule_id), "a WebSocket upgrade with an invalid capsule id");
        return;
    case header_plan::api:
        break;
    }

    request req = std::move(plan.req);
    if (!plan.streamed) {
        http::request_parser<http::string_body> body{std::move(header)};
        body.body_limit(json_body_limit);
        body.eager(true);
        // put() may stop at a chunk boundary: go on until the body is done.
        while (!body.is_done()) {
            std::size_t n = body.put(boost::asio::buffer(in.data(), in.size()), ec);
            in.remove_prefix(n);
            if (ec == http::error::need_more) return;  // the server would wait for the rest
            if (ec) {
                auto r = refusal_for(ec);
                check_envelope(r, "a body framing refusal");
                check_status_in(r.status, {400, 413}, "a body framing refusal with an unexpected status");
                return;
            }
            if (n == 0 && !body.is_done()) return;
        }
        req.body = std::move(body.get().body());
    } else {
        req.body = std::string(in.substr(0, std::min<std::size_t>(in.size(), 65536)));
    }

    route_plan route = plan_route(a, req);
    if (route.early) {
        if (route.early->status == 200) {  // /health
            boost::system::error_code jec;
            auto v = json::parse(route.early->body, jec);
            fuzz::check(!jec && v.is_object(), "/health is not a JSON object");
            return;
        }
        check_envelope(*route.early, "a router refusal");
        check_status_in(route.early->status, {400, 401, 404, 405}, "a router refusal with an unexpected status");
        return;
    }
    fuzz::check(req.api_key && *req.api_key == the_key, "a route chosen without the API key");
    switch (route.route) {
    case route_id::list_capsules: case route_id::create_capsule: case route_id::stats: case route_id::usage:
    case route_id::create_snapshot: case route_id::list_snapshots: case route_id::delete_snapshot:
        break;
    default:
        fuzz::check(valid_capsule_id(route.id), "a capsule route with an invalid capsule id");
    }
    check_body(route, req.body);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in = fuzz::as_text(data, size);
    run(true, in);
    run(false, in);
    return 0;
}
