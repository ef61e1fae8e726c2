// The fault-injection suite: one misbehaving server per case, on loopback.
// Every case must end before a deadline (no hang) with the right typed
// error, leave the client's pool healthy and the process's descriptors as
// they were (no leak), and send the request only as often as the retry rules
// allow (no forbidden retry: a command start is never replayed).
#include <catch2/catch.hpp>

#include <wrenn/impl/client_impl.hpp>
#include <wrenn/wrenn.hpp>
#include <wrenn/protocol/answers.hpp>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "canned_server.hpp"
#include "expect.hpp"
#include "descriptors.hpp"
#include "local_server.hpp"


#include <functional>
#include <thread>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using wrenn_test::canned_server;
using wrenn_test::http_answer;
using wrenn_test::reply;
using wrenn_test::ws_frame;
using end_how = wrenn_test::reply::end_how;

namespace {

const std::string capsule_json =
    R"({"id":"cl-abc","status":"running","template":"minimal","vcpus":1,"memory_mb":512,)"
    R"("timeout_sec":0,"created_at":"2026-05-02T22:56:00Z","last_updated":"2026-05-02T22:56:00Z"})";
const std::string json_head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n";
constexpr auto no_hang = 20s;  // far beyond every timeout below: reaching it means a hang

// Waits (5 s at most) until the process has no more descriptors than `baseline`.
bool fds_back_to(std::size_t baseline) {
    for (int i = 0; i < 100; ++i) {
        if (wrenn_test::open_descriptors() <= baseline) return true;
        std::this_thread::sleep_for(50ms);  // the canned server's thread closes its side on its own time
    }
    return false;
}

struct outcome {
    std::exception_ptr error;
    wrenn::client::pool_figures pool{};
};

// Runs `op` on a fresh client and io_context, raced against `no_hang`, and
// checks that afterwards nothing is in use and no descriptor is left open.
outcome provoke(const wrenn::config& cfg, std::function<asio::awaitable<void>(wrenn::client)> op) {
    auto baseline = wrenn_test::open_descriptors();
    outcome o;
    {
        wrenn::sync::runner r;
        wrenn::client c(r.get_executor(), cfg);
        // (Asio's || waits for the first branch that *succeeds*: a failure is
        // turned into a value, so that it wins the race.)
        auto outcome_of = [&]() -> asio::awaitable<std::exception_ptr> {
            try {
                co_await op(c);
            } catch (...) {
                co_return std::current_exception();
            }
            co_return nullptr;
        };
        auto raced = [&]() -> asio::awaitable<std::exception_ptr> {
            asio::steady_timer t(co_await asio::this_coro::executor, no_hang);
            auto first = co_await (outcome_of() || t.async_wait(asio::use_awaitable));
            if (first.index() == 1)
                co_return std::make_exception_ptr(std::runtime_error("hung: no outcome within the deadline"));
            co_return std::get<0>(first);
        };
        o.error = r.run(raced());
        o.pool = c.pool();
    }
    CHECK(o.pool.open == o.pool.idle);  // nothing left in use
    CHECK(o.pool.waiting == 0);
    CHECK(fds_back_to(baseline));
    return o;
}

wrenn::config config_for(const canned_server& srv) {
    wrenn::config cfg{.api_key = "wrn_faults0123456789abcdef01234567", .base_url = srv.base_url()};
    cfg.retry.base_delay = 5ms;
    cfg.timeouts.idle = 2s;
    return cfg;
}

asio::awaitable<void> get_capsule(wrenn::client c) { (void)co_await c.capsules().get("cl-abc"); }
asio::awaitable<void> write_file(wrenn::client c) {
    co_await wrenn::files(wrenn::detail::client_access::impl(c), "cl-abc").write("/tmp/x", std::string_view("once"));
}
asio::awaitable<void> start_command(wrenn::client c) {
    (void)co_await c.capsules().exec("cl-abc", wrenn::protocol::shell_exec_request("echo once"));
}
// Reads an exec stream to its end; whatever arrived is kept in `seen`.
std::function<asio::awaitable<void>(wrenn::client)> read_stream(std::vector<wrenn::stream_event>& seen) {
    return [&seen](wrenn::client c) -> asio::awaitable<void> {
        wrenn::commands cmds(wrenn::detail::client_access::impl(c), "cl-abc");
        auto s = co_await cmds.stream("echo hi");
        while (auto ev = co_await s.next()) seen.push_back(*ev);
    };
}


} // namespace

TEST_CASE("faults: a refused connection is a transport_error, tried max_attempts times", "[faults]") {
    std::string url;
    {
        canned_server gone(http_answer(200, "[]"));
        url = gone.base_url();
    }
    unsigned attempts = 0;
    wrenn::config cfg{.api_key = "k", .base_url = url};
    cfg.retry.base_delay = 5ms;
    cfg.on_attempt = [&](const wrenn::attempt_record&) { ++attempts; };
    auto e = wrenn_test::as<wrenn::transport_error>(provoke(cfg, start_command).error);
    CHECK(e.code() == "connect_failed");
    CHECK(std::string(e.what()).find("127.0.0.1") != std::string::npos);
    CHECK(attempts == 3);  // never connected, so never sent: safe to try again, even a POST
}

TEST_CASE("faults: resets and hang-ups at every point of an HTTP answer", "[faults]") {
    const std::string full = http_answer(200, capsule_json);
    struct fault {
        const char* what;
        reply r;
        unsigned get_requests, post_requests;  // how often each is sent: the retry rules
        const char* code;
    };
    const fault faults[] = {
        // nothing of the answer arrived: a GET may go again, a command start may not
        {"reset before the answer", {.end = end_how::reset}, 3, 1, "connection_failed"},
        {"closed before the answer", {.end = end_how::close}, 3, 1, "connection_failed"},
        // part of the answer arrived: never again, whatever the method
        {"reset mid-headers", {.bytes = json_head + "Content-Le", .end = end_how::reset}, 1, 1, "connection_failed"},
        {"closed mid-headers", {.bytes = json_head + "Content-Le", .end = end_how::close}, 1, 1, "connection_failed"},
        {"reset mid-body", {.bytes = full.substr(0, full.size() - 40), .end = end_how::reset}, 1, 1,
         "connection_failed"},
        {"closed mid-body", {.bytes = full.substr(0, full.size() - 40), .end = end_how::close}, 1, 1,
         "connection_failed"},
        {"truncated chunked body",
         {.bytes = json_head + "Transfer-Encoding: chunked\r\n\r\n10\r\n" + capsule_json.substr(0, 16) + "\r\n",
          .end = end_how::close},
         1, 1, "connection_failed"},
    };
    for (const auto& f : faults) {
        for (bool post : {false, true}) {
            INFO(f.what << (post ? ", POST exec" : ", GET capsule"));
            canned_server srv(std::vector<reply>{f.r});
            auto o = provoke(config_for(srv), post ? start_command : get_capsule);
            auto e = wrenn_test::as<wrenn::transport_error>(o.error);
            CHECK(e.code() == f.code);
            CHECK(std::string(e.what()).find(post ? "POST" : "GET") != std::string::npos);  // names the call
            CHECK(srv.requests().size() == (post ? f.post_requests : f.get_requests));
        }
    }
}

TEST_CASE("faults: a stalled server hits the idle timeout, a dripping one the total timeout", "[faults]") {
    // (A file write, not a command start, for the POST: a foreground
    // command's idle limit is its own timeout, since the answer comes when
    // it ends; pause and resume wait at least 60 s for the same reason.)
    SECTION("silent after the request: idle_timeout; a GET is tried again, a POST is not") {
        for (bool post : {false, true}) {
            INFO((post ? "POST file write" : "GET capsule"));
            canned_server srv(std::vector<reply>{{}});
            auto cfg = config_for(srv);
            cfg.timeouts.idle = 300ms;
            auto e = wrenn_test::as<wrenn::timeout_error>(provoke(cfg, post ? write_file : get_capsule).error);
            CHECK(e.code() == "idle_timeout");
            CHECK(std::string(e.what()).find("300 ms") != std::string::npos);
            CHECK(srv.requests().size() == (post ? 1u : 3u));
        }
    }
    SECTION("one byte every 50 ms: never idle, but past the total timeout, and not sent again") {
        canned_server srv(std::vector<reply>{{.bytes = http_answer(200, capsule_json), .drip = 50ms}});
        auto cfg = config_for(srv);
        cfg.timeouts.total = 1s;
        auto t0 = std::chrono::steady_clock::now();
        auto e = wrenn_test::as<wrenn::timeout_error>(provoke(cfg, get_capsule).error);
        CHECK(e.code() == "total_timeout");
        CHECK(std::string(e.what()).find("1 s") != std::string::npos);
        CHECK(std::chrono::steady_clock::now() - t0 < 10s);  // bounded by the total timeout, not the drip
        CHECK(srv.requests().size() == 1);
    }
}

TEST_CASE("faults: bad answers that arrive whole", "[faults]") {
    SECTION("invalid JSON in a 200: protocol_error, not sent again") {
        canned_server srv(http_answer(200, "{\"id\":\"cl-abc\", nope"));
        auto e = wrenn_test::as<wrenn::protocol_error>(provoke(config_for(srv), get_capsule).error);
        CHECK_FALSE(std::string(e.what()).empty());
        CHECK(srv.requests().size() == 1);
    }
    SECTION("a gateway's HTML 502 page: internal_error with its status and text, not sent again") {
        canned_server srv(http_answer(502, "<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html"));
        auto e = wrenn_test::as<wrenn::internal_error>(provoke(config_for(srv), start_command).error);
        CHECK(e.status() == 502);
        CHECK(e.message().find("Bad Gateway") != std::string::npos);
        CHECK(srv.requests().size() == 1);
    }
    SECTION("not HTTP/1.1 (a bad status line): transport_error saying what is wrong, not sent again") {
        canned_server srv("ICY 200 OK\r\nContent-Length: 2\r\n\r\n{}");
        auto e = wrenn_test::as<wrenn::transport_error>(provoke(config_for(srv), get_capsule).error);
        CHECK(e.code() == "connection_failed");
        CHECK(std::string(e.what()).find("GET") != std::string::npos);
        CHECK(std::string(e.what()).find("status line is 'ICY 200 OK'") != std::string::npos);
        CHECK(srv.requests().size() == 1);
    }
    SECTION("bytes after the answer: the answer counts, its connection carries nothing more") {
        // the start of an answer nobody asked for: read as the next one, it would garble it
        canned_server srv(http_answer(200, capsule_json) + "HTTP/1.1 200 OK\r\n");
        auto o = provoke(config_for(srv), [](wrenn::client c) -> asio::awaitable<void> {
            (void)co_await c.capsules().get("cl-abc");
            (void)co_await c.capsules().get("cl-abc");
        });
        CHECK_FALSE(o.error);
        CHECK(o.pool.created == 2);
        CHECK(srv.requests().size() == 2);
    }
    SECTION("429 with Retry-After and retries off: rate_limited_error carrying the delay") {
        canned_server srv(http_answer(429, R"({"error":{"code":"rate_limited","message":"slow down"}})",
                                      "application/json", "Retry-After: 7\r\n"));
        auto cfg = config_for(srv);
        cfg.retry.max_attempts = 1;
        auto e = wrenn_test::as<wrenn::rate_limited_error>(provoke(cfg, start_command).error);
        CHECK(e.retry_after() == std::chrono::seconds(7));
        CHECK(srv.requests().size() == 1);
    }
}

TEST_CASE("faults: exec-stream WebSockets that break", "[faults][ws]") {
    const std::string start = ws_frame(R"({"type":"start","pid":7})");
    const std::string out = ws_frame(R"({"type":"stdout","data":"hi\n"})");
    std::vector<wrenn::stream_event> seen;

    SECTION("closed after output, without the exit event: protocol_error stream_ended, after the output") {
        canned_server srv(std::vector<reply>{{.bytes = start + out, .end = end_how::close, .websocket = true}});
        auto e = wrenn_test::as<wrenn::protocol_error>(provoke(config_for(srv), read_stream(seen)).error);
        CHECK(e.code() == "stream_ended");
        REQUIRE(seen.size() == 2);
        CHECK(seen[0].pid == 7);
        CHECK(seen[1].data == "hi\n");
        CHECK(srv.requests().size() == 1);  // a stream start is never replayed
    }
    SECTION("closed mid-frame: the events before it, then protocol_error stream_ended") {
        std::string half = out.substr(0, out.size() / 2);
        canned_server srv(std::vector<reply>{{.bytes = start + out + half, .end = end_how::close, .websocket = true}});
        auto e = wrenn_test::as<wrenn::protocol_error>(provoke(config_for(srv), read_stream(seen)).error);
        CHECK(e.code() == "stream_ended");
        CHECK(seen.size() == 2);
        CHECK(srv.requests().size() == 1);
    }
    SECTION("reset mid-frame: connection_lost (TCP drops what was unread, so maybe before the start)") {
        std::string half = out.substr(0, out.size() / 2);
        canned_server srv(std::vector<reply>{{.bytes = start + half, .end = end_how::reset, .websocket = true}});
        auto e = provoke(config_for(srv), read_stream(seen)).error;
        REQUIRE(e);
        try {
            std::rethrow_exception(e);
        } catch (const wrenn::protocol_error& p) {
            CHECK(p.code() == "stream_ended");
        } catch (const wrenn::transport_error& t) {
            CHECK(t.code() == "connection_lost");
        } catch (const std::exception& other) {
            FAIL("wrong exception type: " << other.what());
        }
        CHECK(seen.size() <= 1);
        CHECK(srv.requests().size() == 1);
    }
    SECTION("garbage frames (reserved opcode, RSV bits): transport_error, not a hang") {
        canned_server srv(std::vector<reply>{{.bytes = start + "\x7b\x05garbage-garbage", .websocket = true}});
        auto e = wrenn_test::as<wrenn::transport_error>(provoke(config_for(srv), read_stream(seen)).error);
        CHECK(e.code() == "connection_lost");
        CHECK(seen.size() == 1);
        CHECK(srv.requests().size() == 1);
    }
    SECTION("a message that is not JSON: protocol_error naming it") {
        canned_server srv(std::vector<reply>{{.bytes = start + ws_frame("<html>oops</html>"), .websocket = true}});
        auto e = wrenn_test::as<wrenn::protocol_error>(provoke(config_for(srv), read_stream(seen)).error);
        CHECK_FALSE(std::string(e.what()).empty());
        CHECK(seen.size() == 1);
    }
    SECTION("upgraded, then silent (no pong either): idle_timeout") {
        canned_server srv(std::vector<reply>{{.bytes = start, .websocket = true}});
        auto cfg = config_for(srv);
        cfg.timeouts.idle = 500ms;
        auto e = wrenn_test::as<wrenn::timeout_error>(provoke(cfg, read_stream(seen)).error);
        CHECK(e.code() == "idle_timeout");
        CHECK(seen.size() == 1);
    }
    // (Beast fills the handshake's response with a 500 before anything is
    // read: an upgrade that got no answer must not be reported as one.)
    SECTION("the upgrade never answered: connect_timeout, not an HTTP error") {
        canned_server srv(std::vector<reply>{{}});
        auto cfg = config_for(srv);
        cfg.timeouts.connect = 300ms;
        auto e = wrenn_test::as<wrenn::timeout_error>(provoke(cfg, read_stream(seen)).error);
        CHECK(e.code() == "connect_timeout");
        CHECK(std::string(e.what()).find("500") == std::string::npos);
        CHECK(seen.empty());
    }
    SECTION("the upgrade reset before an answer: transport_error, not an HTTP error") {
        canned_server srv(std::vector<reply>{{.end = end_how::reset}});
        auto e = wrenn_test::as<wrenn::transport_error>(provoke(config_for(srv), read_stream(seen)).error);
        CHECK(std::string(e.what()).find("500") == std::string::npos);
        CHECK(seen.empty());
        CHECK(srv.requests().size() == 1);
    }
    SECTION("the upgrade answered by a gateway's HTML 502: a typed error, not sent again") {
        canned_server srv(http_answer(502, "<html><body>Bad Gateway</body></html>", "text/html"));
        auto e = provoke(config_for(srv), read_stream(seen)).error;
        REQUIRE(e);
        try {
            std::rethrow_exception(e);
        } catch (const wrenn::error& w) {
            CHECK(std::string(w.what()).find("502") != std::string::npos);
        } catch (const std::exception& other) {
            FAIL("not a wrenn::error: " << other.what());
        }
        CHECK(seen.empty());
        CHECK(srv.requests().size() == 1);
    }
}

TEST_CASE("faults: a command start cancelled before its start event kills the process once its pid is known",
          "[faults][ws]") {
    // The server has the start message (the process runs) but its start event
    // trickles in: the call is cancelled meanwhile. The SDK still learns the
    // pid, and kills the process, before the cancelled call ends.
    const std::string start = ws_frame(R"({"type":"start","pid":7})");
    auto cancelled_start = [](bool foreground) {
        return [foreground](wrenn::client c) -> asio::awaitable<void> {
            wrenn::commands cmds(wrenn::detail::client_access::impl(c), "cl-abc");
            auto ignore = [](std::string_view) {};
            asio::steady_timer t(co_await asio::this_coro::executor, 150ms);
            auto op = [&]() -> asio::awaitable<void> {
                if (foreground) (void)co_await cmds.run("sleep 30", {.on_stdout = ignore});
                else (void)co_await cmds.stream("sleep 30");
            };
            auto r = co_await (op() || t.async_wait(asio::use_awaitable));
            CHECK(r.index() == 1);  // the timer won: the start was cancelled
        };
    };
    for (bool foreground : {true, false}) {
        CAPTURE(foreground);
        canned_server srv(std::vector<reply>{
            {.bytes = start, .end = end_how::close, .drip = 30ms, .websocket = true},
            {.bytes = http_answer(204, "")}});
        auto o = provoke(config_for(srv), cancelled_start(foreground));
        CHECK_FALSE(o.error);
        auto reqs = srv.requests();
        for (auto& r : reqs) UNSCOPED_INFO(r.substr(0, r.find("\r\n")));  // shown when a check fails
        REQUIRE(reqs.size() == 2);
        CHECK(reqs[0].find("/exec/stream") != std::string::npos);
        CHECK(reqs[1].rfind("DELETE /api/v1/capsules/cl-abc/processes/7?signal=SIGKILL ", 0) == 0);
    }
}

// wrenn-cpp reads and writes WebSocket frames itself (protocol/ws_frames.hpp):
// what it writes back to a server, and an upgrade answer it must refuse.
TEST_CASE("faults: the WebSocket protocol both ways: pongs, close frames, a bad upgrade answer", "[faults][ws]") {
    using wrenn_test::client_frames;
    const std::string start = ws_frame(R"({"type":"start","pid":7})");
    const std::string out = ws_frame(R"({"type":"stdout","data":"hi\n"})");
    const std::string exit = ws_frame(R"({"type":"exit","exit_code":0})");
    std::vector<wrenn::stream_event> seen;
    auto sent = [](const canned_server& srv) {
        auto bytes = srv.upgraded_bytes(0, 5s);
        REQUIRE(bytes);
        return client_frames(*bytes);
    };

    SECTION("a ping is answered with a pong carrying its payload; every client frame is masked") {
        canned_server srv(std::vector<reply>{{.bytes = start + ws_frame("are you there?", 9) + out + exit,
                                              .websocket = true}});
        CHECK_FALSE(provoke(config_for(srv), read_stream(seen)).error);
        CHECK(seen.size() == 3);
        auto frames = sent(srv);
        REQUIRE(frames.size() >= 2);  // the start message, the pong, then a close
        CHECK(frames[0].opcode == 1);
        CHECK(frames[0].payload.find(R"("type":"start")") != std::string::npos);
        bool ponged = false;
        for (const auto& f : frames) {
            CHECK(f.masked);
            CHECK(f.fin);
            ponged = ponged || (f.opcode == 10 && f.payload == "are you there?");
        }
        CHECK(ponged);
    }
    SECTION("the server's close frame ends the stream; the client answers with the same code") {
        canned_server srv(std::vector<reply>{{.bytes = start + out + ws_frame(std::string("\x03\xe9going away", 12), 8),
                                              .websocket = true}});
        auto e = wrenn_test::as<wrenn::protocol_error>(provoke(config_for(srv), read_stream(seen)).error);
        CHECK(e.code() == "stream_ended");  // closed before the exit event
        CHECK(seen.size() == 2);
        auto frames = sent(srv);
        REQUIRE_FALSE(frames.empty());
        CHECK(frames.back().opcode == 8);
        CHECK(frames.back().payload.substr(0, 2) == "\x03\xe9");  // 1001
    }
    SECTION("a frame the protocol forbids: the client closes with 1002 and says what it was") {
        canned_server srv(std::vector<reply>{{.bytes = start + "\x81\x85mask!", .websocket = true}});
        auto e = wrenn_test::as<wrenn::transport_error>(provoke(config_for(srv), read_stream(seen)).error);
        CHECK(e.code() == "connection_lost");
        CHECK(std::string(e.what()).find("masked") != std::string::npos);
        auto frames = sent(srv);
        REQUIRE_FALSE(frames.empty());
        CHECK(frames.back().opcode == 8);
        CHECK(frames.back().payload.substr(0, 2) == "\x03\xea");  // 1002
    }
    SECTION("text that is not UTF-8: connection_lost, the client closes with 1007") {
        canned_server srv(std::vector<reply>{{.bytes = start + ws_frame("{\"type\":\"stdout\",\"data\":\"\xc3\x28\"}"),
                                              .websocket = true}});
        auto e = wrenn_test::as<wrenn::transport_error>(provoke(config_for(srv), read_stream(seen)).error);
        CHECK(e.code() == "connection_lost");
        CHECK(std::string(e.what()).find("UTF-8") != std::string::npos);
        CHECK(seen.size() == 1);
        auto frames = sent(srv);
        REQUIRE_FALSE(frames.empty());
        CHECK(frames.back().payload.substr(0, 2) == "\x03\xef");  // 1007
    }
    SECTION("a 101 whose Sec-WebSocket-Accept does not match the key: protocol_error bad_upgrade") {
        canned_server srv("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n" + start);
        auto e = wrenn_test::as<wrenn::protocol_error>(provoke(config_for(srv), read_stream(seen)).error);
        CHECK(e.code() == "bad_upgrade");
        CHECK(std::string(e.what()).find("Sec-WebSocket-Accept") != std::string::npos);
        CHECK(seen.empty());
        CHECK(srv.requests().size() == 1);
    }
}

// wrenn-local never fragments a message and its messages are short, but a
// real server (or a proxy) may do either: every size around the reader's
// buffer steps (1,536 bytes, then the frame's rest; handed over past 3,072)
// and fragmented messages with a ping between the pieces arrive whole.
TEST_CASE("faults: exec-stream messages of any length, fragmented or not, arrive whole", "[faults][ws]") {
    auto message_for = [](const std::string& data) { return R"({"type":"stdout","data":")" + data + R"("})"; };
    auto data_of = [&](std::size_t message_size, char seed) {
        std::size_t n = message_size - message_for("").size();
        std::string d(n, ' ');
        for (std::size_t i = 0; i < n; ++i) d[i] = static_cast<char>('a' + (i * 7 + seed) % 26);
        return d;
    };
    auto fragment = [](const std::string& piece, unsigned opcode, bool fin) {
        std::string f = ws_frame(piece, opcode);
        if (!fin) f[0] = static_cast<char>(f[0] & 0x7f);
        return f;
    };
    std::vector<std::string> expected;
    std::string frames = ws_frame(R"({"type":"start","pid":7})");
    char seed = 0;
    for (std::size_t size : {32, 125, 126, 1535, 1536, 1537, 3071, 3072, 3073, 3074, 4608, 65535, 65536, 300000}) {
        expected.push_back(data_of(size, seed++));
        frames += ws_frame(message_for(expected.back()));
    }
    for (std::size_t size : {40, 1600, 5000, 200000}) {
        expected.push_back(data_of(size, seed++));
        std::string m = message_for(expected.back());
        std::size_t a = m.size() / 3, b = 2 * m.size() / 3;
        frames += fragment(m.substr(0, a), 1, false) + ws_frame("p", 9) + fragment(m.substr(a, b - a), 0, false) +
                  fragment(m.substr(b), 0, true);
    }
    frames += ws_frame(R"({"type":"exit","exit_code":0})");
    canned_server srv(std::vector<reply>{{.bytes = frames, .websocket = true}});
    std::vector<wrenn::stream_event> seen;
    auto e = provoke(config_for(srv), read_stream(seen)).error;
    CHECK_FALSE(e);
    REQUIRE(seen.size() == expected.size() + 2);
    for (std::size_t i = 0; i < expected.size(); ++i) {
        INFO("message " << i << ", " << expected[i].size() << " bytes of data");
        CHECK(seen[i + 1].is_stdout());
        CHECK(seen[i + 1].data == expected[i]);
    }
    CHECK(seen.back().is_exit());
}

TEST_CASE("faults: bad certificates are refused unless their CA was added", "[faults][tls]") {
    using wrenn_test::cert_kind;
    const auto& pki = wrenn_test::test_pki::get();
    struct bad {
        const char* what;
        cert_kind cert;
        const char* says;     // in the error text
        std::string trusted;  // the CA that makes it acceptable, when there is one
    };
    const bad cases[] = {
        {"expired", cert_kind::expired, "expired", ""},
        {"self-signed", cert_kind::self_signed, "self-signed", pki.self_signed_cert},
        {"for another host", cert_kind::wrong_host, "", ""},
    };
    auto list = [](wrenn::client c) -> asio::awaitable<void> { (void)co_await c.capsules().list(); };
    for (const auto& b : cases) {
        INFO(b.what);
        wrenn_test::local_server srv({.tls = true, .cert = b.cert});
        auto cfg = srv.config();  // trusts the test CA
        auto e = wrenn_test::as<wrenn::transport_error>(provoke(cfg, list).error);
        CHECK(e.code() == "tls_verify_failed");
        CHECK(std::string(e.what()).find(b.says) != std::string::npos);
        CHECK(std::string(e.what()).find("ca_file") != std::string::npos);  // says what to do
        if (!b.trusted.empty()) {
            cfg.ca_file = b.trusted;
            CHECK_FALSE(provoke(cfg, list).error);
        }
    }
}
