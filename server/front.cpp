// wrenn-local: the sans-I/O front of request handling (see front.hpp).
#include "front.hpp"
#include "api_errors.hpp"

#include <wrenn/protocol/capsule_rules.hpp>

#include <boost/beast/core/string.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/json/value_to.hpp>

namespace wl {

namespace {

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

answer bad_request(std::string_view message) { return error_answer(400, "invalid_request", message); }
answer bad_id() { return bad_request("invalid sandbox ID"); }
answer route_not_found() { return error_answer(404, "not_found", "route not found"); }
answer method_not_allowed(std::string allow) {
    auto a = error_answer(405, "method_not_allowed", "method not allowed");
    a.headers.emplace_back("Allow", std::move(allow));
    return a;
}

std::string get(const query_map& m, const std::string& k) {
    auto it = m.find(k);
    return it == m.end() ? std::string{} : it->second;
}

// The decoded path segments of an API route ("v1", ...) after the prefix:
// empty when the path is not under the prefix, nullopt on a bad escape.
std::optional<std::vector<std::string>> route_segments(const app_state& app, std::string_view path) {
    std::vector<std::string> segs;
    std::string_view prefix = app.prefix;
    if (!prefix.empty()) {
        if (path.substr(0, prefix.size()) != prefix || (path.size() > prefix.size() && path[prefix.size()] != '/'))
            return segs;
        path.remove_prefix(prefix.size());
    }
    if (path.empty() || path[0] != '/') return segs;
    path.remove_prefix(1);
    for (;;) {
        auto slash = path.find('/');
        auto seg = unescape(path.substr(0, slash), false);
        if (!seg) return std::nullopt;
        segs.push_back(std::move(*seg));
        if (slash == std::string_view::npos) break;
        path.remove_prefix(slash + 1);
    }
    return segs;
}

// "write", "read", ..., "stream/write", "stream/read" for a file route, else "".
std::string file_op(const std::vector<std::string>& segs) {
    const auto n = segs.size();
    if (n < 5 || segs[0] != "v1" || segs[1] != "capsules" || segs[3] != "files") return {};
    if (n == 5 && (segs[4] == "write" || segs[4] == "read" || segs[4] == "list" || segs[4] == "mkdir" ||
                   segs[4] == "remove"))
        return segs[4];
    if (n == 6 && segs[4] == "stream" && (segs[5] == "write" || segs[5] == "read")) return "stream/" + segs[5];
    return {};
}

std::optional<ws_route> ws_route_of(const std::vector<std::string>& segs) {
    const auto n = segs.size();
    if (n < 4 || segs[0] != "v1" || segs[1] != "capsules") return std::nullopt;
    ws_route r;
    r.capsule_id = segs[2];
    if (n == 5 && segs[3] == "exec" && segs[4] == "stream") r.kind = ws_route::exec_stream;
    else if (n == 4 && segs[3] == "pty") r.kind = ws_route::pty;
    else if (n == 6 && segs[3] == "processes" && !segs[4].empty() && segs[5] == "stream") {
        r.kind = ws_route::process_stream;
        r.selector = segs[4];
    } else
        return std::nullopt;
    return r;
}

// The path of a request target: origin form as is; absolute form
// ("http://host/p?q") without its scheme and authority.
std::string_view target_path(std::string_view target) {
    auto path = target.substr(0, target.find('?'));
    for (std::string_view scheme : {"http://", "https://"}) {
        if (path.size() >= scheme.size() && boost::beast::iequals(path.substr(0, scheme.size()), scheme)) {
            auto rest = path.substr(scheme.size());
            auto slash = rest.find('/');
            return slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash);
        }
    }
    return path;
}

std::string_view target_query(std::string_view target) {
    auto q = target.find('?');
    return q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
}

// RFC 3986 characters of a request target (printable ASCII but for the
// space, '"', '<', '>', '\\', '^', '`', '{', '|', '}'), as Go's server
// accepts them plus those Go lets through in practice ('"', '\\', '^', '`',
// '{', '|', '}' are common in query strings sent by tools).
bool valid_target_char(char ch) {
    auto c = static_cast<unsigned char>(ch);
    return c > 0x20 && c < 0x7f && c != '<' && c != '>';
}

} // namespace

std::optional<std::string> unescape(std::string_view s, bool plus_is_space) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%') {
            if (i + 2 >= s.size()) return std::nullopt;
            int hi = hex_digit(s[i + 1]), lo = hex_digit(s[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else if (s[i] == '+' && plus_is_space) {
            out += ' ';
        } else {
            out += s[i];
        }
    }
    return out;
}

std::optional<query_map> parse_query(std::string_view q) {
    query_map out;
    while (!q.empty()) {
        auto amp = q.find('&');
        auto part = q.substr(0, amp);
        q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
        if (part.empty()) continue;
        auto eq = part.find('=');
        auto k = unescape(part.substr(0, eq), true);
        auto v = eq == std::string_view::npos ? std::optional<std::string>(std::string{})
                                               : unescape(part.substr(eq + 1), true);
        if (!k || !v) return std::nullopt;
        out.emplace(std::move(*k), std::move(*v));  // first value wins
    }
    return out;
}

std::optional<proxy_target> match_proxy_host(std::string_view host) {
    if (auto colon = host.rfind(':'); colon != std::string_view::npos) host = host.substr(0, colon);
    std::size_t i = 0;
    while (i < host.size() && host[i] >= '0' && host[i] <= '9') ++i;
    if (i == 0 || host.substr(i, 4) != "-cl-") return std::nullopt;
    std::size_t id_begin = i + 1, j = i + 4;
    while (j < host.size() && ((host[j] >= '0' && host[j] <= '9') || (host[j] >= 'a' && host[j] <= 'z'))) ++j;
    if (j == i + 4 || j >= host.size() || host[j] != '.') return std::nullopt;
    return proxy_target{std::string(host.substr(0, i)), std::string(host.substr(id_begin, j - id_begin))};
}

std::optional<ws_route> match_ws_route(const app_state& app, std::string_view target) {
    auto segs = route_segments(app, target_path(target));
    if (!segs) return std::nullopt;
    return ws_route_of(*segs);
}

bool streamed_body(const app_state& app, std::string_view method, std::string_view target) {
    if (method != "POST") return false;
    auto segs = route_segments(app, target_path(target));
    if (!segs) return false;
    auto op = file_op(*segs);
    return op == "write" || op == "stream/write";
}

answer refusal_for(const boost::system::error_code& ec) {
    if (ec == http::error::header_limit)
        return error_answer(431, "too_large", "request header fields too large");
    if (ec == http::error::body_limit || ec == http::error::buffer_overflow)
        return error_answer(413, "too_large", "request body too large");
    return bad_request("malformed HTTP request");
}

header_plan plan_request(const app_state& app, const http::request_parser<http::empty_body>& parsed) {
    const auto& h = parsed.get();
    header_plan p;
    p.version = h.version() >= 11 ? 11 : 10;
    auto refuse = [&](answer a) {
        p.kind = header_plan::refused;
        p.refusal = std::move(a);
        p.keep_alive = false;
        return std::move(p);
    };
    // Host: at most one (RFC 9112 §3.2); the proxy routes by it.
    if (h.count(http::field::host) > 1) return refuse(bad_request("more than one Host header"));
    // A Transfer-Encoding that is not chunked cannot be framed (RFC 9112 §6.3).
    if (h.find(http::field::transfer_encoding) != h.end() && !parsed.chunked())
        return refuse(bad_request("unsupported Transfer-Encoding"));
    if (auto host = h.find(http::field::host); host != h.end()) {
        if (auto target = match_proxy_host(host->value())) {
            p.kind = header_plan::proxied;
            p.proxy = std::move(*target);
            return p;
        }
    }
    std::string_view target = h.target();
    if (target.size() > max_target) return refuse(error_answer(414, "too_large", "request target too long"));
    for (char ch : target)
        if (!valid_target_char(ch)) return refuse(bad_request("invalid character in the request target"));
    if (target.empty() || (target[0] != '/' && target != "*" && target_path(target) == target))
        return refuse(bad_request("invalid request target"));

    request& r = p.req;
    r.method = std::string(h.method_string());
    r.target = std::string(target);
    if (auto it = h.find("X-API-Key"); it != h.end()) r.api_key = std::string(it->value());
    if (auto it = h.find(http::field::authorization); it != h.end()) r.authorization = std::string(it->value());
    r.content_type = std::string(h[http::field::content_type]);
    if (auto len = parsed.content_length()) r.content_length = *len;
    p.expect_continue = boost::beast::iequals(h[http::field::expect], "100-continue");
    p.keep_alive = h.keep_alive();
    p.head = r.method == "HEAD";
    if (p.head) r.method = "GET";
    if (boost::beast::websocket::is_upgrade(h)) {
        if (auto route = match_ws_route(app, r.target)) {
            // Before the upgrade only the capsule id is checked (WIRE.md §7).
            if (!valid_capsule_id(route->capsule_id)) return refuse(bad_id());
            p.kind = header_plan::upgrade;
            p.ws = std::move(*route);
            return p;
        }
    }
    p.streamed = streamed_body(app, r.method, r.target);
    if (!p.streamed && r.content_length && *r.content_length > json_body_limit)
        return refuse(refusal_for(http::error::body_limit));
    return p;
}

route_plan plan_route(const app_state& app, const request& req) {
    route_plan plan;
    auto early = [&plan](answer a) {
        plan.early = std::move(a);
        return std::move(plan);
    };
    std::string_view path = target_path(req.target);
    const std::string& m = req.method;
    if (path == "/health") {
        if (m != "GET" && m != "HEAD") return early(method_not_allowed("GET"));
        return early(json_answer(200, json::object{{"status", "ok"}, {"version", server_version}}));
    }
    auto segs_or = route_segments(app, path);
    if (!segs_or) return early(bad_request("invalid URL escape in the request path"));
    auto query = parse_query(target_query(req.target));
    if (!query) return early(bad_request("invalid URL escape in the query string"));
    plan.query = std::move(*query);
    const auto& segs = *segs_or;
    if (segs.size() < 2 || segs[0] != "v1") return early(route_not_found());

    // Authentication (WIRE.md §1.3): X-API-Key, else Bearer (no JWTs here).
    // (0.4.0: the key only; a Bearer token is never read, so it is no credential)
    if (req.api_key && (!api_04() || !req.api_key->empty())) {
        if (!same_secret(*req.api_key, app.api_key)) return early(errors::bad_api_key());
    } else if (!api_04() && req.authorization && req.authorization->rfind("Bearer ", 0) == 0) {
        return early(error_answer(401, "unauthorized", "invalid or expired token"));
    } else {
        return early(errors::no_credentials());
    }

    const auto n = segs.size();
    auto with_id = [&](route_id r, std::string arg = {}) {
        if (!valid_capsule_id(segs[2])) return early(bad_id());
        plan.route = r;
        plan.id = segs[2];
        plan.arg = std::move(arg);
        return std::move(plan);
    };
    if (segs[1] == "capsules") {
        if (n == 2) {
            if (m == "POST") {
                plan.route = route_id::create_capsule;
                return plan;
            }
            if (m != "GET") return early(method_not_allowed("GET, POST"));
            plan.route = route_id::list_capsules;
            return plan;
        }
        const std::string& id = segs[2];
        if (n == 3) {
            if (id == "stats" || id == "usage") {
                if (m != "GET") return early(method_not_allowed("GET"));
                if (id == "stats") {
                    auto range = get(plan.query, "range");
                    if (!range.empty() && range != "5m" && range != "1h" && range != "6h" && range != "24h" &&
                        range != "30d")
                        return early(errors::bad_range("5m, 1h, 6h, 24h, 30d"));
                    plan.route = route_id::stats;
                    return plan;
                }
                std::optional<sys_clock::time_point> from, to;
                if (auto f = get(plan.query, "from"); !f.empty() && !(from = parse_date(f)))
                    return early(bad_request("invalid 'from' date, expected YYYY-MM-DD"));
                if (auto t = get(plan.query, "to"); !t.empty() && !(to = parse_date(t)))
                    return early(bad_request("invalid 'to' date, expected YYYY-MM-DD"));
                plan.route = route_id::usage;
                return plan;
            }
            if (m == "GET") return with_id(route_id::get_capsule);
            if (m == "DELETE") return with_id(route_id::delete_capsule);
            return early(method_not_allowed("GET, DELETE"));
        }
        if (n == 4) {
            const std::string& what = segs[3];
            if (what == "pause" || what == "resume" || what == "ping") {
                if (m != "POST") return early(method_not_allowed("POST"));
                return with_id(route_id::capsule_action, what);
            }
            if (what == "exec") {
                if (m != "POST") return early(method_not_allowed("POST"));
                return with_id(route_id::exec);
            }
            if (what == "metrics") {
                if (m != "GET") return early(method_not_allowed("GET"));
                if (!valid_capsule_id(id)) return early(bad_id());
                auto range = get(plan.query, "range");
                static const char* const ranges[] = {"5m", "10m", "1h", "2h", "6h", "12h", "24h"};
                if (!range.empty() && std::find(std::begin(ranges), std::end(ranges), range) == std::end(ranges))
                    return early(errors::bad_range("5m, 10m, 1h, 2h, 6h, 12h, 24h"));
                return with_id(route_id::metrics);
            }
            if (what == "processes") {
                if (m != "GET") return early(method_not_allowed("GET"));
                return with_id(route_id::list_processes);
            }
        }
        if (auto ws = ws_route_of(segs)) {
            // A WebSocket route without the upgrade (gorilla: 400).
            if (!valid_capsule_id(ws->capsule_id)) return early(bad_id());
            return early(bad_request("this route needs a WebSocket upgrade (GET with Upgrade: websocket)"));
        }
        if (n == 4) return early(route_not_found());
        if (auto op = file_op(segs); !op.empty()) {
            if (m != "POST") return early(method_not_allowed("POST"));
            return with_id(route_id::files, op);
        }
        if (n == 5 && segs[3] == "processes" && !segs[4].empty()) {
            if (m != "DELETE") return early(method_not_allowed("DELETE"));
            return with_id(route_id::kill_process, segs[4]);
        }
        return early(route_not_found());
    }
    if (segs[1] == "snapshots") {
        if (n == 2) {
            if (m == "POST") {
                plan.route = route_id::create_snapshot;
                return plan;
            }
            if (m == "GET") {
                plan.route = route_id::list_snapshots;
                return plan;
            }
            return early(method_not_allowed("GET, POST"));
        }
        if (n == 3 && !segs[2].empty()) {
            plan.id = segs[2];
            if (m == "DELETE") {
                plan.route = route_id::delete_snapshot;
                return plan;
            }
            if (api_04() && m == "PATCH") {
                plan.route = route_id::rename_snapshot;
                return plan;
            }
            return early(method_not_allowed(api_04() ? "DELETE, PATCH" : "DELETE"));
        }
        if (api_04() && n == 4 && !segs[2].empty() && segs[3] == "visibility") {
            if (m != "PATCH") return early(method_not_allowed("PATCH"));
            plan.route = route_id::set_visibility;
            plan.id = segs[2];
            return plan;
        }
    }
    return early(route_not_found());
}

// ---------------------------------------------------------------- bodies
namespace {
answer bad_json() { return bad_request("invalid JSON body"); }
} // namespace

checked<create_body> check_create_body(std::string_view body) {
    auto o = parse_object_body(body, {{"template", jtype::string},
                                      {"vcpus", jtype::int32},
                                      {"memory_mb", jtype::int32},
                                      {"timeout_sec", jtype::int32},
                                      {"disk_size_mb", jtype::int32},
                                      {"metadata", jtype::string_map},
                                      {"volume_ids", jtype::string_array}});
    if (!o) return bad_json();
    auto r = json::value_to<wrenn::create_capsule_request>(json::value(std::move(*o)));
    create_body b;
    b.template_name = r.template_name.value_or("");
    if (b.template_name.empty()) b.template_name = "minimal-ubuntu";
    b.timeout_sec = std::max(0, r.timeout_sec.value_or(0));
    if (api_04()) {  // checks in the order of WIRE-0.4 §3.1; the reference is trimmed first
        while (!b.template_name.empty() && b.template_name.back() == ' ') b.template_name.pop_back();
        while (!b.template_name.empty() && b.template_name.front() == ' ') b.template_name.erase(0, 1);
        if (auto why = wrenn::protocol::template_ref_problem(b.template_name))
            return error_04(400, "validation_failed", "Invalid template reference: " + *why + ".");
        if (auto why = wrenn::protocol::metadata_problem(r.metadata))
            return error_04(400, "validation_failed", "Invalid metadata: " + *why + ".");
        if (r.volume_ids.size() > wrenn::protocol::max_capsule_volumes)
            return error_04(400, "invalid_request", "A capsule may attach at most 4 volumes.");
        b.vcpus = 2;
        b.memory_mb = 2048;
        if (b.timeout_sec > 0 && b.timeout_sec < 60) b.timeout_sec = 60;
        b.metadata = std::move(r.metadata);
        b.volume_ids = std::move(r.volume_ids);
    } else if (!valid_name(b.template_name)) {
        return bad_request("invalid request");
    }
    if (r.vcpus && *r.vcpus > 0) b.vcpus = *r.vcpus;
    if (r.memory_mb && *r.memory_mb > 0) b.memory_mb = *r.memory_mb;
    return b;
}

checked<wrenn::exec_request> check_exec_body(std::string_view body) {
    auto o = parse_object_body(body, {{"cmd", jtype::string},
                                      {"args", jtype::string_array},
                                      {"timeout_sec", jtype::int32},
                                      {"background", jtype::boolean},
                                      {"tag", jtype::string},
                                      {"envs", jtype::string_map},
                                      {"cwd", jtype::string}});
    if (!o) return bad_json();
    auto er = json::value_to<wrenn::exec_request>(json::value(std::move(*o)));
    if (er.cmd.empty()) return errors::missing_field("cmd", "cmd is required");
    if (er.cmd.find('\0') != std::string::npos) return bad_request("invalid request");
    for (auto& a : er.args)
        if (a.find('\0') != std::string::npos) return bad_request("invalid request");
    return er;
}

checked<snapshot_body> check_snapshot_body(std::string_view body) {
    auto o = parse_object_body(body, {{"sandbox_id", jtype::string}, {"name", jtype::string}});
    if (!o) return bad_json();
    snapshot_body b;
    if (auto* v = o->if_contains("sandbox_id"); v && v->is_string()) b.sandbox_id = v->get_string();
    if (auto* v = o->if_contains("name"); v && v->is_string()) b.name = v->get_string();
    if (b.sandbox_id.empty()) return errors::missing_field("sandbox_id", "sandbox_id is required");
    if (!valid_capsule_id(b.sandbox_id)) return bad_request("invalid sandbox_id");
    if (!b.name.empty() && !valid_name(b.name))
        return bad_request("invalid snapshot name: name must match ^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$");
    return b;
}

checked<bool> check_visibility_body(std::string_view body) {
    auto o = parse_object_body(body, {{"public", jtype::boolean}});
    if (!o) return bad_json();
    auto* v = o->if_contains("public");
    return v && v->is_bool() && v->get_bool();
}

checked<std::string> check_rename_body(std::string_view body) {
    auto o = parse_object_body(body, {{"new_name", jtype::string}});
    if (!o) return bad_json();
    std::string name;
    if (auto* v = o->if_contains("new_name"); v && v->is_string()) name = v->get_string();
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.pop_back();
    while (!name.empty() && (name.front() == ' ' || name.front() == '\t')) name.erase(0, 1);
    if (!valid_name(name)) return error_04(400, "invalid_request", "Invalid template name.");
    return name;
}

std::string expand_home(std::string_view p) {
    std::string home(home_dir);
    if (p == "~") return home;
    if (p.substr(0, 2) == "~/") return home + std::string(p.substr(1));
    if (p.empty() || p.front() != '/') return home + "/" + std::string(p);
    return std::string(p);
}

std::optional<std::string> check_upload_path(std::string_view path, std::string& why) {
    if (path.empty()) {
        why = "path field is required";
        return std::nullopt;
    }
    if (path.find('\0') != std::string_view::npos) {
        why = "invalid path";
        return std::nullopt;
    }
    if (path.size() > max_path_length) {
        why = "path is too long";
        return std::nullopt;
    }
    return expand_home(path);
}

checked<file_body_request> check_file_body(std::string_view op, std::string_view body) {
    auto o = parse_object_body(body, {{"path", jtype::string}, {"depth", jtype::uint32}});
    if (!o) return bad_json();
    file_body_request r;
    std::string path;
    if (auto* v = o->if_contains("path"); v && v->is_string()) path = v->get_string();
    if (op == "list")
        if (auto* v = o->if_contains("depth"); v && !v->is_null())
            r.depth = static_cast<std::uint32_t>(v->is_int64() ? v->get_int64()
                                                               : static_cast<std::int64_t>(v->get_uint64()));
    if (path.empty()) return errors::missing_field("path", "path is required");
    std::string why;
    auto full = check_upload_path(path, why);
    if (!full) return bad_request(why);
    r.path = std::move(*full);
    return r;
}

} // namespace wl
