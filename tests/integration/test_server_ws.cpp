// wrenn-local's WebSocket routes (WIRE.md §7, §8, §9, §11), frame by frame
// with a raw Beast client (tests/support/ws_client.hpp), independent of the
// SDK: exec stream, process stream, PTY, errors, hostile clients, load, fds.
//
// Compiler notes (g++ 12): never co_await inside CHECK/REQUIRE or `?:`, and
// never build an owning temporary (std::string, json) inside a co_await
// expression: name it first.
#include <catch2/catch.hpp>

#include <wrenn/protocol/base64.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "async.hpp"
#include "build_kind.hpp"
#include "local_server.hpp"
#include "ws_client.hpp"

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;
using wrenn_test::http_call;
using wrenn_test::local_server;
using wrenn_test::run_io;
using wrenn_test::describe;
using wrenn_test::events_to_end;
using wrenn_test::messages_of;
using wrenn_test::ws_client;
using wrenn_test::ws_event;
using wrenn_test::ws_options;
using wrenn_test::ws_refused;

namespace {

using client_ptr = std::shared_ptr<ws_client>;

// The next text message (skipping pongs); a non-message event when none comes.
asio::awaitable<ws_event> next_message(ws_client& ws, std::chrono::milliseconds within = 10s) {
    auto deadline = std::chrono::steady_clock::now() + within;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        auto e = co_await ws.next(std::max(left, 0ms));
        if (e.kind != ws_event::pong) co_return e;
    }
}

// Concatenated `data` of the messages of one type (stdout, stderr).
std::string joined(const std::vector<ws_event>& evs, std::string_view type) {
    std::string out;
    for (auto& e : evs)
        if (e.type() == type) {
            auto v = e.json();
            if (auto* d = v.as_object().if_contains("data")) out += std::string(d->as_string());
        }
    return out;
}

std::string data_of(const ws_event& e) {
    auto v = e.json();
    auto* d = v.as_object().if_contains("data");
    return d && d->is_string() ? std::string(d->as_string()) : std::string{};
}

std::int64_t int_of(const ws_event& e, std::string_view key) {
    auto v = e.json();
    auto* d = v.as_object().if_contains(key);
    return d && d->is_int64() ? d->as_int64() : -999;
}

bool is_fatal(const ws_event& e) {
    auto v = e.json();
    auto* f = v.as_object().if_contains("fatal");
    return f && f->is_bool() && f->as_bool();
}

asio::awaitable<client_ptr> open_ws(const local_server& srv, std::string_view id, std::string_view what) {
    std::string path = "/v1/capsules/" + std::string(id) + "/" + std::string(what);
    co_return co_await ws_client::connect(srv, path);
}

asio::awaitable<client_ptr> open_ws_as(const local_server& srv, std::string_view id, std::string_view what,
                                       ws_options opts) {
    std::string path = "/v1/capsules/" + std::string(id) + "/" + std::string(what);
    co_return co_await ws_client::connect(srv, path, std::move(opts));
}

asio::awaitable<void> send(ws_client& ws, json::value v) { co_await ws.send_json(std::move(v)); }

asio::awaitable<void> send_start(ws_client& ws, std::string_view cmd, std::vector<std::string> args) {
    json::array a;
    for (auto& s : args) a.emplace_back(s);
    json::value m = {{"type", "start"}, {"cmd", cmd}, {"args", std::move(a)}};
    co_await ws.send_json(std::move(m));
}

asio::awaitable<void> send_sh(ws_client& ws, std::string_view script) {
    std::vector<std::string> args{"-c", std::string(script)};
    co_await send_start(ws, "/bin/sh", std::move(args));
}

// A foreground command through HTTP exec; its exit code.
asio::awaitable<int> exec_code(const local_server& srv, const std::string& id, std::string_view script) {
    json::value body = {{"cmd", "/bin/sh"}, {"args", json::array{"-c", script}}};
    std::string path = "/v1/capsules/" + id + "/exec", text = json::serialize(body);
    auto r = co_await http_call(srv, "POST", path, text);
    if (r.status != 200) co_return -1000 - static_cast<int>(r.status);
    co_return static_cast<int>(r.json().at("exit_code").as_int64());
}

// A background command: its pid.
asio::awaitable<std::int64_t> exec_background(const local_server& srv, const std::string& id, std::string_view script,
                                              std::string_view tag) {
    json::value body = {{"cmd", "/bin/sh"}, {"args", json::array{"-c", script}}, {"background", true}, {"tag", tag}};
    std::string path = "/v1/capsules/" + id + "/exec", text = json::serialize(body);
    auto r = co_await http_call(srv, "POST", path, text);
    if (r.status != 202) throw std::runtime_error("background exec: " + r.body);
    co_return r.json().at("pid").as_int64();
}

asio::awaitable<json::array> process_list(const local_server& srv, const std::string& id) {
    std::string path = "/v1/capsules/" + id + "/processes";
    auto r = co_await http_call(srv, "GET", path);
    if (r.status != 200) throw std::runtime_error("process list: " + r.body);
    co_return r.json().at("processes").as_array();
}

bool listed(const json::array& ps, std::int64_t pid, std::string_view tag = {}) {
    return std::any_of(ps.begin(), ps.end(), [&](const json::value& p) {
        auto& o = p.as_object();
        if (pid != 0 && o.at("pid").as_int64() != pid) return false;
        if (!tag.empty()) return o.contains("tag") && o.at("tag").as_string() == tag;
        return true;
    });
}

// PTY helpers: input as base64, output decoded.
asio::awaitable<void> pty_input(ws_client& ws, std::string_view keys) {
    json::value m = {{"type", "input"}, {"data", wrenn::protocol::base64_encode(keys)}};
    co_await ws.send_json(std::move(m));
}

// Reads PTY events until the decoded output contains `needle` (or 15 s pass);
// returns all output read; `types` collects the message types seen.
asio::awaitable<std::string> pty_until(ws_client& ws, std::string_view needle, std::vector<std::string>* types = nullptr,
                                       std::chrono::milliseconds within = 15s) {
    auto deadline = std::chrono::steady_clock::now() + within;
    std::string out;
    while (out.find(needle) == std::string::npos) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        auto e = co_await next_message(ws, left);
        if (e.kind != ws_event::text) break;
        if (types) types->push_back(e.type());
        if (e.type() == "output") out += wrenn::protocol::base64_decode(data_of(e)).value_or("<bad base64>");
    }
    co_return out;
}

std::size_t fd_count(pid_t pid) {
    std::size_t n = 0;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
        ++n;
    return n;
}

const ws_options no_key;  // no credentials in the upgrade request

constexpr std::string_view fffd = "\xEF\xBF\xBD";

} // namespace

TEST_CASE("ws exec stream: start, stdout/stderr, exit, then the TCP connection ends without a close frame",
          "[server][ws]") {
    auto tls = GENERATE(false, true);
    CAPTURE(tls);
    local_server srv({.tls = tls});
    run_io([&]() -> asio::awaitable<void> {
        auto id = co_await wrenn_test::create_capsule(srv);
        auto ws = co_await open_ws(srv, id, "exec/stream");
        co_await send_sh(*ws, "echo out1; echo err1 >&2; echo out2; echo '<&>'; exit 3");
        auto evs = co_await events_to_end(*ws);
        INFO(describe(evs));
        auto msgs = messages_of(evs);
        REQUIRE(msgs.size() >= 3);
        CHECK(msgs.front().type() == "start");
        CHECK(int_of(msgs.front(), "pid") > 0);
        CHECK(msgs.back().type() == "exit");
        CHECK(int_of(msgs.back(), "exit_code") == 3);
        for (auto& m : msgs) {
            CHECK(m.kind == ws_event::text);           // text frames only
            CHECK(m.data.back() == '\n');              // one JSON object + "\n"
            CHECK(m.data.find('<') == std::string::npos);  // Go-style escaping of <, >, &
        }
        CHECK(joined(evs, "stdout") == "out1\nout2\n<&>\n");
        CHECK(joined(evs, "stderr") == "err1\n");
        // No close frame from the server: the connection just ends.
        CHECK(evs.back().kind == ws_event::eof);

        // Finished: no longer listed. A process of a live stream is listed without a tag.
        auto ps = co_await process_list(srv, id);
        CHECK_FALSE(listed(ps, int_of(msgs.front(), "pid")));
        auto ws2 = co_await open_ws(srv, id, "exec/stream");
        co_await send_sh(*ws2, "echo ready; exec sleep 300");
        auto start = co_await next_message(*ws2);
        REQUIRE(start.type() == "start");
        auto pid = int_of(start, "pid");
        ps = co_await process_list(srv, id);
        CHECK(listed(ps, pid));
        for (auto& p : ps)
            if (p.as_object().at("pid").as_int64() == pid) {
                CHECK_FALSE(p.as_object().contains("tag"));
                CHECK(p.as_object().at("cmd").as_string() == "/bin/sh");
            }
        // A client ping is answered while the stream runs.
        co_await ws2->ping("are-you-there");
        ws_event pong;
        for (int i = 0; i < 10 && pong.kind != ws_event::pong; ++i) pong = co_await ws2->next(5s);
        CHECK(pong.kind == ws_event::pong);
        CHECK(pong.data == "are-you-there");
        // Destroying the capsule ends the stream: exit -1, then EOF.
        std::string cap = "/v1/capsules/" + id;
        auto del = co_await http_call(srv, "DELETE", cap);
        CHECK(del.status == 204);
        auto rest = co_await events_to_end(*ws2);
        INFO(describe(rest));
        auto tail = messages_of(rest);
        REQUIRE_FALSE(tail.empty());
        CHECK(tail.back().type() == "exit");
        CHECK(int_of(tail.back(), "exit_code") == -1);
        CHECK(rest.back().kind == ws_event::eof);
    });
}

TEST_CASE("ws exec stream: invalid UTF-8 becomes U+FFFD, also a character split across two chunks", "[server][ws]") {
    local_server srv;
    run_io([&]() -> asio::awaitable<void> {
        auto id = co_await wrenn_test::create_capsule(srv);
        auto ws = co_await open_ws(srv, id, "exec/stream");
        // "€" is E2 82 AC: its first two bytes in one chunk, the last in the next.
        co_await send_sh(*ws, "printf 'a\\377b\\n'; printf '\\342\\202'; sleep 0.3; printf '\\254\\n'; printf 'ok \\342\\202\\254\\n'");
        auto evs = co_await events_to_end(*ws);
        INFO(describe(evs));
        std::string want = "a" + std::string(fffd) + "b\n" + std::string(fffd) + std::string(fffd) + std::string(fffd) +
                           "\nok \xE2\x82\xAC\n";
        CHECK(joined(evs, "stdout") == want);
        auto msgs = messages_of(evs);
        REQUIRE_FALSE(msgs.empty());
        CHECK(int_of(msgs.back(), "exit_code") == 0);
    });
}

TEST_CASE("ws exec stream: stop ends the stream, the process keeps running until killed", "[server][ws]") {
    auto tls = GENERATE(false, true);
    CAPTURE(tls);
    local_server srv({.tls = tls});
    run_io([&]() -> asio::awaitable<void> {
        auto id = co_await wrenn_test::create_capsule(srv);
        auto ws = co_await open_ws(srv, id, "exec/stream");
        co_await send_sh(*ws, "echo ready; exec sleep 300");
        auto start = co_await next_message(*ws);
        REQUIRE(start.type() == "start");
        auto pid = int_of(start, "pid");
        auto ready = co_await next_message(*ws);
        CHECK(data_of(ready) == "ready\n");
        json::value stop = {{"type", "stop"}};
        co_await send(*ws, stop);
        auto evs = co_await events_to_end(*ws);
        INFO(describe(evs));
        CHECK(messages_of(evs).empty());  // no exit: the process was not stopped
        CHECK(evs.back().kind == ws_event::eof);

        auto ps = co_await process_list(srv, id);
        CHECK(listed(ps, pid));
        std::string kill = "/v1/capsules/" + id + "/processes/" + std::to_string(pid);
        auto k = co_await http_call(srv, "DELETE", kill);
        CHECK(k.status == 204);
        bool gone = co_await wrenn_test::eventually([&]() -> asio::awaitable<bool> {
            auto now = co_await process_list(srv, id);
            co_return !listed(now, pid);
        });
        CHECK(gone);
    });
}

TEST_CASE("ws errors: 400 before the upgrade for a bad id, everything else in-band", "[server][ws]") {
    auto tls = GENERATE(false, true);
    CAPTURE(tls);
    local_server srv({.tls = tls});
    run_io([&]() -> asio::awaitable<void> {
        auto id = co_await wrenn_test::create_capsule(srv);

        for (std::string what : {"exec/stream", "pty", "processes/12/stream"}) {
            INFO(what);
            unsigned status = 0;
            std::string body;
            try {
                auto ws = co_await open_ws(srv, "cl-NOT-AN-ID", what);
            } catch (const ws_refused& r) {
                status = r.status;
                body = r.body;
            }
            CHECK(status == 400);
            CHECK(body == "{\"error\":{\"code\":\"invalid_request\",\"message\":\"invalid sandbox ID\"}}\n");
        }

        // Authentication: a wrong or missing key upgrades, then fails in-band.
        {
            ws_options wrong;
            wrong.api_key = "wrn_wrong";
            auto ws = co_await open_ws_as(srv, id, "exec/stream", wrong);
            co_await send_sh(*ws, "echo never");
            auto evs = co_await events_to_end(*ws);
            INFO(describe(evs));
            auto msgs = messages_of(evs);
            REQUIRE(msgs.size() == 1);
            CHECK(msgs[0].data == "{\"type\":\"error\",\"data\":\"authentication failed\"}\n");
            CHECK(evs.back().kind == ws_event::eof);
        }
        {
            auto ws = co_await open_ws_as(srv, id, "pty", no_key);
            json::value start = {{"type", "start"}};
            co_await send(*ws, start);
            auto e = co_await next_message(*ws);
            CHECK(e.type() == "error");
            CHECK(data_of(e) == "authentication failed");
            CHECK(is_fatal(e));
        }
        // ... in-band auth with the key as the token, and a Bearer header, work.
        {
            auto ws = co_await open_ws_as(srv, id, "exec/stream", no_key);
            json::value auth = {{"type", "auth"}, {"token", srv.api_key()}};
            co_await send(*ws, auth);
            co_await send_sh(*ws, "echo in-band");
            auto evs = co_await events_to_end(*ws);
            INFO(describe(evs));
            CHECK(joined(evs, "stdout") == "in-band\n");
            ws_options bearer;
            bearer.bearer = srv.api_key();
            auto ws2 = co_await open_ws_as(srv, id, "exec/stream", bearer);
            co_await send_sh(*ws2, "echo bearer");
            auto evs2 = co_await events_to_end(*ws2);
            CHECK(joined(evs2, "stdout") == "bearer\n");
        }
        // Nothing sent: the 5 s auth window closes.
        {
            auto ws = co_await open_ws_as(srv, id, "exec/stream", no_key);
            auto t0 = std::chrono::steady_clock::now();
            auto e = co_await next_message(*ws, 10s);
            CHECK(data_of(e) == "authentication failed");
            CHECK(std::chrono::steady_clock::now() - t0 >= 4500ms);
        }

        // Unknown capsule; a paused one.
        std::string ghost = "cl-0000000000000000000000000";
        for (std::string what : {"exec/stream", "pty", "processes/1/stream"}) {
            INFO(what);
            auto ws = co_await open_ws(srv, ghost, what);
            auto evs = co_await events_to_end(*ws);
            INFO(describe(evs));
            auto msgs = messages_of(evs);
            REQUIRE(msgs.size() == 1);
            CHECK(data_of(msgs[0]) == "sandbox not found");
            CHECK(is_fatal(msgs[0]) == (what == "pty"));
        }
        auto paused_id = co_await wrenn_test::create_capsule(srv);
        std::string pause = "/v1/capsules/" + paused_id + "/pause";
        auto p = co_await http_call(srv, "POST", pause);
        REQUIRE(p.status == 200);
        for (std::string what : {"exec/stream", "pty", "processes/1/stream"}) {
            INFO(what);
            auto ws = co_await open_ws(srv, paused_id, what);
            auto evs = co_await events_to_end(*ws);
            INFO(describe(evs));
            auto msgs = messages_of(evs);
            REQUIRE(msgs.size() == 1);
            CHECK(data_of(msgs[0]) == "sandbox is not running (status: paused)");
            CHECK(is_fatal(msgs[0]) == (what == "pty"));
            CHECK(evs.back().kind == ws_event::eof);
        }

        // Bad first messages on the exec stream.
        struct bad_first {
            std::string text, error_prefix;
        };
        const bad_first cases[] = {
            {"not json at all", "failed to read start message: "},
            {"{\"type\":\"start\",\"cmd\":5}", "failed to read start message: "},
            {"[1,2]", "failed to read start message: "},
            {"{\"type\":\"start\"}", "first message must be type 'start' with a 'cmd' field"},
            {"{\"type\":\"run\",\"cmd\":\"echo\"}", "first message must be type 'start' with a 'cmd' field"},
        };
        for (auto& c : cases) {
            INFO(c.text);
            auto ws = co_await open_ws(srv, id, "exec/stream");
            co_await ws->send_text(c.text);
            auto evs = co_await events_to_end(*ws);
            INFO(describe(evs));
            auto msgs = messages_of(evs);
            REQUIRE(msgs.size() == 1);
            CHECK(msgs[0].type() == "error");
            CHECK(data_of(msgs[0]).rfind(c.error_prefix, 0) == 0);
            CHECK(evs.back().kind == ws_event::eof);
        }
        // A binary frame holding the start message works too.
        {
            auto ws = co_await open_ws(srv, id, "exec/stream");
            std::string start = R"({"type":"start","cmd":"echo","args":["binary","frame"]})";
            co_await ws->send_binary(start);
            auto evs = co_await events_to_end(*ws);
            CHECK(joined(evs, "stdout") == "binary frame\n");
        }
    }, std::chrono::seconds(90));
}

TEST_CASE("ws process stream: attach by tag and by pid, only new output, several attachers", "[server][ws]") {
    auto tls = GENERATE(false, true);
    CAPTURE(tls);
    local_server srv({.tls = tls});
    run_io([&]() -> asio::awaitable<void> {
        auto id = co_await wrenn_test::create_capsule(srv);
        auto pid = co_await exec_background(
            srv, id,
            "echo early; touch /tmp/printed; "
            "while [ ! -e /tmp/go ]; do sleep 0.05; done; echo late; "
            "while [ ! -e /tmp/go2 ]; do sleep 0.05; done; echo bye >&2; exit 7",
            "ticker");
        bool printed = co_await wrenn_test::eventually([&]() -> asio::awaitable<bool> {
            int rc = co_await exec_code(srv, id, "test -e /tmp/printed");
            co_return rc == 0;
        });
        REQUIRE(printed);

        auto by_tag = co_await open_ws(srv, id, "processes/ticker/stream");
        std::string by_pid_path = "processes/" + std::to_string(pid) + "/stream";
        auto by_pid = co_await open_ws(srv, id, by_pid_path);
        auto by_tag2 = co_await open_ws(srv, id, "processes/ticker/stream");
        std::vector<client_ptr> all{by_tag, by_pid, by_tag2};
        for (auto& ws : all) {
            auto start = co_await next_message(*ws);
            CHECK(start.type() == "start");
            CHECK(int_of(start, "pid") == pid);
        }
        // A client message is read and dropped.
        co_await by_tag2->send_text("{\"type\":\"ping\"}");
        int go = co_await exec_code(srv, id, "touch /tmp/go");
        CHECK(go == 0);
        int go2 = co_await exec_code(srv, id, "touch /tmp/go2");
        CHECK(go2 == 0);
        for (auto& ws : all) {
            auto evs = co_await events_to_end(*ws);
            INFO(describe(evs));
            CHECK(joined(evs, "stdout") == "late\n");  // not "early": no replay
            CHECK(joined(evs, "stderr") == "bye\n");
            auto msgs = messages_of(evs);
            REQUIRE_FALSE(msgs.empty());
            CHECK(msgs.back().type() == "exit");
            CHECK(int_of(msgs.back(), "exit_code") == 7);
            CHECK(evs.back().kind == ws_event::eof);
        }

        // Exited, unknown tag, unknown pid: closed without any message.
        for (std::string what : {std::string("processes/ticker/stream"), by_pid_path, std::string("processes/nope/stream"),
                                 std::string("processes/4000000/stream")}) {
            INFO(what);
            auto ws = co_await open_ws(srv, id, what);
            auto evs = co_await events_to_end(*ws);
            INFO(describe(evs));
            CHECK(messages_of(evs).empty());
            CHECK(evs.back().kind == ws_event::eof);
        }

        // The client leaving does not stop the process.
        auto pid2 = co_await exec_background(srv, id, "while :; do echo tick; sleep 0.05; done", "forever");
        {
            auto ws = co_await open_ws(srv, id, "processes/forever/stream");
            auto start = co_await next_message(*ws);
            CHECK(start.type() == "start");
            auto tick = co_await next_message(*ws);
            CHECK(tick.type() == "stdout");
            co_await ws->send_close(1000);
        }
        auto ps = co_await process_list(srv, id);
        CHECK(listed(ps, pid2, "forever"));
        std::string kill = "/v1/capsules/" + id + "/processes/forever";
        auto k = co_await http_call(srv, "DELETE", kill);
        CHECK(k.status == 204);
    });
}

TEST_CASE("ws PTY: started, real tty, resize, input, reconnect by tag, kill, open until the client closes",
          "[server][ws][pty]") {
    auto tls = GENERATE(false, true);
    CAPTURE(tls);
    local_server srv({.tls = tls});
    run_io([&]() -> asio::awaitable<void> {
        auto id = co_await wrenn_test::create_capsule(srv);
        auto ws = co_await open_ws(srv, id, "pty");
        json::value start = {{"type", "start"},
                             {"cmd", "/bin/bash"},
                             {"args", json::array{"--norc", "--noprofile"}},
                             {"cols", 80},
                             {"rows", 24},
                             {"envs", {{"TERM", "dumb"}, {"PS1", "$ "}}},
                             {"user", "ignored"}};
        co_await send(*ws, start);
        auto started = co_await next_message(*ws);
        INFO(started.describe());
        REQUIRE(started.type() == "started");
        auto sj = started.json();
        std::string tag(sj.at("tag").as_string());
        auto pid = sj.at("pid").as_int64();
        CHECK(tag.size() == 12);
        CHECK(tag.rfind("pty-", 0) == 0);
        CHECK(tag.find_first_not_of("0123456789abcdef", 4) == std::string::npos);
        CHECK(pid > 0);

        co_await pty_input(*ws, "stty size; echo TERM=$TERM\n");
        auto out = co_await pty_until(*ws, "TERM=dumb");
        CHECK(out.find("24 80") != std::string::npos);
        json::value resize = {{"type", "resize"}, {"cols", 100}, {"rows", 33}};
        co_await send(*ws, resize);
        json::value bad_resize = {{"type", "resize"}, {"cols", 0}, {"rows", 5}};  // ignored
        co_await send(*ws, bad_resize);
        co_await ws->send_text("not json");                                    // ignored
        json::value bad_input = {{"type", "input"}, {"data", "%%%not base64"}};  // dropped
        co_await send(*ws, bad_input);
        co_await pty_input(*ws, "stty size\n");
        out = co_await pty_until(*ws, "33 100");
        CHECK(out.find("33 100") != std::string::npos);
        // A real terminal inside the capsule: `tty` names a path that exists there.
        co_await pty_input(*ws, "t=$(tty); test -c \"$t\" && echo \"is-tty-$((20+1)) $t\"\n");
        out = co_await pty_until(*ws, "is-tty-21 /dev/pts/");
        CHECK(out.find("is-tty-21 /dev/pts/") != std::string::npos);

        auto ps = co_await process_list(srv, id);
        CHECK(listed(ps, pid, tag));

        // Disconnect without kill: the PTY lives on; connect by tag re-attaches.
        ws->abort();
        ws.reset();
        auto again = co_await open_ws(srv, id, "pty");
        json::value connect = {{"type", "connect"}, {"tag", tag}};
        co_await send(*again, connect);
        co_await pty_input(*again, "echo again-$((40+2))\n");
        std::vector<std::string> types;
        out = co_await pty_until(*again, "again-42", &types);
        CHECK(out.find("again-42") != std::string::npos);
        CHECK(std::find(types.begin(), types.end(), "started") == types.end());  // never for connect

        json::value kill = {{"type", "kill"}};
        co_await send(*again, kill);
        ws_event ended;
        for (int i = 0; i < 50; ++i) {
            ended = co_await next_message(*again);
            if (ended.kind != ws_event::text || ended.type() == "exit") break;
        }
        INFO(ended.describe());
        CHECK(ended.type() == "exit");
        CHECK(int_of(ended, "exit_code") == -1);
        // After the exit: nothing more, but the socket stays open until we close.
        auto quiet = co_await again->next(700ms);
        CHECK(quiet.kind == ws_event::timeout);
        co_await again->send_close(1000);
        auto closed = co_await again->next(5s);
        CHECK(closed.kind == ws_event::close_frame);  // the server answered our close frame
        CHECK(closed.close_code == 1000);

        bool gone = co_await wrenn_test::eventually([&]() -> asio::awaitable<bool> {
            auto now = co_await process_list(srv, id);
            co_return !listed(now, pid);
        });
        CHECK(gone);

        // An interactive dash that exits by itself: its exit code (dash exits 2
        // when it cannot hand the terminal back to its original process group,
        // which happens unless the terminal's session is inside the capsule).
        auto ws3 = co_await open_ws(srv, id, "pty");
        json::value sh = {{"type", "start"}, {"cmd", "/bin/sh"}};
        co_await send(*ws3, sh);
        co_await pty_input(*ws3, "sleep 100 & echo job-$((2+2)); jobs; kill %1; echo fin-$((3+3)); exit 4\n");
        out = co_await pty_until(*ws3, "fin-6");
        CHECK(out.find("job-4") != std::string::npos);
        CHECK(out.find("Cannot set tty process group") == std::string::npos);
        ws_event exit3;
        for (int i = 0; i < 50; ++i) {
            exit3 = co_await next_message(*ws3);
            if (exit3.kind != ws_event::text || exit3.type() == "exit") break;
        }
        CHECK(int_of(exit3, "exit_code") == 4);

        // Destroying the capsule ends a PTY like any process: exit -1, socket still open.
        auto ws4 = co_await open_ws(srv, id, "pty");
        json::value sh4 = {{"type", "start"}, {"cmd", "/bin/sh"}};
        co_await send(*ws4, sh4);
        auto started4 = co_await next_message(*ws4);
        REQUIRE(started4.type() == "started");
        std::string cap = "/v1/capsules/" + id;
        auto del = co_await http_call(srv, "DELETE", cap);
        CHECK(del.status == 204);
        ws_event exit4;
        for (int i = 0; i < 50; ++i) {
            exit4 = co_await next_message(*ws4);
            if (exit4.kind != ws_event::text || exit4.type() == "exit") break;
        }
        CHECK(exit4.type() == "exit");
        CHECK(int_of(exit4, "exit_code") == -1);
        auto open4 = co_await ws4->next(300ms);
        CHECK(open4.kind == ws_event::timeout);
    });
}

TEST_CASE("ws PTY: connect to an unknown tag, pings, fatal first messages", "[server][ws][pty]") {
    local_server srv({.extra_args = {"--pty-ping-interval-ms", "150"}});
    run_io([&]() -> asio::awaitable<void> {
        auto id = co_await wrenn_test::create_capsule(srv);
        {
            auto ws = co_await open_ws(srv, id, "pty");
            json::value connect = {{"type", "connect"}, {"tag", "pty-00000000"}};
            co_await send(*ws, connect);
            auto e = co_await ws->next(1s);
            CHECK(e.kind == ws_event::timeout);  // nothing at all, and still open
            co_await ws->send_close(1001);
            auto closed = co_await ws->next(5s);
            CHECK(closed.kind == ws_event::close_frame);
            CHECK(closed.close_code == 1001);
        }
        {
            auto ws = co_await open_ws(srv, id, "pty");
            json::value start = {{"type", "start"}, {"cmd", "/bin/sh"}};
            co_await send(*ws, start);
            auto started = co_await next_message(*ws);
            REQUIRE(started.type() == "started");
            int pings = 0;
            for (int i = 0; i < 100 && pings < 3; ++i) {
                auto e = co_await next_message(*ws, 5s);
                if (e.kind != ws_event::text) break;
                if (e.type() == "ping") {
                    ++pings;
                    CHECK(e.data == "{\"type\":\"ping\"}\n");
                }
            }
            CHECK(pings == 3);
            json::value kill = {{"type", "kill"}};
            co_await send(*ws, kill);
            ws_event ended;
            for (int i = 0; i < 100; ++i) {
                ended = co_await next_message(*ws);
                if (ended.kind != ws_event::text || ended.type() == "exit") break;
            }
            CHECK(ended.type() == "exit");
            auto quiet = co_await ws->next(600ms);  // no pings after the exit
            CHECK(quiet.kind == ws_event::timeout);
        }
        struct bad_first {
            std::string text, error;
        };
        const bad_first cases[] = {
            {"garbage", "failed to read first message: "},
            {"{\"type\":\"start\",\"cols\":-1}", "failed to read first message: "},
            {"{\"type\":\"hello\"}", "first message must be type 'start' or 'connect'"},
            {"{}", "first message must be type 'start' or 'connect'"},
            {"{\"type\":\"connect\"}", "connect requires a 'tag' field"},
        };
        for (auto& c : cases) {
            INFO(c.text);
            auto ws = co_await open_ws(srv, id, "pty");
            co_await ws->send_text(c.text);
            auto evs = co_await events_to_end(*ws);
            INFO(describe(evs));
            auto msgs = messages_of(evs);
            REQUIRE(msgs.size() == 1);
            CHECK(msgs[0].type() == "error");
            CHECK(is_fatal(msgs[0]));
            CHECK(data_of(msgs[0]).rfind(c.error, 0) == 0);
            CHECK(evs.back().kind == ws_event::eof);
        }
    });
}

TEST_CASE("ws robustness: garbage frames, huge messages, abrupt disconnects leave the server serving",
          "[server][ws]") {
    auto tls = GENERATE(false, true);
    CAPTURE(tls);
    local_server srv({.tls = tls});
    run_io([&]() -> asio::awaitable<void> {
        auto id = co_await wrenn_test::create_capsule(srv);
        // Not WebSocket framing at all (unmasked, reserved opcode, bad lengths).
        {
            auto ws = co_await open_ws(srv, id, "exec/stream");
            static const char raw[] = "\x8F\x7F\xff\xff\xff\xff\xff\xff\xff\xff garbage \x00\x01\x02";
            std::string junk(raw, sizeof raw - 1);
            co_await ws->send_raw(junk);
            auto evs = co_await events_to_end(*ws);
            INFO(describe(evs));
            CHECK(messages_of(evs).empty());
            CHECK(evs.back().final());
        }
        // A message over the 1 MiB limit.
        {
            auto ws = co_await open_ws(srv, id, "pty");
            std::string huge(2 * 1024 * 1024, 'x');
            try {
                co_await ws->send_text(huge);
            } catch (const std::system_error&) {
                // the server may drop the connection before it has all of it
            }
            auto evs = co_await events_to_end(*ws);
            INFO(describe(evs));
            CHECK(messages_of(evs).empty());
            CHECK(evs.back().final());
        }
        // Lots of output, and the client vanishes mid-stream.
        {
            auto ws = co_await open_ws(srv, id, "exec/stream");
            co_await send_sh(*ws, "seq 1 2000000");
            auto start = co_await next_message(*ws);
            CHECK(start.type() == "start");
            auto first = co_await next_message(*ws);
            CHECK(first.type() == "stdout");
            ws->abort();
        }
        // A PTY whose client vanishes while typing.
        {
            auto ws = co_await open_ws(srv, id, "pty");
            json::value start = {{"type", "start"}, {"cmd", "/bin/sh"}};
            co_await send(*ws, start);
            for (int i = 0; i < 20; ++i) co_await pty_input(*ws, "echo hello\n");
            ws->abort();
        }
        // A client that connects and leaves before saying anything.
        {
            auto ws = co_await open_ws(srv, id, "exec/stream");
            ws->abort();
        }
        // Still serving.
        auto ws = co_await open_ws(srv, id, "exec/stream");
        co_await send_sh(*ws, "echo alive");
        auto evs = co_await events_to_end(*ws);
        INFO(describe(evs));
        CHECK(joined(evs, "stdout") == "alive\n");
    });
}

TEST_CASE("ws slow client: more than 16 MiB unread ends the stream with an error, the program never blocks",
          "[server][ws]") {
    local_server srv;
    run_io([&]() -> asio::awaitable<void> {
        auto id = co_await wrenn_test::create_capsule(srv);
        auto ws = co_await open_ws(srv, id, "exec/stream");
        co_await send_sh(*ws, "yes | head -c 100000000");
        auto start = co_await next_message(*ws);
        REQUIRE(start.type() == "start");
        auto pid = int_of(start, "pid");
        ws->hold();
        // The program writes its 100 MB although nobody reads them.
        bool done = co_await wrenn_test::eventually([&]() -> asio::awaitable<bool> {
            auto ps = co_await process_list(srv, id);
            co_return !listed(ps, pid);
        });
        CHECK(done);
        ws->release();
        auto evs = co_await events_to_end(*ws, 60s);
        auto msgs = messages_of(evs);
        REQUIRE(msgs.size() >= 2);
        INFO(msgs.back().describe());
        CHECK(msgs.back().type() == "error");
        CHECK(data_of(msgs.back()) == "the client does not read fast enough: stream closed");
        auto out = joined(evs, "stdout");
        CHECK(out.size() > 1000000);
        CHECK(out.size() < 100000000);
        CHECK(out.substr(0, 6) == "y\ny\ny\n");
        CHECK(evs.back().kind == ws_event::eof);
    });
}

TEST_CASE("ws load: 1000 concurrent exec streams (a quarter under sanitizers)", "[server][ws][load]") {
    local_server srv;
    run_io([&]() -> asio::awaitable<void> {
        auto id = co_await wrenn_test::create_capsule(srv);
        auto ex = co_await asio::this_coro::executor;
        constexpr int n = 1000 / wrenn_test::load_divisor;
        int done = 0, ok = 0;
        std::vector<std::string> failures;
        asio::steady_timer all_done(ex, std::chrono::steady_clock::time_point::max());
        for (int i = 0; i < n; ++i) {
            auto one = [&, i]() -> asio::awaitable<void> {
                auto ws = co_await open_ws(srv, id, "exec/stream");
                std::vector<std::string> args{std::to_string(i)};
                co_await send_start(*ws, "echo", std::move(args));
                auto evs = co_await events_to_end(*ws, 90s);
                auto msgs = messages_of(evs);
                bool good = msgs.size() >= 2 && msgs.front().type() == "start" && msgs.back().type() == "exit" &&
                            int_of(msgs.back(), "exit_code") == 0 && joined(evs, "stdout") == std::to_string(i) + "\n" &&
                            evs.back().kind == ws_event::eof;
                if (good) ++ok;
                else if (failures.size() < 5) failures.push_back(describe(evs));
            };
            asio::co_spawn(ex, one, [&](std::exception_ptr e) {
                if (e && failures.size() < 5) {
                    try {
                        std::rethrow_exception(e);
                    } catch (const std::exception& x) {
                        failures.push_back(x.what());
                    }
                }
                if (++done == n) all_done.cancel();
            });
        }
        (void)co_await all_done.async_wait(asio::as_tuple(asio::use_awaitable));
        std::string why;
        for (auto& f : failures) why += f + "\n";
        INFO(why);
        CHECK(ok == n);
        CHECK(failures.empty());
        // And the server is still fine.
        auto ws = co_await open_ws(srv, id, "exec/stream");
        co_await send_sh(*ws, "echo after");
        auto evs = co_await events_to_end(*ws);
        CHECK(joined(evs, "stdout") == "after\n");
    }, std::chrono::seconds(110));
}

TEST_CASE("ws resources: the server's fd count returns to its baseline after 200 streams (a quarter under sanitizers)",
          "[server][ws][load]") {
    auto tls = GENERATE(false, true);
    CAPTURE(tls);
    local_server srv({.tls = tls});
    run_io([&]() -> asio::awaitable<void> {
        auto id = co_await wrenn_test::create_capsule(srv);
        auto bg = co_await exec_background(srv, id, "exec sleep 600", "sleeper");
        {  // warm up (the capsule's namespace holder, TLS session state)
            auto ws = co_await open_ws(srv, id, "exec/stream");
            co_await send_sh(*ws, "true");
            co_await events_to_end(*ws);
        }
        const auto baseline = fd_count(srv.pid());
        REQUIRE(baseline > 0);
        auto ex = co_await asio::this_coro::executor;
        int done = 0;
        constexpr int n = 200 / wrenn_test::load_divisor;
        asio::steady_timer all_done(ex, std::chrono::steady_clock::time_point::max());
        std::string bg_path = "processes/" + std::to_string(bg) + "/stream";
        for (int i = 0; i < n; ++i) {
            auto one = [&, i]() -> asio::awaitable<void> {
                switch (i % 5) {
                case 0: {  // a whole exec stream
                    auto ws = co_await open_ws(srv, id, "exec/stream");
                    co_await send_sh(*ws, "echo hi; echo ho >&2");
                    co_await events_to_end(*ws);
                    break;
                }
                case 1: {  // attach and leave with a close frame
                    auto ws = co_await open_ws(srv, id, bg_path);
                    co_await next_message(*ws);
                    co_await ws->send_close(1000);
                    co_await events_to_end(*ws, 5s);
                    break;
                }
                case 2: {  // a PTY, killed
                    auto ws = co_await open_ws(srv, id, "pty");
                    json::value start = {{"type", "start"}, {"cmd", "/bin/sh"}};
                    co_await send(*ws, start);
                    co_await next_message(*ws);
                    json::value kill = {{"type", "kill"}};
                    co_await send(*ws, kill);
                    for (int k = 0; k < 20; ++k) {
                        auto e = co_await next_message(*ws);
                        if (e.kind != ws_event::text || e.type() == "exit") break;
                    }
                    co_await ws->send_close(1000);
                    co_await events_to_end(*ws, 5s);
                    break;
                }
                case 3: {  // stop, then the process ends by itself
                    auto ws = co_await open_ws(srv, id, "exec/stream");
                    co_await send_sh(*ws, "sleep 0.2");
                    co_await next_message(*ws);
                    json::value stop = {{"type", "stop"}};
                    co_await send(*ws, stop);
                    co_await events_to_end(*ws);
                    break;
                }
                default: {  // abrupt disconnect mid-stream; a failed auth
                    auto ws = co_await open_ws(srv, id, "exec/stream");
                    co_await send_sh(*ws, "echo x; sleep 0.1");
                    co_await next_message(*ws);
                    ws->abort();
                    auto bad = co_await open_ws_as(srv, id, "exec/stream", no_key);
                    json::value nope = {{"type", "auth"}, {"token", "nope"}};
                    co_await send(*bad, nope);
                    co_await events_to_end(*bad);
                    break;
                }
                }
            };
            asio::co_spawn(ex, one, [&](std::exception_ptr) {
                if (++done == n) all_done.cancel();
            });
        }
        (void)co_await all_done.async_wait(asio::as_tuple(asio::use_awaitable));
        std::size_t now = 0;
        bool back = co_await wrenn_test::eventually([&]() -> asio::awaitable<bool> {
            now = fd_count(srv.pid());
            co_return now <= baseline;
        });
        INFO("baseline " << baseline << ", now " << now);
        CHECK(back);
    }, std::chrono::seconds(110));
}
