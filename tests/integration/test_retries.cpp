// Retries (protocol/retry.hpp) and the per-attempt hook, against misbehaving
// canned servers: what is sent again, what never is, and what the hook sees.
#include <catch2/catch.hpp>

#include <wrenn/wrenn.hpp>
#include <wrenn/protocol/answers.hpp>

#include "canned_server.hpp"
#include "expect.hpp"
#include "run.hpp"

#include <memory>

using namespace std::chrono_literals;
using wrenn_test::as;
using wrenn_test::canned_server;
using wrenn_test::failure_of;
using wrenn_test::http_answer;

namespace {

const std::string capsule_json =
    R"({"id":"cl-abc","status":"running","template":"minimal","vcpus":1,"memory_mb":512,)"
    R"("timeout_sec":0,"created_at":"2026-05-02T22:56:00Z","last_updated":"2026-05-02T22:56:00Z"})";
const std::string api_key = "wrn_0123456789abcdef0123456789abcdef";

struct seen_attempt {
    std::string method, url, error;
    unsigned attempt = 0;
    std::optional<unsigned> status;
    std::optional<std::chrono::milliseconds> retry_in;
};

// A config for `srv` whose hook records every attempt into `log`.
wrenn::config recording(const canned_server& srv, std::shared_ptr<std::vector<seen_attempt>> log) {
    wrenn::config cfg{.api_key = api_key, .base_url = srv.base_url()};
    cfg.retry.base_delay = 10ms;  // keep the test quick; the rules are the same
    cfg.on_attempt = [log](const wrenn::attempt_record& r) {
        log->push_back({std::string(r.method), std::string(r.url), std::string(r.error), r.attempt, r.status,
                        r.retry_in});
    };
    return cfg;
}

} // namespace

TEST_CASE("retries: 503 and 503 then 200 for a GET succeeds on the third attempt", "[retry]") {
    canned_server srv({http_answer(503, R"({"error":{"code":"host_unavailable","message":"busy"}})"),
                       http_answer(503, R"({"error":{"code":"host_unavailable","message":"busy"}})"),
                       http_answer(200, capsule_json)});
    auto log = std::make_shared<std::vector<seen_attempt>>();
    auto info = wrenn_test::run(recording(srv, log), [](wrenn::client c) { return c.capsules().get("cl-abc"); });
    CHECK(info.id == "cl-abc");
    CHECK(srv.requests().size() == 3);
    REQUIRE(log->size() == 3);
    for (unsigned i = 0; i < 3; ++i) {
        CAPTURE(i);
        CHECK((*log)[i].attempt == i + 1);
        CHECK((*log)[i].method == "GET");
        CHECK((*log)[i].url == srv.base_url() + "/v1/capsules/cl-abc");
        CHECK((*log)[i].error.empty());
    }
    CHECK((*log)[0].status == 503u);
    CHECK((*log)[1].status == 503u);
    CHECK((*log)[2].status == 200u);
    CHECK((*log)[0].retry_in);
    CHECK((*log)[1].retry_in);
    CHECK(!(*log)[2].retry_in);
}

TEST_CASE("retries: a 429 is sent again after its Retry-After, even a POST", "[retry]") {
    canned_server srv({http_answer(429, R"({"error":{"code":"rate_limited","message":"slow down"}})",
                                   "application/json", "Retry-After: 1\r\n"),
                       http_answer(200, capsule_json)});
    auto log = std::make_shared<std::vector<seen_attempt>>();
    auto info = wrenn_test::run(recording(srv, log), [](wrenn::client c) { return c.capsules().pause("cl-abc"); });
    CHECK(info.id == "cl-abc");
    CHECK(srv.requests().size() == 2);
    REQUIRE(log->size() == 2);
    CHECK((*log)[0].method == "POST");
    CHECK((*log)[0].status == 429u);
    CHECK((*log)[0].retry_in == std::chrono::milliseconds(1000));  // the server's word, not the backoff
}

TEST_CASE("retries: a Retry-After longer than max_retry_after is raised at once", "[retry]") {
    canned_server srv(http_answer(429, R"({"error":{"code":"rate_limited","message":"slow down"}})",
                                  "application/json", "Retry-After: 3600\r\n"));
    auto log = std::make_shared<std::vector<seen_attempt>>();
    auto e = as<wrenn::rate_limited_error>(
        failure_of(recording(srv, log), [](wrenn::client c) { return c.capsules().list(); }));
    CHECK(e.retry_after() == std::chrono::seconds(3600));
    CHECK(srv.requests().size() == 1);
    REQUIRE(log->size() == 1);
    CHECK(!(*log)[0].retry_in);
}

TEST_CASE("retries: a command start that got no answer is never sent again", "[retry]") {
    canned_server srv(std::vector<std::string>{canned_server::hang_up});
    auto log = std::make_shared<std::vector<seen_attempt>>();
    auto e = as<wrenn::transport_error>(failure_of(recording(srv, log), [](wrenn::client c) {
        return c.capsules().exec("cl-abc", wrenn::protocol::shell_exec_request("echo once"));
    }));
    CHECK(e.code() == "connection_failed");
    CHECK(srv.requests().size() == 1);  // the command may have started: not replayed
    REQUIRE(log->size() == 1);
    CHECK((*log)[0].method == "POST");
    CHECK(!(*log)[0].status);
    CHECK(!(*log)[0].error.empty());
    CHECK(!(*log)[0].retry_in);
}

TEST_CASE("retries: an idempotent GET that got no answer byte is sent again", "[retry]") {
    canned_server srv({canned_server::hang_up, canned_server::hang_up, http_answer(200, capsule_json)});
    auto log = std::make_shared<std::vector<seen_attempt>>();
    auto info = wrenn_test::run(recording(srv, log), [](wrenn::client c) { return c.capsules().get("cl-abc"); });
    CHECK(info.id == "cl-abc");
    CHECK(srv.requests().size() == 3);
    REQUIRE(log->size() == 3);
    CHECK(!(*log)[0].error.empty());
    CHECK((*log)[0].retry_in);
    CHECK((*log)[2].status == 200u);
}

TEST_CASE("retries: a refused connection is tried max_attempts times, or once when retries are off", "[retry]") {
    std::string url;
    {
        canned_server gone(http_answer(200, "[]"));
        url = gone.base_url();
    }
    for (unsigned attempts : {1u, 3u, 5u}) {
        CAPTURE(attempts);
        auto log = std::make_shared<std::vector<seen_attempt>>();
        wrenn::config cfg{.api_key = api_key, .base_url = url};
        cfg.retry.max_attempts = attempts;
        cfg.retry.base_delay = 5ms;
        cfg.on_attempt = [log](const wrenn::attempt_record& r) {
            log->push_back({std::string(r.method), std::string(r.url), std::string(r.error), r.attempt, r.status,
                            r.retry_in});
        };
        // a POST too: a refused connection never carried the request
        auto e = as<wrenn::transport_error>(failure_of(cfg, [](wrenn::client c) { return c.capsules().pause("cl-abc"); }));
        CHECK(e.code() == "connect_failed");
        REQUIRE(log->size() == attempts);
        CHECK(log->back().attempt == attempts);
        CHECK(!log->back().retry_in);
    }
}

TEST_CASE("retries: the hook never sees the API key", "[retry][secrets]") {
    canned_server srv({http_answer(503, "{}"), canned_server::hang_up, http_answer(401, R"({"error":{"code":"unauthorized","message":"bad key"}})")});
    auto log = std::make_shared<std::vector<seen_attempt>>();
    auto failure = failure_of(recording(srv, log), [](wrenn::client c) { return c.capsules().get("cl-abc"); });
    auto e = as<wrenn::authentication_error>(failure);
    CHECK(std::string(e.what()).find(api_key) == std::string::npos);
    // 503; then the kept-alive connection is closed unanswered (sent again
    // at once on a new one); then 401
    REQUIRE(log->size() == 3);
    CHECK((*log)[1].retry_in == std::chrono::milliseconds(0));
    for (auto& r : *log) {
        CHECK(r.url.find(api_key) == std::string::npos);
        CHECK(r.error.find(api_key) == std::string::npos);
    }
    // ...while the key was sent on every attempt
    for (auto& req : srv.requests()) CHECK(req.find("X-API-Key: " + api_key) != std::string::npos);
}

TEST_CASE("retries: the server's retryable (API 0.4.0) reaches the retry rules", "[retry]") {
    const std::string unreachable =
        R"({"error":{"code":"host_unreachable","message":"m","request_id":"req_0000000000000001","retryable":true}})";
    SECTION("a 502 retryable GET is sent again") {
        canned_server srv({http_answer(502, unreachable), http_answer(200, capsule_json)});
        auto log = std::make_shared<std::vector<seen_attempt>>();
        auto info = wrenn_test::run(recording(srv, log), [](wrenn::client c) { return c.capsules().get("cl-abc"); });
        CHECK(info.id == "cl-abc");
        CHECK(srv.requests().size() == 2);
    }
    SECTION("the same answer to a POST is not: it may have taken effect") {
        canned_server srv({http_answer(502, unreachable), http_answer(200, capsule_json)});
        auto log = std::make_shared<std::vector<seen_attempt>>();
        auto e = as<wrenn::host_unavailable_error>(
            failure_of(recording(srv, log), [](wrenn::client c) { return c.capsules().pause("cl-abc"); }));
        CHECK(e.retryable() == true);
        CHECK(e.request_id() == "req_0000000000000001");
        CHECK(srv.requests().size() == 1);
    }
    SECTION("a 503 the server calls not retryable is not sent again") {
        canned_server srv({http_answer(503, R"({"error":{"code":"service_unavailable","message":"m","retryable":false}})"),
                           http_answer(200, capsule_json)});
        auto log = std::make_shared<std::vector<seen_attempt>>();
        as<wrenn::host_unavailable_error>(
            failure_of(recording(srv, log), [](wrenn::client c) { return c.capsules().get("cl-abc"); }));
        CHECK(srv.requests().size() == 1);
    }
}
