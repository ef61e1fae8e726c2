// The error contract of API 0.4.0 (request id, retryable, details, the new
// code catalog) beside the v0.1.5 envelope: one decoder for both.
#include <wrenn/error.hpp>
#include <wrenn/error_code.hpp>
#include <wrenn/protocol/answers.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <typeinfo>

using wrenn::protocol::make_http_error;

namespace {

template <class F>
void with_error(std::exception_ptr p, F&& check) {
    REQUIRE(p);
    try {
        std::rethrow_exception(p);
    } catch (const wrenn::error& e) {
        check(e);
    } catch (...) {
        FAIL("not a wrenn::error");
    }
}

std::string envelope04(const std::string& code, const std::string& message, bool retryable,
                       const std::string& details = "") {
    std::string b = R"({"error":{"code":")" + code + R"(","message":")" + message +
                    R"(","request_id":"req_8f3ka92b1c04d7e6","retryable":)" + (retryable ? "true" : "false");
    if (!details.empty()) b += R"(,"details":)" + details;
    return b + "}}\n";
}

} // namespace

TEST_CASE("errors 0.4: every code of the catalog maps to its class", "[errors]") {
    struct row {
        unsigned status;
        std::string code;
        wrenn::errc cls;
    };
    using wrenn::errc;
    auto r = GENERATE(values<row>({
        {500, "internal_error", errc::internal},
        {400, "invalid_request", errc::validation},
        {400, "validation_failed", errc::validation},
        {401, "auth_invalid_credentials", errc::authentication},
        {401, "auth_session_required", errc::authentication},
        {401, "auth_invalid_api_key", errc::authentication},
        {403, "auth_csrf_failed", errc::forbidden},
        {403, "auth_account_not_activated", errc::forbidden},
        {403, "auth_account_disabled", errc::forbidden},
        {403, "forbidden", errc::forbidden},
        {403, "template_protected", errc::forbidden},
        {404, "not_found", errc::not_found},
        {404, "sandbox_not_found", errc::not_found},
        {404, "template_not_found", errc::not_found},
        {404, "snapshot_not_found", errc::not_found},
        {404, "build_not_found", errc::not_found},
        {404, "host_not_found", errc::not_found},
        {404, "team_not_found", errc::not_found},
        {404, "user_not_found", errc::not_found},
        {404, "volume_not_found", errc::not_found},
        {409, "conflict", errc::conflict},
        {409, "sandbox_not_running", errc::wrong_state},
        {409, "sandbox_not_paused", errc::wrong_state},
        {409, "has_active_sandboxes", errc::host_has_capsules},
        {409, "volume_in_use", errc::volume_in_use},
        {409, "volume_host_mismatch", errc::volume_host_mismatch},
        {409, "volumes_attached", errc::conflict},
        {409, "volume_name_taken", errc::volume_name_taken},
        {409, "auth_email_taken", errc::conflict},  // an auth_* code we do not list: its status decides
        {413, "payload_too_large", errc::payload_too_large},
        {429, "rate_limited", errc::rate_limited},
        {502, "sandbox_unresponsive", errc::agent},
        {502, "host_unreachable", errc::host_unavailable},
        {503, "host_draining", errc::host_unavailable},
        {503, "capacity_unavailable", errc::host_unavailable},
        {503, "service_unavailable", errc::host_unavailable},
        {504, "timeout", errc::timeout},
        {501, "not_implemented", errc::internal},
    }));
    CAPTURE(r.status, r.code);
    auto p = make_http_error(r.status, envelope04(r.code, "m", false));
    CHECK(wrenn::error_code_of(p) == wrenn::make_error_code(r.cls));
    with_error(p, [&](const wrenn::error& e) {
        CHECK(e.code() == r.code);
        CHECK(e.status() == r.status);
        CHECK(e.request_id() == "req_8f3ka92b1c04d7e6");
        CHECK(e.retryable() == false);
    });
}

TEST_CASE("errors 0.4: the state errors and the volume errors are conflicts", "[errors]") {
    auto code = GENERATE(as<std::string>{}, "sandbox_not_running", "sandbox_not_paused", "invalid_state",
                         "volume_in_use", "volume_host_mismatch", "volume_name_taken");
    CAPTURE(code);
    with_error(make_http_error(409, envelope04(code, "m", false)), [](const wrenn::error& e) {
        CHECK(dynamic_cast<const wrenn::conflict_error*>(&e) != nullptr);
    });
}

TEST_CASE("errors 0.4: request id, retryable and details come from the envelope", "[errors]") {
    auto body = envelope04("sandbox_not_running", "Sandbox is not running.", false,
                           R"({"status":"paused","count":3,"ids":["a","b"],"nested":{"k":"v"}})");
    with_error(make_http_error(409, body, {}, {"commands.run('ls')"}), [&](const wrenn::error& e) {
        CHECK(e.request_id() == "req_8f3ka92b1c04d7e6");
        REQUIRE(e.retryable().has_value());
        CHECK_FALSE(*e.retryable());
        CHECK(e.details().at("status") == "paused");
        CHECK(e.details().at("count") == "3");
        CHECK(e.details().at("ids") == R"(["a","b"])");
        CHECK(e.details().at("nested") == R"({"k":"v"})");
        CHECK(e.details().size() == 4);
        CHECK(e.body() == body);
        // the message names what was asked for and the state the capsule is in
        CHECK(e.message() == "commands.run('ls'): Sandbox is not running. (status: paused)");
        auto* w = dynamic_cast<const wrenn::wrong_state_error*>(&e);
        REQUIRE(w);
        CHECK(w->capsule_status() == "paused");
    });
}

TEST_CASE("errors 0.4: retryable true is kept, a retryable that is not a bool is ignored", "[errors]") {
    with_error(make_http_error(502, envelope04("host_unreachable", "m", true)),
               [](const wrenn::error& e) { CHECK(e.retryable() == true); });
    auto odd = R"({"error":{"code":"timeout","message":"m","retryable":"yes"}})";
    with_error(make_http_error(504, odd), [](const wrenn::error& e) { CHECK_FALSE(e.retryable().has_value()); });
}

TEST_CASE("errors 0.4: old servers leave the new fields empty", "[errors]") {
    auto body = std::string(R"j({"error":{"code":"invalid_state","message":"sandbox is not running (status: paused)"}})j");
    with_error(make_http_error(409, body), [](const wrenn::error& e) {
        CHECK(e.request_id().empty());
        CHECK_FALSE(e.retryable().has_value());
        CHECK(e.details().empty());
        auto* w = dynamic_cast<const wrenn::wrong_state_error*>(&e);
        REQUIRE(w);
        // the old server names the status in its message: read from there
        CHECK(w->capsule_status() == "paused");
        CHECK(e.message() == "sandbox is not running (status: paused)");
    });
}

TEST_CASE("errors 0.4: the X-Request-ID header stands in when the body has no request_id", "[errors]") {
    wrenn::protocol::error_context ctx;
    ctx.request_id = "req_0000000000000001";
    with_error(make_http_error(404, "404 page not found\n", {}, ctx),
               [](const wrenn::error& e) { CHECK(e.request_id() == "req_0000000000000001"); });
    // the body's own id wins (they are equal on a real server)
    with_error(make_http_error(404, envelope04("sandbox_not_found", "m", false), {}, ctx),
               [](const wrenn::error& e) { CHECK(e.request_id() == "req_8f3ka92b1c04d7e6"); });
}

TEST_CASE("errors 0.4: has_active_sandboxes finds the ids in details, and the old places still", "[errors]") {
    auto where = GENERATE(as<std::string>{},
                          R"({"error":{"code":"has_active_sandboxes","message":"m","retryable":false,"details":{"sandbox_ids":["cl-a","cl-b"]}}})",
                          R"({"error":{"code":"has_active_sandboxes","message":"m","sandbox_ids":["cl-a","cl-b"]}})",
                          R"({"error":{"code":"has_active_sandboxes","message":"m"},"capsule_ids":["cl-a","cl-b"]})");
    CAPTURE(where);
    with_error(make_http_error(409, where), [](const wrenn::error& e) {
        auto* h = dynamic_cast<const wrenn::host_has_capsules_error*>(&e);
        REQUIRE(h);
        CHECK(h->capsule_ids() == std::vector<std::string>{"cl-a", "cl-b"});
    });
}

TEST_CASE("errors 0.4: read_error_envelope on bodies that are not envelopes", "[errors]") {
    auto text = wrenn::protocol::read_error_envelope("404 page not found\n");
    CHECK_FALSE(text.json);
    CHECK(text.code.empty());
    auto empty = wrenn::protocol::read_error_envelope("{}");
    CHECK(empty.json);
    CHECK(empty.code.empty());
    CHECK_FALSE(empty.retryable.has_value());
    auto odd_details = wrenn::protocol::read_error_envelope(R"({"error":{"code":"c","details":[1,2]}})");
    CHECK(odd_details.details.empty());  // details that are not an object are not details
    CHECK(odd_details.code == "c");
}
