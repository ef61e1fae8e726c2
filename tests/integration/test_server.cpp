// wrenn-local's front door, with raw bytes over a socket (the SDK never sends
// them): malformed requests get the JSON error envelope and the server keeps
// running; it listens on loopback unless told otherwise; every API route
// wants the API key and does nothing without it; paths cannot leave the
// capsule; header blocks, bodies and slow clients are bounded.
// (The WebSocket side of these: test_server_security.cpp.)
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include "local_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

using wrenn_test::local_server;
using wrenn_test::slurp;
using namespace std::chrono_literals;

namespace {

namespace json = boost::json;

unsigned short port_of(const std::string& base_url) {
    auto colon = base_url.rfind(':');
    return static_cast<unsigned short>(std::stoi(base_url.substr(colon + 1)));
}

int connect_to(unsigned short port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    return fd;
}

// Everything the server sends until it closes or `quiet` passes without a byte.
std::string read_all(int fd, int quiet_ms = 5000) {
    std::string out;
    char buf[65536];
    for (;;) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, quiet_ms) <= 0) break;
        auto n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
}

// Sends `raw` on a fresh connection and returns everything read until the
// server closes or 5 s pass.
std::string raw_exchange(unsigned short port, const std::string& raw) {
    int fd = connect_to(port);
    std::size_t sent = 0;
    while (sent < raw.size()) {
        auto n = ::send(fd, raw.data() + sent, raw.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;  // the server may close before it has read everything
        sent += static_cast<std::size_t>(n);
    }
    ::shutdown(fd, SHUT_WR);
    auto out = read_all(fd);
    ::close(fd);
    return out;
}

struct answer {
    unsigned status = 0;
    std::string code, message;
};

std::string body_of(const std::string& raw) {
    auto at = raw.find("\r\n\r\n");
    return at == std::string::npos ? std::string{} : raw.substr(at + 4);
}

// The answer must be one HTTP/1.1 answer whose body is the JSON error envelope
// (valid UTF-8: boost::json::parse refuses anything else).
answer parse(const std::string& raw) {
    answer a;
    INFO("answer: " << raw.substr(0, 2000));
    REQUIRE(raw.rfind("HTTP/1.1 ", 0) == 0);
    a.status = static_cast<unsigned>(std::stoi(raw.substr(9, 3)));
    CHECK(raw.substr(0, raw.find("\r\n\r\n")).find("Content-Type: application/json") != std::string::npos);
    auto body = body_of(raw);
    REQUIRE(!body.empty());
    CHECK(body.back() == '\n');
    auto v = json::parse(body);
    a.code = std::string(v.at("error").at("code").as_string());
    a.message = std::string(v.at("error").at("message").as_string());
    return a;
}

unsigned status_of(const std::string& raw) {
    if (raw.rfind("HTTP/1.", 0) != 0 || raw.size() < 12) return 0;
    return static_cast<unsigned>(std::stoi(raw.substr(9, 3)));
}

std::string request(const std::string& method, const std::string& target, const std::string& key,
                    const std::string& body = "", const std::string& content_type = "application/json",
                    const std::string& extra_headers = "") {
    std::string r = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + extra_headers;
    if (!key.empty()) r += "X-API-Key: " + key + "\r\n";
    if (!body.empty() || method == "POST")
        r += "Content-Type: " + content_type + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    return r + "\r\n" + body;
}

const std::string boundary = "b0undary7";

std::string multipart(const std::string& path, const std::string& content) {
    return "--" + boundary + "\r\nContent-Disposition: form-data; name=\"path\"\r\n\r\n" + path + "\r\n--" + boundary +
           "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x\"\r\n"
           "Content-Type: application/octet-stream\r\n\r\n" +
           content + "\r\n--" + boundary + "--\r\n";
}
const std::string multipart_type = "multipart/form-data; boundary=" + boundary;

json::value json_body(const std::string& raw) {
    INFO("answer: " << raw.substr(0, 2000));
    REQUIRE(status_of(raw) / 100 == 2);
    return json::parse(body_of(raw));
}

// A capsule, made with the key.
std::string new_capsule(unsigned short port, const std::string& key) {
    auto raw = raw_exchange(port, request("POST", "/api/v1/capsules", key, "{}"));
    REQUIRE(status_of(raw) == 201);
    return std::string(json_body(raw).at("id").as_string());
}

// A shell command in the capsule, with the key: its stdout.
std::string sh(unsigned short port, const std::string& key, const std::string& id, const std::string& script) {
    json::value body = {{"cmd", "/bin/sh"}, {"args", json::array{"-c", script}}};
    auto raw = raw_exchange(port, request("POST", "/api/v1/capsules/" + id + "/exec", key, json::serialize(body)));
    auto v = json_body(raw);
    return std::string(v.at("stdout").as_string());
}

std::string json_str(const json::value& v) { return json::serialize(v); }

// The LISTEN socket of `port` in /proc/net/tcp (this network namespace, which
// the server shares): its local address as the kernel prints it
// ("0100007F" = 127.0.0.1, "00000000" = 0.0.0.0), or "" when there is none.
std::string listen_address(unsigned short port) {
    std::ifstream in("/proc/net/tcp");
    std::string line;
    std::getline(in, line);  // the column names
    char want[8];
    std::snprintf(want, sizeof want, "%04X", port);
    while (std::getline(in, line)) {
        std::istringstream ls(line);
        std::string slot, local, remote, state;
        ls >> slot >> local >> remote >> state;
        auto colon = local.find(':');
        if (state == "0A" && colon != std::string::npos && local.substr(colon + 1) == want)
            return local.substr(0, colon);
    }
    return {};
}

// Polls the server's state (effects it applies in the background) until
// `cond` holds; false at the deadline.
template <class F>
bool wait_until(F cond, std::chrono::seconds within = 30s) {
    auto deadline = std::chrono::steady_clock::now() + within;
    while (!cond()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        pollfd none{-1, 0, 0};
        ::poll(&none, 0, 50);
    }
    return true;
}

} // namespace

// ------------------------------------------------------------------ 1. loopback
TEST_CASE("server: listens on loopback by default, and warns when told to listen elsewhere",
          "[server][security]") {
    auto log = std::filesystem::temp_directory_path() / ("wrenn-listen-" + std::to_string(::getpid()) + ".log");
    {
        // No --listen at all: the server's own default.
        local_server srv({.listen = "", .stderr_file = log.string()});
        CHECK(srv.base_url().rfind("http://127.0.0.1:", 0) == 0);
        auto port = port_of(srv.base_url());
        CHECK(listen_address(port) == "0100007F");
        auto ok = raw_exchange(port, request("GET", "/api/v1/capsules", srv.api_key()));
        CHECK(status_of(ok) == 200);
        CHECK(slurp(log.string()).find("not a loopback address") == std::string::npos);
    }
    {
        local_server srv({.listen = "0.0.0.0:0", .stderr_file = log.string()});
        auto port = port_of(srv.base_url());
        CHECK(listen_address(port) == "00000000");
        // The warning comes before the WRENN_* lines, so it is there once they are.
        auto text = slurp(log.string());
        INFO(text);
        CHECK(text.find("WARNING: listening on 0.0.0.0, which is not a loopback address") != std::string::npos);
        CHECK(text.find("capsule proxy") != std::string::npos);
        // ... and the key still guards the API.
        auto a = parse(raw_exchange(port, request("GET", "/api/v1/capsules", "")));
        CHECK(a.status == 401);
    }
    std::filesystem::remove(log);
}

// ------------------------------------------------------------------ 2. authentication
TEST_CASE("server: every API route answers 401 without the right API key and does nothing",
          "[server][security]") {
    local_server srv;
    auto port = port_of(srv.base_url());
    const auto& key = srv.api_key();
    const std::string id = new_capsule(port, key);
    const std::string ghost = "cl-0000000000000000000000000";  // valid, unknown
    // What the unauthenticated requests would touch: a file, a background
    // process, a snapshot.
    sh(port, key, id, "printf KEEPME > /home/wrenn-user/keep");
    {
        json::value bg = {{"cmd", "/bin/sleep"}, {"args", json::array{"600"}}, {"background", true}, {"tag", "victim"}};
        auto raw = raw_exchange(port, request("POST", "/api/v1/capsules/" + id + "/exec", key, json_str(bg)));
        REQUIRE(status_of(raw) == 202);
    }
    {
        json::value snap = {{"sandbox_id", id}, {"name", "keep-snap"}};
        auto raw = raw_exchange(port, request("POST", "/api/v1/snapshots", key, json_str(snap)));
        REQUIRE(status_of(raw) / 100 == 2);
    }
    auto snapshot_ready = [&] {
        auto raw = raw_exchange(port, request("GET", "/api/v1/snapshots", key));
        auto v = json_body(raw);
        for (auto& t : v.as_array())
            if (t.at("name").as_string() == "keep-snap") return true;
        return false;
    };
    REQUIRE(wait_until(snapshot_ready));  // written in the background
    auto status_is_running = [&] {
        auto raw = raw_exchange(port, request("GET", "/api/v1/capsules/" + id, key));
        return std::string(json_body(raw).at("status").as_string()) == "running";
    };
    REQUIRE(wait_until(status_is_running));  // back from snapshotting

    struct route {
        std::string method, path, body, content_type;  // {id}: the capsule
        std::string probe_body;  // with the key and the ghost capsule: a harmless request that reaches the route
    };
    const std::string exec_body = R"({"cmd":"/bin/sh","args":["-c","touch /tmp/pwned-exec"]})";
    const std::string j = "application/json";
    const std::vector<route> routes{
        {"POST", "/v1/capsules", R"({"template":"minimal-ubuntu"})", j, "{nope"},
        {"GET", "/v1/capsules", "", j, ""},
        {"GET", "/v1/capsules/{id}", "", j, ""},
        {"DELETE", "/v1/capsules/{id}", "", j, ""},
        {"POST", "/v1/capsules/{id}/pause", "", j, ""},
        {"POST", "/v1/capsules/{id}/resume", "", j, ""},
        {"POST", "/v1/capsules/{id}/ping", "", j, ""},
        {"GET", "/v1/capsules/{id}/metrics?range=5m", "", j, ""},
        {"GET", "/v1/capsules/stats?range=1h", "", j, ""},
        {"GET", "/v1/capsules/usage", "", j, ""},
        {"POST", "/v1/capsules/{id}/exec", exec_body, j, exec_body},
        {"GET", "/v1/capsules/{id}/processes", "", j, ""},
        {"DELETE", "/v1/capsules/{id}/processes/victim", "", j, ""},
        {"DELETE", "/v1/capsules/{id}/processes/1", "", j, ""},
        {"POST", "/v1/capsules/{id}/files/write", multipart("/home/wrenn-user/pwned-write", "x"), multipart_type,
         multipart("/tmp/x", "x")},
        {"POST", "/v1/capsules/{id}/files/read", R"({"path":"/home/wrenn-user/keep"})", j, R"({"path":"/x"})"},
        {"POST", "/v1/capsules/{id}/files/list", R"({"path":"/home/wrenn-user"})", j, R"({"path":"/x"})"},
        {"POST", "/v1/capsules/{id}/files/mkdir", R"({"path":"/home/wrenn-user/pwned-dir"})", j, R"({"path":"/x"})"},
        {"POST", "/v1/capsules/{id}/files/remove", R"({"path":"/home/wrenn-user/keep"})", j, R"({"path":"/x"})"},
        {"POST", "/v1/capsules/{id}/files/stream/write", multipart("/home/wrenn-user/pwned-stream", "x"),
         multipart_type, multipart("/tmp/x", "x")},
        {"POST", "/v1/capsules/{id}/files/stream/read", R"({"path":"/home/wrenn-user/keep"})", j, R"({"path":"/x"})"},
        {"POST", "/v1/snapshots", R"({"sandbox_id":"{id}","name":"pwned-snap"})", j, R"({"sandbox_id":"{ghost}"})"},
        {"GET", "/v1/snapshots", "", j, ""},
        {"DELETE", "/v1/snapshots/{snap}", "", j, ""},
        // The WebSocket routes as plain requests (the upgrades: test_server_security.cpp).
        {"GET", "/v1/capsules/{id}/exec/stream", "", j, ""},
        {"GET", "/v1/capsules/{id}/processes/victim/stream", "", j, ""},
        {"GET", "/v1/capsules/{id}/pty", "", j, ""},
    };
    // {id}, {ghost}: the capsule; {snap}: the snapshot.
    auto fill = [](std::string s, const std::string& capsule_id, const std::string& snap) {
        for (std::string tag : {"{id}", "{ghost}", "{snap}"})
            for (auto at = s.find(tag); at != std::string::npos; at = s.find(tag))
                s.replace(at, tag.size(), tag == "{snap}" ? snap : capsule_id);
        return s;
    };
    // Wrong keys: same length as the real one, shorter, longer, empty; a Bearer token.
    std::string same_length = key;
    same_length.back() = same_length.back() == '0' ? '1' : '0';
    struct credential {
        std::string what, header;
        std::string message;
    };
    const std::vector<credential> credentials{
        {"no key", "", "X-API-Key or Authorization: Bearer <token> required"},
        {"wrong key of the same length", "X-API-Key: " + same_length + "\r\n", "invalid API key"},
        {"a prefix of the key", "X-API-Key: " + key.substr(0, key.size() - 1) + "\r\n", "invalid API key"},
        {"the key and more", "X-API-Key: " + key + "x\r\n", "invalid API key"},
        {"empty key", "X-API-Key: \r\n", "invalid API key"},
        {"a Bearer token", "Authorization: Bearer " + key + "\r\n", "invalid or expired token"},
        {"Basic auth", "Authorization: Basic d3JlbnA6eA==\r\n", "X-API-Key or Authorization: Bearer <token> required"},
    };
    for (const auto& r : routes) {
        const std::string target = "/api" + fill(r.path, id, "keep-snap"), body = fill(r.body, id, "keep-snap");
        INFO(r.method << " " << target);
        for (const auto& cred : credentials) {
            INFO(cred.what);
            auto raw = raw_exchange(port, request(r.method, target, "", body, r.content_type, cred.header));
            auto a = parse(raw);
            CHECK(a.status == 401);
            CHECK(a.code == "unauthorized");
            CHECK(a.message == cred.message);
            CHECK(raw.find("KEEPME") == std::string::npos);
        }
        // The same route with the key (on the ghost capsule, with a harmless
        // body) is a real route: not 401, not "route not found", not 405.
        auto probe = raw_exchange(port, request(r.method, "/api" + fill(r.path, ghost, "no-such-snap"), key,
                                                fill(r.probe_body, ghost, "no-such-snap"), r.content_type));
        INFO("with the key: " << probe.substr(0, 400));
        CHECK(status_of(probe) != 401);
        CHECK(status_of(probe) != 405);
        CHECK(probe.find("route not found") == std::string::npos);
    }

    // The capsule proxy is not behind the key, by design (WIRE.md §12.2:
    // access control is the unguessable URL): a proxy Host is routed as such
    // without a key (an unknown capsule: the proxy's own text/plain 404).
    {
        auto proxied = raw_exchange(port, "GET / HTTP/1.1\r\nHost: 8080-" + ghost + ".localhost\r\n\r\n");
        CHECK(status_of(proxied) == 404);
        CHECK(body_of(proxied) == "sandbox not found\n");
    }
    // /health alone needs no key (WIRE.md §1.1), and says nothing secret.
    auto health = raw_exchange(port, request("GET", "/health", ""));
    CHECK(status_of(health) == 200);
    CHECK(body_of(health) == "{\"status\":\"ok\",\"version\":\"0.1.0\"}\n");

    // Nothing happened: one capsule, still running; the file, the process and
    // the snapshot are still there; nothing was written.
    auto list = json_body(raw_exchange(port, request("GET", "/api/v1/capsules", key)));
    REQUIRE(list.as_array().size() == 1);
    CHECK(list.as_array()[0].at("id").as_string() == id);
    CHECK(list.as_array()[0].at("status").as_string() == "running");
    CHECK(sh(port, key, id, "cat /home/wrenn-user/keep") == "KEEPME");
    CHECK(sh(port, key, id,
             "for f in /tmp/pwned-exec /home/wrenn-user/pwned-write /home/wrenn-user/pwned-dir "
             "/home/wrenn-user/pwned-stream; do test -e $f && echo $f; done; true") == "");
    auto procs = json_body(raw_exchange(port, request("GET", "/api/v1/capsules/" + id + "/processes", key)));
    bool victim = false;
    for (auto& p : procs.at("processes").as_array())
        if (p.as_object().contains("tag") && p.at("tag").as_string() == "victim") victim = true;
    CHECK(victim);
    auto snaps = json_str(json_body(raw_exchange(port, request("GET", "/api/v1/snapshots", key))));
    CHECK(snaps.find("\"keep-snap\"") != std::string::npos);
    CHECK(snaps.find("pwned-snap") == std::string::npos);
}

// ------------------------------------------------------------------ 3. paths
TEST_CASE("server: encoded dot-dots, NULs, backslashes and overlong paths never leave the capsule",
          "[server][files][security]") {
    local_server srv;
    auto port = port_of(srv.base_url());
    const auto& key = srv.api_key();
    const std::string id = new_capsule(port, key);
    const auto tag = std::to_string(::getpid());
    const auto tmp = std::filesystem::temp_directory_path();
    const auto secret = tmp / ("wrenn-secret-" + tag);
    const auto target = tmp / ("wrenn-escape-" + tag);
    std::ofstream(secret) << "TOPSECRET";
    std::filesystem::remove_all(target);
    const std::string up = "/../../../../../../../..";  // more than enough `..` to reach the host's root
    std::string deep;
    for (int i = 0; i < 2100; ++i) deep += "d/";  // 4200 bytes: over the path limit

    // In the URL: percent-encoded dot-dots and slashes, NULs, bad escapes.
    struct url_case {
        std::string what, method, target, body;
        unsigned status;
    };
    const std::string files = "/api/v1/capsules/" + id + "/files";
    const url_case urls[] = {
        {"%2e%2e as the capsule id", "GET", "/api/v1/capsules/%2e%2e/%2e%2e/etc/passwd", "", 404},
        {"%2e%2e in place of the id", "POST", "/api/v1/capsules/%2e%2e/files/read", R"({"path":"/etc/passwd"})", 400},
        {"%2F inside the route", "POST", files + "%2Fread", R"({"path":"/etc/passwd"})", 404},
        {"..%2F before the route", "POST", "/api/v1/capsules/" + id + "/..%2F..%2Ffiles/read",
         R"({"path":"/etc/passwd"})", 404},
        {"%2e%2e above the prefix", "GET", "/api/%2e%2e/v1/capsules", "", 404},
        {"NUL in the id", "POST", "/api/v1/capsules/%00/files/read", R"({"path":"/etc/passwd"})", 400},
        {"NUL after the route", "POST", files + "/read%00", R"({"path":"/etc/passwd"})", 404},
        {"a bad escape", "POST", files + "/re%zzad", R"({"path":"/etc/passwd"})", 400},
        {"a cut escape", "POST", files + "/read%2", R"({"path":"/etc/passwd"})", 400},
        // no separators: one (invalid) capsule id
        {"backslashes", "GET", "/api/v1/capsules/" + id + "\\..\\..\\etc\\passwd", "", 400},
    };
    for (const auto& c : urls) {
        INFO(c.what << ": " << c.target);
        auto raw = raw_exchange(port, request(c.method, c.target, key, c.body));
        auto a = parse(raw);
        CHECK(a.status == c.status);
        CHECK(raw.find("root:") == std::string::npos);
    }

    // In the body: the path of every file route.
    struct path_case {
        std::string what, path;
        unsigned status;  // of read (the others: the same or a 502 for a missing file)
        std::string code;
    };
    const path_case paths[] = {
        {"dot-dots to the host's file", up + secret.string(), 403, "forbidden"},
        {"relative dot-dots", "../../../../../../../.." + secret.string(), 403, "forbidden"},
        {"percent-encoded dot-dots (literal names)", "/%2e%2e/%2e%2e/%2e%2e/%2e%2e" + secret.string(), 502,
         "agent_error"},
        {"percent-encoded slashes (literal names)", "..%2F..%2F..%2F..%2F..%2F" + secret.string(), 502, "agent_error"},
        {"backslashes (literal names)", "..\\..\\..\\..\\..\\..\\" + secret.string(), 502, "agent_error"},
        {"NUL", secret.string() + std::string(1, '\0') + ".txt", 400, "invalid_request"},
        {"NUL then dot-dots", std::string("/home/wrenn-user\0", 17) + up + secret.string(), 400, "invalid_request"},
        {"overlong path", "/" + std::string(5000, 'a'), 400, "invalid_request"},
        {"overlong component", "/home/" + std::string(300, 'a'), 502, "agent_error"},
        {"deep nesting", deep, 400, "invalid_request"},
    };
    for (const auto& c : paths) {
        INFO(c.what);
        json::value body = {{"path", c.path}};
        for (std::string op : {"read", "stream/read", "list", "mkdir", "remove"}) {
            INFO(op);
            auto raw = raw_exchange(port, request("POST", files + "/" + op, key, json_str(body)));
            CHECK(raw.find("TOPSECRET") == std::string::npos);
            if (c.status == 403 || c.status == 400) {
                auto a = parse(raw);
                CHECK(a.status == c.status);
                CHECK(a.code == c.code);
            } else if (op == "stream/read") {
                // headers go before the file is opened (WIRE.md §10.8): 200 and
                // no bytes, or an envelope
                CHECK((status_of(raw) == 200 || status_of(raw) >= 400));
            } else if (status_of(raw) >= 400) {
                CHECK(parse(raw).status >= 400);
            } else {
                CHECK(status_of(raw) / 100 == 2);  // a literal name inside the capsule (mkdir makes it)
            }
        }
        // Writes to the same path (the host's file is the secret: an escaped
        // write would change it), and to a new file next to it.
        for (std::string op : {"write", "stream/write"}) {
            INFO(op);
            for (std::string dest : {c.path, c.path + "-new"}) {
                auto raw = raw_exchange(port, request("POST", files + "/" + op, key, multipart(dest, "ESCAPED"),
                                                      multipart_type));
                auto s = status_of(raw);
                if (c.status == 403 || c.status == 400) {
                    auto a = parse(raw);
                    CHECK(a.status == c.status);
                } else {
                    CHECK((s == 204 || s >= 400));  // a literal name inside the capsule may be written
                }
            }
        }
    }
    // mkdir and write straight at a new host path.
    {
        json::value body = {{"path", up + target.string()}};
        auto a = parse(raw_exchange(port, request("POST", files + "/mkdir", key, json_str(body))));
        CHECK(a.status == 403);
        auto w = parse(raw_exchange(port, request("POST", files + "/write", key, multipart(up + target.string(), "x"),
                                                  multipart_type)));
        CHECK(w.status == 403);
    }
    CHECK(!std::filesystem::exists(target));
    CHECK(!std::filesystem::exists(secret.string() + "-new"));
    CHECK(slurp(secret.string()) == "TOPSECRET");
    // Nothing deep was made inside the capsule either.
    CHECK(sh(port, key, id, "test -e /home/wrenn-user/d && echo made; true") == "");
    std::filesystem::remove(secret);
}

// ------------------------------------------------------------------ 4. bounds
TEST_CASE("server: header blocks and JSON bodies over the limits get 431 and 413 envelopes",
          "[server][security]") {
    local_server srv;
    auto port = port_of(srv.base_url());
    const auto& key = srv.api_key();
    const std::string get = "GET /api/v1/capsules HTTP/1.1\r\nHost: x\r\nX-API-Key: " + key + "\r\n";

    // One huge header, many small ones: 431.
    for (const std::string& headers :
         {"X-Big: " + std::string(200000, 'a') + "\r\n", [] {
              std::string h;
              for (int i = 0; i < 20000; ++i) h += "X-H" + std::to_string(i) + ": v\r\n";
              return h;
          }()}) {
        auto a = parse(raw_exchange(port, get + headers + "\r\n"));
        CHECK(a.status == 431);
        CHECK(a.code == "too_large");
    }
    // Just under the limit (64 KiB) is served.
    auto near = raw_exchange(port, get + "X-Big: " + std::string(60000, 'a') + "\r\nConnection: close\r\n\r\n");
    CHECK(status_of(near) == 200);
    // A request target over 16 KiB: 414.
    auto long_target = parse(raw_exchange(port, request("GET", "/api/v1/capsules?x=" + std::string(20000, 'a'), key)));
    CHECK(long_target.status == 414);

    // JSON bodies over 16 MiB: by Content-Length (refused before any of it is
    // read) and chunked (refused once the limit is passed).
    const std::uint64_t limit = 16 * 1024 * 1024;
    {
        std::string r = "POST /api/v1/capsules HTTP/1.1\r\nHost: x\r\nX-API-Key: " + key +
                        "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(limit + 1) +
                        "\r\n\r\n{\"template\":";
        auto a = parse(raw_exchange(port, r));
        CHECK(a.status == 413);
        CHECK(a.code == "too_large");
        // Without the key too (the limit comes first: nothing is buffered for anyone).
        std::string no_key = "POST /api/v1/capsules HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                             std::to_string(limit + 1) + "\r\n\r\n";
        CHECK(parse(raw_exchange(port, no_key)).status == 413);
    }
    {
        std::string r = "POST /api/v1/capsules HTTP/1.1\r\nHost: x\r\nX-API-Key: " + key +
                        "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
        const std::string chunk(1024 * 1024, ' ');
        char size[32];
        std::snprintf(size, sizeof size, "%zx\r\n", chunk.size());
        for (int i = 0; i < 17; ++i) r += size + chunk + "\r\n";
        r += "0\r\n\r\n";
        auto a = parse(raw_exchange(port, r));
        CHECK(a.status == 413);
        CHECK(a.code == "too_large");
    }
    // A body just under the limit is read (and then judged: not JSON).
    {
        std::string body(limit - 10, ' ');
        auto a = parse(raw_exchange(port, request("POST", "/api/v1/capsules", key, body)));
        CHECK(a.status == 400);
        CHECK(a.message == "invalid JSON body");
    }
    auto ok = raw_exchange(port, request("GET", "/api/v1/capsules", key));
    CHECK(status_of(ok) == 200);
}

TEST_CASE("server: a client sending its header a byte at a time is cut off, others are served meanwhile",
          "[server][security]") {
    // The header deadline, short for the test (default 10 s).
    local_server srv({.extra_args = {"--header-timeout-ms", "1500"}});
    auto port = port_of(srv.base_url());
    const auto& key = srv.api_key();

    // A keep-alive connection that is idle between requests is not cut off by
    // the header deadline (only the idle timeout applies there).
    int idle = connect_to(port);
    const std::string keep_alive_get = "GET /api/v1/capsules HTTP/1.1\r\nHost: x\r\nX-API-Key: " + key + "\r\n\r\n";
    auto send_all = [](int fd, const std::string& s) {
        return ::send(fd, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size());
    };
    auto read_answer = [](int fd) {
        std::string out;
        char buf[4096];
        auto deadline = std::chrono::steady_clock::now() + 5s;
        while (out.find("\r\n\r\n[") == std::string::npos || out.back() != '\n') {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            pollfd p{fd, POLLIN, 0};
            if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
            auto n = ::recv(fd, buf, sizeof buf, 0);
            if (n <= 0) break;
            out.append(buf, static_cast<std::size_t>(n));
        }
        return out;
    };
    REQUIRE(send_all(idle, keep_alive_get));
    CHECK(status_of(read_answer(idle)) == 200);

    // The slow client: one byte a second.
    int slow = connect_to(port);
    const std::string slow_request = keep_alive_get;
    const auto t0 = std::chrono::steady_clock::now();
    std::size_t sent = 0;
    bool closed = false, served_meanwhile = false;
    std::chrono::steady_clock::duration cut_after{};
    while (!closed && std::chrono::steady_clock::now() - t0 < 15s) {
        if (sent < slow_request.size() && ::send(slow, slow_request.data() + sent, 1, MSG_NOSIGNAL) == 1) ++sent;
        // Another client is served at once, while the slow one hangs on.
        if (!served_meanwhile) {
            auto s0 = std::chrono::steady_clock::now();
            auto other = raw_exchange(port, request("GET", "/api/v1/capsules", key));
            CHECK(status_of(other) == 200);
            CHECK(std::chrono::steady_clock::now() - s0 < 1s);
            served_meanwhile = true;
        }
        // Wait a second for the server to close the connection (or not).
        pollfd p{slow, POLLIN, 0};
        if (::poll(&p, 1, 1000) > 0) {
            char b[512];
            auto n = ::recv(slow, b, sizeof b, 0);
            if (n <= 0) {
                closed = true;
                cut_after = std::chrono::steady_clock::now() - t0;
            }
        }
    }
    CHECK(closed);
    CHECK(sent < slow_request.size());  // it never got to send the whole header
    CHECK(cut_after >= 1400ms);
    CHECK(cut_after < 5s);
    ::close(slow);

    // The idle keep-alive connection outlived the deadline and still works.
    REQUIRE(send_all(idle, keep_alive_get));
    CHECK(status_of(read_answer(idle)) == 200);
    ::close(idle);
}

// ------------------------------------------------------------------ 5. malformed
TEST_CASE("server: malformed requests get the JSON envelope and the server keeps running", "[server]") {
    local_server srv;
    auto port = port_of(srv.base_url());
    const auto& key = srv.api_key();
    const std::string id = new_capsule(port, key);
    const std::string cap = "/api/v1/capsules/" + id;
    const std::string auth = "X-API-Key: " + key + "\r\n";
    // A request head with the key, `line` as its request line.
    auto with_line = [&](const std::string& line, const std::string& headers = "") {
        return line + "\r\nHost: x\r\n" + auth + headers + "\r\n";
    };
    auto post = [&](const std::string& target, const std::string& headers, const std::string& rest) {
        return "POST " + target + " HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Type: application/json\r\n" + headers +
               "\r\n" + rest;
    };

    struct bad {
        std::string what, raw;
        unsigned status;
        std::string code;
    };
    const bad cases[] = {
        // JSON bodies, route by route
        {"invalid JSON", request("POST", "/api/v1/capsules", key, "{nope"), 400, "invalid_request"},
        {"empty body", request("POST", "/api/v1/capsules", key, ""), 400, "invalid_request"},
        {"wrong JSON type", request("POST", "/api/v1/capsules", key, R"({"vcpus":"2"})"), 400, "invalid_request"},
        {"fractional int", request("POST", "/api/v1/capsules", key, R"({"vcpus":1.5})"), 400, "invalid_request"},
        {"int32 overflow", request("POST", "/api/v1/capsules", key, R"({"memory_mb":2147483648})"), 400, "invalid_request"},
        {"bool for an int", request("POST", "/api/v1/capsules", key, R"({"timeout_sec":true})"), 400, "invalid_request"},
        {"bad template name", request("POST", "/api/v1/capsules", key, R"({"template":"../etc"})"), 400, "invalid_request"},
        {"JSON array body", request("POST", "/api/v1/capsules", key, "[1,2]"), 400, "invalid_request"},
        {"trailing garbage", request("POST", "/api/v1/capsules", key, "{} {}"), 400, "invalid_request"},
        {"deep nesting", request("POST", "/api/v1/capsules", key, std::string(100000, '[') + std::string(100000, ']')),
         400, "invalid_request"},
        {"exec: no cmd", request("POST", cap + "/exec", key, "{}"), 400, "invalid_request"},
        {"exec: cmd not a string", request("POST", cap + "/exec", key, R"({"cmd":5})"), 400, "invalid_request"},
        {"exec: args not an array", request("POST", cap + "/exec", key, R"({"cmd":"ls","args":"-l"})"), 400,
         "invalid_request"},
        {"exec: a number in args", request("POST", cap + "/exec", key, R"({"cmd":"ls","args":[1]})"), 400,
         "invalid_request"},
        {"exec: envs not strings", request("POST", cap + "/exec", key, R"({"cmd":"ls","envs":{"A":1}})"), 400,
         "invalid_request"},
        {"exec: background not a bool", request("POST", cap + "/exec", key, R"({"cmd":"ls","background":"yes"})"),
         400, "invalid_request"},
        {"exec: huge timeout", request("POST", cap + "/exec", key, R"({"cmd":"ls","timeout_sec":1e99})"), 400,
         "invalid_request"},
        {"exec: NUL in cmd", request("POST", cap + "/exec", key, R"({"cmd":"l\u0000s"})"), 400, "invalid_request"},
        {"exec: NUL in args", request("POST", cap + "/exec", key, R"({"cmd":"ls","args":["\u0000"]})"), 400,
         "invalid_request"},
        {"snapshot: no sandbox_id", request("POST", "/api/v1/snapshots", key, "{}"), 400, "invalid_request"},
        {"snapshot: bad sandbox_id", request("POST", "/api/v1/snapshots", key, R"({"sandbox_id":"cl-x"})"), 400,
         "invalid_request"},
        {"snapshot: sandbox_id a number", request("POST", "/api/v1/snapshots", key, R"({"sandbox_id":5})"), 400,
         "invalid_request"},
        {"snapshot: bad name", request("POST", "/api/v1/snapshots", key, R"({"sandbox_id":")" + id + R"(","name":"../x"})"),
         400, "invalid_request"},
        {"snapshot delete: bad name", request("DELETE", "/api/v1/snapshots/..%2Fx", key), 400, "invalid_request"},
        {"files: path a number", request("POST", cap + "/files/read", key, R"({"path":5})"), 400, "invalid_request"},
        {"files: no path", request("POST", cap + "/files/list", key, "{}"), 400, "invalid_request"},
        {"files: negative depth", request("POST", cap + "/files/list", key, R"({"path":"/","depth":-1})"), 400,
         "invalid_request"},
        {"files: depth a string", request("POST", cap + "/files/list", key, R"({"path":"/","depth":"1"})"), 400,
         "invalid_request"},
        {"upload: not multipart", request("POST", cap + "/files/write", key, "{}"), 400, "invalid_request"},
        {"upload: no boundary", request("POST", cap + "/files/stream/write", key, "x", "multipart/form-data"), 400,
         "invalid_request"},
        {"upload: broken multipart", request("POST", cap + "/files/write", key, "--" + boundary + "\r\nnope",
                                             multipart_type),
         400, "invalid_request"},
        // ids, routes, methods
        {"bad capsule id", request("GET", "/api/v1/capsules/cl-NOT-AN-ID", key), 400, "invalid_request"},
        {"id over 128 bits", request("GET", "/api/v1/capsules/cl-zzzzzzzzzzzzzzzzzzzzzzzzz", key), 400,
         "invalid_request"},
        {"dot-dot path", request("GET", "/api/v1/capsules/../../etc/passwd", key), 404, "not_found"},
        {"unknown route", request("GET", "/api/v1/nothing-here", key), 404, "not_found"},
        {"wrong method", request("PUT", "/api/v1/capsules", key), 405, "method_not_allowed"},
        {"lower-case method", request("get", "/api/v1/capsules", key), 405, "method_not_allowed"},
        {"WebSocket route without the upgrade", request("GET", cap + "/exec/stream", key), 400, "invalid_request"},
        {"no API key", request("GET", "/api/v1/capsules", ""), 401, "unauthorized"},
        {"wrong API key", request("GET", "/api/v1/capsules", "wrn_nope"), 401, "unauthorized"},
        // query strings
        {"metrics: bad range", request("GET", cap + "/metrics?range=7y", key), 400, "invalid_request"},
        {"stats: bad range", request("GET", "/api/v1/capsules/stats?range=10m", key), 400, "invalid_request"},
        {"usage: bad date", request("GET", "/api/v1/capsules/usage?from=2026-13-01", key), 400, "invalid_request"},
        {"usage: February 30", request("GET", "/api/v1/capsules/usage?to=2026-02-30", key), 400, "invalid_request"},
        // found by fuzz_server_request: years a system_clock time point cannot hold overflowed (UB)
        {"usage: year 1013", request("GET", "/api/v1/capsules/usage?from=2026-01-01&to=1013-02-01", key), 400,
         "invalid_request"},
        {"usage: year 9999", request("GET", "/api/v1/capsules/usage?from=9999-01-01", key), 400, "invalid_request"},
        {"usage: from after to", request("GET", "/api/v1/capsules/usage?from=2026-02-02&to=2026-02-01", key), 400,
         "invalid_request"},
        {"usage: over 366 days", request("GET", "/api/v1/capsules/usage?from=2020-01-01&to=2026-01-01", key), 400,
         "invalid_request"},
        {"query: bad escape", request("GET", cap + "/metrics?range=%zz", key), 400, "invalid_request"},
        {"query: cut escape", request("GET", "/api/v1/capsules?x=%4", key), 400, "invalid_request"},
        {"path: bad escape", request("GET", "/api/v1/capsules/%", key), 400, "invalid_request"},
        // request lines and versions
        {"HTTP/2.0", with_line("GET /api/v1/capsules HTTP/2.0"), 400, "invalid_request"},
        {"HTTP/1.2", with_line("GET /api/v1/capsules HTTP/1.2"), 400, "invalid_request"},
        {"HTTP/0.9 style", "GET /api/v1/capsules\r\n\r\n", 400, "invalid_request"},
        {"HTTP/1.x", with_line("GET /api/v1/capsules HTTP/1.x"), 400, "invalid_request"},
        {"HTTPS/1.1", with_line("GET /api/v1/capsules HTTPS/1.1"), 400, "invalid_request"},
        {"no target", with_line("GET HTTP/1.1"), 400, "invalid_request"},
        {"two spaces", with_line("GET  /api/v1/capsules HTTP/1.1"), 400, "invalid_request"},
        {"bad method token", with_line("G(T /api/v1/capsules HTTP/1.1"), 400, "invalid_request"},
        {"target not a path", with_line("GET api/v1/capsules HTTP/1.1"), 400, "invalid_request"},
        {"target with a control byte", with_line("GET /api/v1/cap\x01sules HTTP/1.1"), 400, "invalid_request"},
        {"bare LF line ends", "GET /api/v1/capsules HTTP/1.1\nHost: x\n\n", 400, "invalid_request"},
        {"header without a colon", with_line("GET /api/v1/capsules HTTP/1.1", "Broken header\r\n"), 400,
         "invalid_request"},
        {"header name with a space", with_line("GET /api/v1/capsules HTTP/1.1", "Bad Name: x\r\n"), 400,
         "invalid_request"},
        {"two Host headers", with_line("GET /api/v1/capsules HTTP/1.1", "Host: y\r\n"), 400, "invalid_request"},
        // framing
        {"chunk size not hex", post("/api/v1/capsules", "Transfer-Encoding: chunked\r\n", "zz\r\n{}\r\n0\r\n\r\n"),
         400, "invalid_request"},
        {"chunk size overflow", post("/api/v1/capsules", "Transfer-Encoding: chunked\r\n",
                                     "ffffffffffffffffffff\r\n{}\r\n0\r\n\r\n"),
         400, "invalid_request"},
        {"chunk without its CRLF", post("/api/v1/capsules", "Transfer-Encoding: chunked\r\n", "2\r\n{}XX0\r\n\r\n"),
         400, "invalid_request"},
        {"bad chunk extension", post("/api/v1/capsules", "Transfer-Encoding: chunked\r\n", "2;=\r\n{}\r\n0\r\n\r\n"),
         400, "invalid_request"},
        {"bad chunk on an upload", "POST " + cap + "/files/stream/write HTTP/1.1\r\nHost: x\r\n" + auth +
                                       "Content-Type: " + multipart_type + "\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
         400, "invalid_request"},
        {"two different Content-Lengths", post("/api/v1/capsules", "Content-Length: 2\r\nContent-Length: 3\r\n", "{}"),
         400, "invalid_request"},
        {"a Content-Length list", post("/api/v1/capsules", "Content-Length: 2, 3\r\n", "{}"), 400, "invalid_request"},
        {"negative Content-Length", post("/api/v1/capsules", "Content-Length: -1\r\n", "{}"), 400, "invalid_request"},
        {"Content-Length not a number", post("/api/v1/capsules", "Content-Length: two\r\n", "{}"), 400,
         "invalid_request"},
        {"Content-Length overflow", post("/api/v1/capsules", "Content-Length: 99999999999999999999999\r\n", "{}"), 400,
         "invalid_request"},
        {"Content-Length and chunked", post("/api/v1/capsules", "Content-Length: 2\r\nTransfer-Encoding: chunked\r\n",
                                            "2\r\n{}\r\n0\r\n\r\n"),
         400, "invalid_request"},
        {"chunked and Content-Length", post("/api/v1/capsules", "Transfer-Encoding: chunked\r\nContent-Length: 2\r\n",
                                            "2\r\n{}\r\n0\r\n\r\n"),
         400, "invalid_request"},
        {"chunked twice", post("/api/v1/capsules", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
                               "2\r\n{}\r\n0\r\n\r\n"),
         400, "invalid_request"},
        {"an unknown transfer coding", post("/api/v1/capsules", "Transfer-Encoding: gzip\r\n", "{}"), 400,
         "invalid_request"},
        {"chunked, then another coding", post("/api/v1/capsules", "Transfer-Encoding: chunked, gzip\r\n", "{}"), 400,
         "invalid_request"},
        // not UTF-8
        {"non-UTF-8 in a JSON string", request("POST", "/api/v1/capsules", key, "{\"template\":\"\xff\xfe\"}"), 400,
         "invalid_request"},
        {"non-UTF-8 in the target", request("GET", "/api/v1/capsules/\xff\xfe", key), 400, "invalid_request"},
        {"non-UTF-8 in the API key", request("GET", "/api/v1/capsules", "\xff\xfe"), 401, "unauthorized"},
        {"non-UTF-8 escaped in a selector (quoted back as U+FFFD)", request("DELETE", cap + "/processes/%ff%fe", key),
         404, "not_found"},
    };
    for (const auto& c : cases) {
        INFO(c.what);
        auto a = parse(raw_exchange(port, c.raw));
        CHECK(a.status == c.status);
        if (!c.code.empty()) CHECK(a.code == c.code);
        CHECK_FALSE(a.message.empty());
    }

    // Garbage that is not HTTP at all: a 400, and the server survives.
    auto garbage = parse(raw_exchange(port, std::string("\x16\x03\x01") + " not http at all\r\n\r\n"));
    CHECK(garbage.status == 400);
    auto nul_bytes = parse(raw_exchange(port, std::string("\0\0\0\0\r\n\r\n", 8)));
    CHECK(nul_bytes.status == 400);

    // Still serving: list answers 200 with an array, and the capsule works.
    auto ok = raw_exchange(port, request("GET", "/api/v1/capsules", key));
    CHECK(status_of(ok) == 200);
    CHECK(ok.find("\r\n\r\n[") != std::string::npos);
    CHECK(sh(port, key, id, "echo alive") == "alive\n");
}
