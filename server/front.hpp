// wrenn-local: the sans-I/O front of request handling.
//
// Everything the server decides about a request from its bytes alone, before
// it touches a capsule: what the HTTP layer does with a header it has read
// (refuse it, proxy it, upgrade it, hand it to the API router), which route
// of the router it names and whether it is authenticated, and whether a
// route's JSON body has the right shape. No sockets, no processes, no files:
// http.cpp and the routes (routes*.cpp, files.cpp, file_upload.cpp) call
// these, and so does the fuzz target tests/fuzz/fuzz_server_request.cpp, on
// arbitrary bytes.
#pragma once

#include "common.hpp"

#include <wrenn/models.hpp>

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>

#include <variant>

namespace wl {

namespace http = boost::beast::http;

// ---- limits ----
inline constexpr std::size_t header_limit = 64 * 1024;           // request line + headers, bytes
inline constexpr std::size_t max_target = 16 * 1024;             // request target, bytes
inline constexpr std::uint64_t json_body_limit = 16 * 1024 * 1024;  // buffered (non-upload) bodies
inline constexpr std::size_t max_path_length = 4096;             // a file path in a request (PATH_MAX)

// ---- percent-encoding (RFC 3986) ----
// Decodes %XX escapes; nullopt when a '%' is not followed by two hex digits.
// `plus_is_space`: a query component ('+' is a space), else a path segment.
std::optional<std::string> unescape(std::string_view s, bool plus_is_space);

using query_map = std::map<std::string, std::string>;
// key=value pairs joined by '&' (the first value of a key wins); nullopt on a
// bad escape.
std::optional<query_map> parse_query(std::string_view q);

// ---- the capsule proxy (WIRE.md §12.2) ----
struct proxy_target {
    std::string port_text, capsule_id;
};
// `^(\d+)-(cl-[0-9a-z]+)\.` on a Host header without its port.
std::optional<proxy_target> match_proxy_host(std::string_view host);

// ---- the HTTP layer's decision about a request header ----
struct header_plan {
    enum kind_t {
        api,      // read the body (buffered, or streamed when `streamed`), then the router
        proxied,  // to a port in the capsule, unauthenticated (WIRE.md §12.2)
        upgrade,  // a WebSocket route: upgrade, then the session authenticates (WIRE.md §7)
        refused,  // send `refusal`, then close the connection
    } kind = api;
    answer refusal;
    proxy_target proxy;
    ws_route ws;
    request req;  // method (HEAD as GET), target, credentials, content type and length
    bool head = false, keep_alive = true, expect_continue = false, streamed = false;
    unsigned version = 11;  // of the answers
};
header_plan plan_request(const app_state& app, const http::request_parser<http::empty_body>& parsed);

// The answer to a request the HTTP parser refused (`ec` from Beast): 431 for
// a header block over the limit, 413 for a body over it, else 400.
answer refusal_for(const boost::system::error_code& ec);

// ---- the API router ----
enum class route_id {
    list_capsules, create_capsule, get_capsule, delete_capsule, capsule_action, exec, metrics,
    list_processes, kill_process, files, stats, usage, create_snapshot, list_snapshots, delete_snapshot,
    set_visibility, rename_snapshot,  // API 0.4.0
};

// Either `early` (answered without running anything: /health, 400 for a bad
// escape or capsule id or query value, 401 without the API key, 404, 405), or
// a route to run. A route is only ever returned for a request that carries
// the server's API key (X-API-Key, compared in constant time).
struct route_plan {
    std::optional<answer> early;
    route_id route = route_id::list_capsules;
    std::string id;   // the capsule id (validated) or the snapshot name (not validated)
    std::string arg;  // capsule_action: pause|resume|ping; kill_process: the selector; files: the op
    query_map query;
};
route_plan plan_route(const app_state& app, const request& req);

// ---- JSON request bodies, decoded strictly (WIRE.md §0) ----
// A refusal (400 invalid_request) or the decoded body.
template <class T>
using checked = std::variant<answer, T>;

struct create_body {
    std::string template_name;  // "minimal-ubuntu" when absent; a valid name (0.4: or <team-slug>/<name>)
    int vcpus = 1, memory_mb = 512, timeout_sec = 0;  // 0.4: 2, 2048, and 1-59 become 60
    std::map<std::string, std::string> metadata;      // 0.4: checked labels (0.2 ignores them)
    std::vector<std::string> volume_ids;              // 0.4: at most 4
};
checked<create_body> check_create_body(std::string_view body);
// cmd non-empty, no NUL in args.
checked<wrenn::exec_request> check_exec_body(std::string_view body);
struct snapshot_body {
    std::string sandbox_id;  // a valid capsule id
    std::string name;        // empty (the server picks one) or a valid name
};
checked<snapshot_body> check_snapshot_body(std::string_view body);
// PATCH /v1/snapshots/{name}/visibility {"public": bool} (absent: false, as the Go decoder reads it)
checked<bool> check_visibility_body(std::string_view body);
// PATCH /v1/snapshots/{name} {"new_name": "..."}: trimmed, a valid name
checked<std::string> check_rename_body(std::string_view body);
// files/read, stream/read, list, mkdir, remove: {"path":..., "depth":...}.
struct file_body_request {
    std::string path;  // absolute inside the capsule (home-relative and ~ expanded)
    std::uint32_t depth = 0;
};
checked<file_body_request> check_file_body(std::string_view op, std::string_view body);
// The path of an upload (multipart `path` field): nullopt and `why` when refused.
std::optional<std::string> check_upload_path(std::string_view path, std::string& why);

// A request path inside the capsule as an absolute path: relative paths are
// relative to the home directory; "~" and "~/..." expand to it. `p` non-empty.
std::string expand_home(std::string_view p);

} // namespace wl
