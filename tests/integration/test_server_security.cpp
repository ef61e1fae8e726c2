// wrenn-local's WebSocket routes against clients without the API key, and
// their message limit, over HTTP and TLS (tests/support/ws_client.hpp). The
// REST side: test_server.cpp.
//
// Compiler notes (g++ 12): never co_await inside CHECK/REQUIRE or `?:`, and
// never build an owning temporary inside a co_await expression: name it first.
#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include "local_server.hpp"
#include "ws_client.hpp"

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

namespace {

asio::awaitable<std::string> run_sh(const local_server& srv, const std::string& id, std::string_view script) {
    json::value body = {{"cmd", "/bin/sh"}, {"args", json::array{"-c", script}}};
    std::string path = "/v1/capsules/" + id + "/exec", text = json::serialize(body);
    auto r = co_await http_call(srv, "POST", path, text);
    if (r.status != 200) throw std::runtime_error("exec: " + r.body);
    co_return std::string(r.json().at("stdout").as_string());
}

} // namespace

TEST_CASE("server: WebSocket upgrades without the right key fail in-band and run nothing",
          "[server][ws][security]") {
    auto tls = GENERATE(false, true);
    CAPTURE(tls);
    local_server srv({.tls = tls});
    run_io([&]() -> asio::awaitable<void> {
        auto id = co_await wrenn_test::create_capsule(srv);
        // A process whose output an attacher must never see.
        {
            json::value bg = {{"cmd", "/bin/sh"},
                              {"args", json::array{"-c", "while :; do echo SECRET-OUT; sleep 0.1; done"}},
                              {"background", true},
                              {"tag", "victim"}};
            std::string path = "/v1/capsules/" + id + "/exec", text = json::serialize(bg);
            auto r = co_await http_call(srv, "POST", path, text);
            REQUIRE(r.status == 202);
        }
        std::string same_length = srv.api_key();
        same_length.back() = same_length.back() == '0' ? '1' : '0';
        struct credential {
            std::string what;
            ws_options opts;
            std::string first;  // the first message, when it is not the route's own
        };
        const std::vector<credential> credentials{
            {"no key", {}, ""},
            {"wrong key of the same length", {.api_key = same_length, .bearer = ""}, ""},
            {"a short wrong key", {.api_key = "wrn_x", .bearer = ""}, ""},
            {"a wrong Bearer token", {.api_key = "", .bearer = same_length}, ""},
            {"a wrong in-band token", {}, R"({"type":"auth","token":")" + same_length + R"("})"},
            {"an empty in-band token", {}, R"({"type":"auth","token":""})"},
        };
        struct route {
            std::string what, first;  // the first message a client would send to do harm
            bool fatal;
        };
        const std::vector<route> routes{
            {"exec/stream", R"({"type":"start","cmd":"/bin/sh","args":["-c","touch /tmp/pwned-stream"]})", false},
            {"processes/victim/stream", R"({"type":"ping"})", false},
            {"pty", R"({"type":"start","cmd":"/bin/sh","args":["-c","touch /tmp/pwned-pty"]})", true},
        };
        for (const auto& r : routes) {
            for (const auto& cred : credentials) {
                INFO(r.what << ", " << cred.what);
                std::string path = "/v1/capsules/" + id + "/" + r.what;
                // The upgrade itself succeeds (WIRE.md §1.3, §7: credentials are
                // checked after it, so browsers can authenticate in-band).
                auto ws = co_await ws_client::connect(srv, path, cred.opts);
                std::string first = cred.first.empty() ? r.first : cred.first;
                co_await ws->send_text(first);
                if (!cred.first.empty()) {
                    std::string harm = r.first;
                    try {
                        co_await ws->send_text(harm);
                    } catch (const std::exception&) {
                        // the server may have closed already
                    }
                }
                auto evs = co_await events_to_end(*ws);
                INFO(describe(evs));
                auto msgs = messages_of(evs);
                REQUIRE(msgs.size() == 1);
                auto v = msgs[0].json();
                CHECK(v.at("type").as_string() == "error");
                CHECK(v.at("data").as_string() == "authentication failed");
                CHECK(v.as_object().contains("fatal") == r.fatal);
                CHECK(evs.back().final());
                for (auto& e : evs) CHECK(e.data.find("SECRET-OUT") == std::string::npos);
            }
        }
        // Nothing ran: no file, no new process (the victim alone is listed).
        auto made = co_await run_sh(srv, id, "ls /tmp/pwned-stream /tmp/pwned-pty 2>/dev/null; true");
        CHECK(made == "");
        std::string procs_path = "/v1/capsules/" + id + "/processes";
        auto procs = co_await http_call(srv, "GET", procs_path);
        REQUIRE(procs.status == 200);
        auto procs_json = procs.json();
        CHECK(procs_json.at("processes").as_array().size() == 1);
        // And with the key the same routes work (the test above can fail).
        std::string path = "/v1/capsules/" + id + "/processes/victim/stream";
        auto ok = co_await ws_client::connect(srv, path);
        auto e = co_await ok->next(10s);
        CHECK(e.type() == "start");
        ok->abort();
    }, std::chrono::seconds(120));
}

TEST_CASE("server: WebSocket messages up to 1 MiB are read, a larger one ends the connection",
          "[server][ws][security]") {
    auto tls = GENERATE(false, true);
    CAPTURE(tls);
    local_server srv({.tls = tls});
    run_io([&]() -> asio::awaitable<void> {
        auto id = co_await wrenn_test::create_capsule(srv);
        std::string path = "/v1/capsules/" + id + "/exec/stream";
        {
            // ~900 KB: nine arguments of 100000 bytes (each under the kernel's
            // 128 KiB per argument).
            json::array args{"-c", "n=0; for a; do n=$((n+${#a})); done; echo $n", "_"};
            for (int i = 0; i < 9; ++i) args.emplace_back(std::string(100000, 'x'));
            json::value start = {{"type", "start"}, {"cmd", "/bin/sh"}, {"args", std::move(args)}};
            std::string text = json::serialize(start);
            REQUIRE(text.size() > 900000);
            REQUIRE(text.size() < 1024 * 1024);
            auto ws = co_await ws_client::connect(srv, path);
            co_await ws->send_text(text);
            auto evs = co_await events_to_end(*ws);
            INFO(describe(evs));
            std::string out;
            for (auto& m : messages_of(evs))
                if (m.type() == "stdout") out += std::string(m.json().at("data").as_string());
            CHECK(out == "900000\n");
        }
        {
            auto ws = co_await ws_client::connect(srv, path);
            std::string huge(1024 * 1024 + 1, ' ');
            try {
                co_await ws->send_text(huge);
            } catch (const std::exception&) {
                // the server may drop the connection before it has all of it
            }
            auto evs = co_await events_to_end(*ws);
            INFO(describe(evs));
            CHECK(messages_of(evs).empty());
            CHECK(evs.back().final());
        }
        // Still serving.
        auto out = co_await run_sh(srv, id, "echo alive");
        CHECK(out == "alive\n");
    });
}
