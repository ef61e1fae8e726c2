// Every error the server can give arrives as its typed exception, with the
// server's code, message and status, and never with the API key in it.
#include <catch2/catch.hpp>

#include <wrenn/wrenn.hpp>

#include "canned_server.hpp"
#include "local_server.hpp"
#include "expect.hpp"
#include "run.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using wrenn::capsule;
using wrenn_test::canned_server;
using wrenn_test::http_answer;
using wrenn_test::as;
using wrenn_test::failure_of;
using wrenn_test::local_server;

namespace {
constexpr const char* valid_unknown_id = "cl-0000000000000000000000000";
} // namespace

TEST_CASE("a wrong API key is an authentication_error without the key in it", "[errors]") {
    auto tls = GENERATE(false, true);
    local_server srv({.tls = tls});
    auto cfg = srv.config();
    cfg.api_key = "wrn_deadbeefdeadbeefdeadbeefdeadbeef";
    auto e = as<wrenn::authentication_error>(failure_of(cfg, [](wrenn::client c) { return capsule::list(c); }));
    CHECK(e.status() == 401);
    CHECK(e.code() == "unauthorized");
    CHECK(std::string(e.what()).find(cfg.api_key) == std::string::npos);
    CHECK(e.body().find(cfg.api_key) == std::string::npos);
}

TEST_CASE("a missing API key fails before any I/O and names WRENN_API_KEY", "[errors]") {
    wrenn::config cfg;
    cfg.base_url = "http://127.0.0.1:1";  // nothing listens there
    auto no_env = [](const char*) -> std::optional<std::string> { return std::nullopt; };
    try {
        wrenn::resolve(cfg, no_env);
        FAIL("resolve accepted a config without a key");
    } catch (const wrenn::config_error& e) {
        CHECK(std::string(e.what()).find("WRENN_API_KEY") != std::string::npos);
    }
}

TEST_CASE("server errors map to their classes", "[errors]") {
    auto tls = GENERATE(false, true);
    CAPTURE(tls);
    local_server srv({.tls = tls});
    auto cfg = srv.config();

    SECTION("unknown capsule: not_found_error") {
        auto e = as<wrenn::not_found_error>(failure_of(cfg, [](wrenn::client c) { return c.capsules().get(valid_unknown_id); }));
        CHECK(e.status() == 404);
        CHECK(e.code() == "not_found");
        CHECK_FALSE(e.message().empty());
    }
    SECTION("malformed capsule id: validation_error") {
        auto e = as<wrenn::validation_error>(failure_of(cfg, [](wrenn::client c) { return c.capsules().get("not-an-id"); }));
        CHECK(e.status() == 400);
        CHECK(e.message() == "invalid sandbox ID");
    }
    SECTION("resume of a running capsule: conflict_error invalid_state") {
        auto e = as<wrenn::conflict_error>(failure_of(cfg, [](wrenn::client c) -> asio::awaitable<void> {
            auto cap = co_await capsule::create(c);
            co_await cap.resume();
        }));
        CHECK(e.status() == 409);
        CHECK(e.code() == "invalid_state");
    }
    SECTION("unknown template: not_found_error") {
        auto e = as<wrenn::not_found_error>(failure_of(cfg, [](wrenn::client c) {
            return capsule::create(c, {.template_name = "no-such-template"});
        }));
        CHECK(e.status() == 404);
    }
    SECTION("bad metrics range: validation_error") {
        auto e = as<wrenn::validation_error>(failure_of(cfg, [](wrenn::client c) -> asio::awaitable<void> {
            auto cap = co_await capsule::create(c);
            co_await cap.metrics("3w");
        }));
        CHECK(e.message().find("range must be one of") != std::string::npos);
    }
    SECTION("snapshot under a reserved name: conflict_error name_reserved") {
        auto e = as<wrenn::conflict_error>(failure_of(cfg, [](wrenn::client c) -> asio::awaitable<void> {
            auto cap = co_await capsule::create(c);
            co_await cap.create_snapshot("minimal");
        }));
        CHECK(e.code() == "name_reserved");
    }
    SECTION("snapshot with an invalid name: validation_error") {
        as<wrenn::validation_error>(failure_of(cfg, [](wrenn::client c) -> asio::awaitable<void> {
            auto cap = co_await capsule::create(c);
            co_await cap.create_snapshot("bad name!");
        }));
    }
    SECTION("deleting a platform template: forbidden_error") {
        auto e = as<wrenn::forbidden_error>(failure_of(cfg, [](wrenn::client c) { return c.snapshots().remove("minimal"); }));
        CHECK(e.status() == 403);
    }
    SECTION("a command in a destroyed capsule: conflict_error") {
        as<wrenn::conflict_error>(failure_of(cfg, [](wrenn::client c) -> asio::awaitable<void> {
            auto cap = co_await capsule::create(c);
            co_await cap.destroy();
            co_await cap.commands.run("true");
        }));
    }
}

TEST_CASE("canned answers: unknown fields and unknown enum values are accepted", "[errors][canned]") {
    canned_server srv(http_answer(200,
        R"({"id":"cl-abc","status":"hibernating-v9","template":"minimal","vcpus":1,"memory_mb":512,)"
        R"("timeout_sec":0,"created_at":"2026-05-02T22:56:00Z","last_updated":"2026-05-02T22:56:00Z",)"
        R"("brand_new_field":{"nested":[1,2,3]},"disk_size_mb":5120})" "\n"));
    wrenn::config cfg{.api_key = "wrn_key", .base_url = srv.base_url()};
    auto info = wrenn_test::run(cfg, [](wrenn::client c) { return c.capsules().get("cl-abc"); });
    CHECK(info.id == "cl-abc");
    CHECK(info.status == wrenn::capsule_state::unknown);
    CHECK(info.status.raw == "hibernating-v9");
    CHECK(info.disk_size_mb == 5120);
    auto reqs = srv.requests();
    REQUIRE(reqs.size() == 1);
    CHECK(reqs[0].rfind("GET /api/v1/capsules/cl-abc HTTP/1.1\r\n", 0) == 0);
    CHECK(reqs[0].find("X-API-Key: wrn_key\r\n") != std::string::npos);
    CHECK(reqs[0].find(std::string("User-Agent: wrenn-cpp/") + wrenn::version) != std::string::npos);
}

TEST_CASE("canned answers: statuses the local server never gives", "[errors][canned]") {
    SECTION("429 carries Retry-After") {
        canned_server srv(http_answer(429, R"({"error":{"code":"rate_limited","message":"slow down"}})", "application/json",
                                      "Retry-After: 7\r\n"));
        // no retries: this is about the error the last answer maps to
        wrenn::config cfg{.api_key = "k", .base_url = srv.base_url(), .retry = {.max_attempts = 1}};
        auto e = as<wrenn::rate_limited_error>(failure_of(cfg, [](wrenn::client c) { return c.capsules().list(); }));
        CHECK(e.retry_after() == std::chrono::seconds(7));
        CHECK(e.status() == 429);
    }
    SECTION("host-has-capsules carries the ids where the server puts them") {
        canned_server srv(http_answer(409,
            R"({"error":{"code":"has_active_sandboxes","message":"host busy","sandbox_ids":["cl-1","cl-2"]}})"));
        wrenn::config cfg{.api_key = "k", .base_url = srv.base_url()};
        auto e = as<wrenn::host_has_capsules_error>(failure_of(cfg, [](wrenn::client c) { return c.capsules().list(); }));
        CHECK(e.capsule_ids() == std::vector<std::string>{"cl-1", "cl-2"});
    }
    SECTION("no_hosts_available is a host_unavailable_error") {
        canned_server srv(http_answer(503, R"({"error":{"code":"no_hosts_available","message":"no servers available"}})"));
        wrenn::config cfg{.api_key = "k", .base_url = srv.base_url(), .retry = {.max_attempts = 1}};
        as<wrenn::host_unavailable_error>(failure_of(cfg, [](wrenn::client c) { return c.capsules().list(); }));
    }
    SECTION("a gateway's HTML 502 page is an internal_error with a readable message") {
        canned_server srv(http_answer(502, "<html><body>Bad Gateway</body></html>", "text/html"));
        wrenn::config cfg{.api_key = "k", .base_url = srv.base_url()};
        auto e = as<wrenn::internal_error>(failure_of(cfg, [](wrenn::client c) { return c.capsules().list(); }));
        CHECK(e.status() == 502);
        CHECK(e.message().find("Bad Gateway") != std::string::npos);
    }
    SECTION("invalid JSON on success is a protocol_error") {
        canned_server srv(http_answer(200, "{not json"));
        wrenn::config cfg{.api_key = "k", .base_url = srv.base_url()};
        as<wrenn::protocol_error>(failure_of(cfg, [](wrenn::client c) { return c.capsules().list(); }));
    }
}
