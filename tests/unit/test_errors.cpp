// make_http_error / throw_http_error: the error envelope to the exception
// classes of error.hpp (WIRE.md §1.6), by code first, then by HTTP status.
#include <catch2/catch.hpp>

#include <wrenn/error.hpp>
#include <wrenn/protocol/answers.hpp>

#include <chrono>
#include <exception>
#include <optional>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <vector>

using namespace std::chrono_literals;
using wrenn::protocol::make_http_error;
using wrenn::protocol::throw_http_error;

namespace {

// The exact dynamic class, by name (a catch by base class would hide a
// host_has_capsules_error posing as a conflict_error, etc.).
std::string class_of(const wrenn::error& e) {
    const auto& t = typeid(e);
    if (t == typeid(wrenn::validation_error)) return "validation_error";
    if (t == typeid(wrenn::authentication_error)) return "authentication_error";
    if (t == typeid(wrenn::forbidden_error)) return "forbidden_error";
    if (t == typeid(wrenn::not_found_error)) return "not_found_error";
    if (t == typeid(wrenn::conflict_error)) return "conflict_error";
    if (t == typeid(wrenn::wrong_state_error)) return "wrong_state_error";
    if (t == typeid(wrenn::volume_in_use_error)) return "volume_in_use_error";
    if (t == typeid(wrenn::volume_host_mismatch_error)) return "volume_host_mismatch_error";
    if (t == typeid(wrenn::volume_name_taken_error)) return "volume_name_taken_error";
    if (t == typeid(wrenn::host_has_capsules_error)) return "host_has_capsules_error";
    if (t == typeid(wrenn::payload_too_large_error)) return "payload_too_large_error";
    if (t == typeid(wrenn::rate_limited_error)) return "rate_limited_error";
    if (t == typeid(wrenn::internal_error)) return "internal_error";
    if (t == typeid(wrenn::agent_error)) return "agent_error";
    if (t == typeid(wrenn::host_unavailable_error)) return "host_unavailable_error";
    if (t == typeid(wrenn::config_error)) return "config_error";
    if (t == typeid(wrenn::usage_error)) return "usage_error";
    if (t == typeid(wrenn::timeout_error)) return "timeout_error";
    if (t == typeid(wrenn::transport_error)) return "transport_error";
    if (t == typeid(wrenn::protocol_error)) return "protocol_error";
    if (t == typeid(wrenn::capsule_state_error)) return "capsule_state_error";
    if (t == typeid(wrenn::error)) return "error";
    return std::string("other: ") + t.name();
}

// Rethrows the exception_ptr and catches it as wrenn::error; fails the test if
// anything else (or nothing) comes out.
struct caught {
    std::string cls, code, message, body, what;
    unsigned status = 0;
    std::vector<std::string> capsule_ids;
    std::optional<std::chrono::seconds> retry_after;
    bool is_conflict = false;
};

caught catch_it(std::exception_ptr p) {
    REQUIRE(p);
    caught c;
    try {
        std::rethrow_exception(p);
    } catch (const wrenn::error& e) {
        c.cls = class_of(e);
        c.code = e.code();
        c.message = e.message();
        c.body = e.body();
        c.status = e.status();
        c.what = e.what();
        if (auto* h = dynamic_cast<const wrenn::host_has_capsules_error*>(&e)) c.capsule_ids = h->capsule_ids();
        if (auto* r = dynamic_cast<const wrenn::rate_limited_error*>(&e)) c.retry_after = r->retry_after();
        c.is_conflict = dynamic_cast<const wrenn::conflict_error*>(&e) != nullptr;
    } catch (...) {
        FAIL("make_http_error produced something that is not a wrenn::error");
    }
    return c;
}

caught map_error(unsigned status, const std::string& body, std::optional<std::chrono::seconds> ra = {}) {
    return catch_it(make_http_error(status, body, ra));
}

std::string envelope(const std::string& code, const std::string& message) {
    return R"({"error":{"code":")" + code + R"(","message":")" + message + "\"}}\n";
}

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

} // namespace

// ---------------------------------------------------------------------------
// class hierarchy

static_assert(std::is_base_of_v<std::runtime_error, wrenn::error>);
static_assert(std::is_base_of_v<wrenn::error, wrenn::validation_error>);
static_assert(std::is_base_of_v<wrenn::error, wrenn::authentication_error>);
static_assert(std::is_base_of_v<wrenn::error, wrenn::forbidden_error>);
static_assert(std::is_base_of_v<wrenn::error, wrenn::not_found_error>);
static_assert(std::is_base_of_v<wrenn::error, wrenn::conflict_error>);
static_assert(std::is_base_of_v<wrenn::conflict_error, wrenn::host_has_capsules_error>);
static_assert(std::is_base_of_v<wrenn::error, wrenn::payload_too_large_error>);
static_assert(std::is_base_of_v<wrenn::error, wrenn::rate_limited_error>);
static_assert(std::is_base_of_v<wrenn::error, wrenn::internal_error>);
static_assert(std::is_base_of_v<wrenn::error, wrenn::agent_error>);
static_assert(std::is_base_of_v<wrenn::error, wrenn::host_unavailable_error>);
static_assert(std::is_base_of_v<wrenn::error, wrenn::config_error>);
static_assert(std::is_base_of_v<wrenn::error, wrenn::usage_error>);
static_assert(std::is_base_of_v<wrenn::error, wrenn::timeout_error>);
static_assert(std::is_base_of_v<wrenn::error, wrenn::transport_error>);
static_assert(std::is_base_of_v<wrenn::error, wrenn::protocol_error>);
static_assert(std::is_base_of_v<wrenn::error, wrenn::capsule_state_error>);
// siblings stay siblings
static_assert(!std::is_base_of_v<wrenn::conflict_error, wrenn::validation_error>);
static_assert(!std::is_base_of_v<wrenn::internal_error, wrenn::agent_error>);
static_assert(!std::is_base_of_v<wrenn::agent_error, wrenn::internal_error>);
static_assert(!std::is_base_of_v<wrenn::host_unavailable_error, wrenn::internal_error>);
static_assert(!std::is_base_of_v<wrenn::conflict_error, wrenn::rate_limited_error>);

TEST_CASE("errors: wrenn::error carries code, message, status and body, and what() names them", "[errors]") {
    wrenn::error e("not_found", "sandbox not found", 404, "{\"x\":1}\n");
    CHECK(e.code() == "not_found");
    CHECK(e.message() == "sandbox not found");
    CHECK(e.status() == 404);
    CHECK(e.body() == "{\"x\":1}\n");
    std::string w = e.what();
    CHECK(contains(w, "sandbox not found"));
    CHECK(contains(w, "not_found"));
    CHECK(contains(w, "404"));

    wrenn::usage_error u("bad_argument", "port must be 1..65535");
    CHECK(u.status() == 0);
    CHECK(u.body().empty());
    CHECK(contains(u.what(), "port must be 1..65535"));
    CHECK(contains(u.what(), "bad_argument"));
    CHECK_FALSE(contains(u.what(), "HTTP"));  // no status for client-side errors

    wrenn::timeout_error t("timeout", "");
    CHECK(contains(t.what(), "timeout"));  // an empty message still gives a useful what()
    CHECK(std::string(t.what()).size() > std::string("timeout").size());
}

TEST_CASE("errors: host_has_capsules_error and rate_limited_error keep their extras", "[errors]") {
    wrenn::host_has_capsules_error h("host_has_capsules", "m", 409, "b", {"cl-1", "cl-2"});
    CHECK(h.capsule_ids() == std::vector<std::string>{"cl-1", "cl-2"});
    CHECK(h.status() == 409);
    wrenn::rate_limited_error r("rate_limited", "m", 429, "b", 12s);
    REQUIRE(r.retry_after().has_value());
    CHECK(*r.retry_after() == 12s);
    wrenn::rate_limited_error r2("rate_limited", "m", 429, "b", std::nullopt);
    CHECK_FALSE(r2.retry_after().has_value());
}

// ---------------------------------------------------------------------------
// by code (WIRE.md §1.6.1 / §1.6.2)

TEST_CASE("errors: every server code maps to its class", "[errors]") {
    struct row {
        unsigned status;
        std::string code, cls;
    };
    auto r = GENERATE(values<row>({
        {400, "invalid_request", "validation_error"},
        {401, "unauthorized", "authentication_error"},
        {403, "forbidden", "forbidden_error"},
        {403, "account_deactivated", "forbidden_error"},
        {403, "no_team", "forbidden_error"},
        {404, "not_found", "not_found_error"},
        {409, "invalid_state", "wrong_state_error"},
        {409, "conflict", "conflict_error"},
        {409, "name_reserved", "conflict_error"},
        {409, "template_name_taken", "conflict_error"},
        {409, "host_has_capsules", "host_has_capsules_error"},
        {409, "host_has_sandboxes", "host_has_capsules_error"},
        {409, "has_active_sandboxes", "host_has_capsules_error"},
        {413, "too_large", "payload_too_large_error"},
        {500, "internal_error", "internal_error"},
        {500, "db_error", "internal_error"},
        {500, "read_error", "internal_error"},
        {500, "agent_error", "agent_error"},  // snapshot delete: agent_error with 500
        {501, "agent_error", "agent_error"},
        {502, "agent_error", "agent_error"},
        {503, "host_unavailable", "host_unavailable_error"},
        {503, "no_hosts_available", "host_unavailable_error"},
        {429, "rate_limited", "rate_limited_error"},
    }));
    CAPTURE(r.status, r.code);
    const std::string msg = "message for " + r.code;
    const std::string body = envelope(r.code, msg);
    auto c = map_error(r.status, body);
    CHECK(c.cls == r.cls);
    CHECK(c.code == r.code);
    CHECK(c.message == msg);
    CHECK(c.status == r.status);
    CHECK(c.body == body);
    CHECK(contains(c.what, msg));
    CHECK(contains(c.what, r.code));
}

TEST_CASE("errors: the code wins over the HTTP status", "[errors]") {
    struct row {
        unsigned status;
        std::string code, cls;
    };
    auto r = GENERATE(values<row>({
        {500, "invalid_request", "validation_error"},
        {400, "not_found", "not_found_error"},
        {404, "unauthorized", "authentication_error"},
        {409, "forbidden", "forbidden_error"},
        {502, "invalid_state", "wrong_state_error"},
        {400, "has_active_sandboxes", "host_has_capsules_error"},
        {500, "too_large", "payload_too_large_error"},
        {400, "internal_error", "internal_error"},
        {404, "agent_error", "agent_error"},
        {500, "no_hosts_available", "host_unavailable_error"},
        {503, "conflict", "conflict_error"},
        {418, "not_found", "not_found_error"},
    }));
    CAPTURE(r.status, r.code);
    auto c = map_error(r.status, envelope(r.code, "m"));
    CHECK(c.cls == r.cls);
    CHECK(c.status == r.status);
}

TEST_CASE("errors: codes are matched exactly (case and spacing matter)", "[errors]") {
    // a near-miss code is unknown, so the status decides; at 418 that is the base class
    auto code = GENERATE(as<std::string>{}, "NOT_FOUND", "not_found ", " not_found", "notfound", "not-found",
                         "Invalid_Request", "agent_errors", "");
    CAPTURE(code);
    auto c = map_error(418, envelope(code, "m"));
    CHECK(c.cls == "error");
    CHECK(c.message == "m");
}

TEST_CASE("errors: unknown codes fall back to the class of the HTTP status", "[errors]") {
    struct row {
        unsigned status;
        std::string cls;
    };
    auto r = GENERATE(values<row>({
        {400, "validation_error"},
        {401, "authentication_error"},
        {403, "forbidden_error"},
        {404, "not_found_error"},
        {409, "conflict_error"},
        {413, "payload_too_large_error"},
        {429, "rate_limited_error"},
        {500, "internal_error"},
        {501, "internal_error"},
        {502, "agent_error"},
        {503, "host_unavailable_error"},
        {504, "timeout_error"},
        {599, "internal_error"},
        {405, "error"},
        {410, "error"},
        {418, "error"},
        {422, "error"},
    }));
    CAPTURE(r.status);
    auto code = GENERATE(as<std::string>{}, "brand_new_code", "sandbox_exploded");
    auto c = map_error(r.status, envelope(code, "something new"));
    CHECK(c.cls == r.cls);
    CHECK(c.code == code);  // the unknown code is kept, not replaced
    CHECK(c.message == "something new");
    CHECK(c.status == r.status);
}

TEST_CASE("errors: an envelope without a code falls back by status", "[errors]") {
    struct row {
        unsigned status;
        std::string body, cls;
    };
    auto r = GENERATE(values<row>({
        {404, R"({"error":{"message":"gone"}})", "not_found_error"},
        {409, R"({"error":{"code":"","message":"gone"}})", "conflict_error"},
        {400, R"({"error":{"code":null,"message":"gone"}})", "validation_error"},
        {403, R"({"error":{"code":403,"message":"gone"}})", "forbidden_error"},
        {502, R"({"error":{"code":["agent_error"],"message":"gone"}})", "agent_error"},
        {503, R"({"error":"gone"})", "host_unavailable_error"},
        {401, R"({"error":"gone","code":"not_found"})", "authentication_error"},
    }));
    CAPTURE(r.body);
    auto c = map_error(r.status, r.body);
    CHECK(c.cls == r.cls);
    CHECK(c.message == "gone");
    CHECK_FALSE(c.code.empty());
    CHECK(c.body == r.body);
}

// ---------------------------------------------------------------------------
// host_has_capsules ids

TEST_CASE("errors: host_has_capsules ids are read from every documented place", "[errors]") {
    struct row {
        std::string body;
        std::vector<std::string> ids;
    };
    auto r = GENERATE(values<row>({
        // the real server: inside "error"
        {R"({"error":{"code":"has_active_sandboxes","message":"m","sandbox_ids":["cl-1","cl-2"]}})", {"cl-1", "cl-2"}},
        {R"({"error":{"code":"host_has_capsules","message":"m","capsule_ids":["cl-a"]}})", {"cl-a"}},
        // PY: top level
        {R"({"error":{"code":"host_has_capsules","message":"m"},"capsule_ids":["cl-t"]})", {"cl-t"}},
        {R"({"error":{"code":"host_has_sandboxes","message":"m"},"sandbox_ids":["cl-s","cl-u"]})", {"cl-s", "cl-u"}},
        // priority: error.capsule_ids > error.sandbox_ids > capsule_ids > sandbox_ids
        {R"({"error":{"code":"host_has_capsules","message":"m","capsule_ids":["1"],"sandbox_ids":["2"]},"capsule_ids":["3"],"sandbox_ids":["4"]})", {"1"}},
        {R"({"error":{"code":"host_has_capsules","message":"m","sandbox_ids":["2"]},"capsule_ids":["3"],"sandbox_ids":["4"]})", {"2"}},
        {R"({"error":{"code":"host_has_capsules","message":"m"},"capsule_ids":["3"],"sandbox_ids":["4"]})", {"3"}},
        // wrong-typed lists are skipped in favour of the next place
        {R"({"error":{"code":"host_has_capsules","message":"m","capsule_ids":"cl-1"},"sandbox_ids":["4"]})", {"4"}},
        {R"({"error":{"code":"host_has_capsules","message":"m","capsule_ids":{"a":"b"}},"capsule_ids":["3"]})", {"3"}},
        // non-string entries are dropped
        {R"({"error":{"code":"has_active_sandboxes","message":"m","sandbox_ids":["a",1,null,"b",{},["c"]]}})", {"a", "b"}},
        // none anywhere
        {R"({"error":{"code":"host_has_capsules","message":"m"}})", {}},
        {R"({"error":{"code":"host_has_capsules","message":"m","sandbox_ids":[]}})", {}},
        {R"({"error":{"code":"host_has_capsules","message":"m","capsule_ids":null}})", {}},
    }));
    CAPTURE(r.body);
    auto c = map_error(409, r.body + "\n");
    CHECK(c.cls == "host_has_capsules_error");
    CHECK(c.is_conflict);
    CHECK(c.capsule_ids == r.ids);
    CHECK(c.message == "m");
}

TEST_CASE("errors: host_has_capsules_error can be caught as conflict_error", "[errors]") {
    auto p = make_http_error(
        409, R"({"error":{"code":"has_active_sandboxes","message":"host busy","sandbox_ids":["cl-9"]}})");
    bool caught_as_conflict = false;
    try {
        std::rethrow_exception(p);
    } catch (const wrenn::conflict_error& e) {
        caught_as_conflict = true;
        CHECK(e.message() == "host busy");
        auto* h = dynamic_cast<const wrenn::host_has_capsules_error*>(&e);
        REQUIRE(h);
        CHECK(h->capsule_ids() == std::vector<std::string>{"cl-9"});
    }
    CHECK(caught_as_conflict);
}

TEST_CASE("errors: ids outside a host_has_capsules error are ignored", "[errors]") {
    auto c = map_error(409, R"({"error":{"code":"conflict","message":"m","sandbox_ids":["cl-1"]}})");
    CHECK(c.cls == "conflict_error");
    CHECK(c.capsule_ids.empty());
}

// ---------------------------------------------------------------------------
// 429

TEST_CASE("errors: 429 becomes rate_limited_error carrying retry_after", "[errors]") {
    SECTION("json envelope with a retry-after") {
        auto body = envelope("rate_limited", "slow down");
        auto c = map_error(429, body, 7s);
        CHECK(c.cls == "rate_limited_error");
        CHECK(c.code == "rate_limited");
        CHECK(c.message == "slow down");
        CHECK(c.status == 429);
        REQUIRE(c.retry_after.has_value());
        CHECK(*c.retry_after == 7s);
    }
    SECTION("zero seconds is a value, not absent") {
        auto c = map_error(429, envelope("rate_limited", "m"), 0s);
        REQUIRE(c.retry_after.has_value());
        CHECK(c.retry_after->count() == 0);
    }
    SECTION("no retry-after") {
        auto c = map_error(429, envelope("too_many_requests", "m"));
        CHECK(c.cls == "rate_limited_error");
        CHECK_FALSE(c.retry_after.has_value());
    }
    SECTION("unknown code at 429") {
        auto c = map_error(429, envelope("whatever", "m"), 3600s);
        CHECK(c.cls == "rate_limited_error");
        REQUIRE(c.retry_after.has_value());
        CHECK(*c.retry_after == 3600s);
    }
    SECTION("plain-text 429 from a proxy") {
        auto c = map_error(429, "Too Many Requests\n", 2s);
        CHECK(c.cls == "rate_limited_error");
        CHECK(contains(c.message, "Too Many Requests"));
        REQUIRE(c.retry_after.has_value());
        CHECK(*c.retry_after == 2s);
    }
    SECTION("empty 429") {
        auto c = map_error(429, "");
        CHECK(c.cls == "rate_limited_error");
        CHECK(contains(c.message, "429"));
    }
}

// ---------------------------------------------------------------------------
// non-JSON bodies

TEST_CASE("errors: non-JSON bodies get the class of their status and a readable message", "[errors]") {
    struct row {
        unsigned status;
        std::string body, cls, message_part;
    };
    const std::string html502 =
        "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad "
        "Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
    auto r = GENERATE_COPY(values<row>({
        // a 502 HTML page comes from a gateway, not from the host agent
        {502, html502, "internal_error", "502 Bad Gateway"},
        {404, "404 page not found\n", "not_found_error", "404 page not found"},
        {400, "Bad Request\n", "validation_error", "Bad Request"},
        {503, "no healthy upstream", "host_unavailable_error", "no healthy upstream"},
        {500, "Internal Server Error", "internal_error", "Internal Server Error"},
        {401, "Unauthorized", "authentication_error", "Unauthorized"},
        {403, "<h1>Forbidden</h1>", "forbidden_error", "Forbidden"},
        {409, "conflict!", "conflict_error", "conflict!"},
        {413, "<html><body>413 Request Entity Too Large</body></html>", "payload_too_large_error",
         "413 Request Entity Too Large"},
        {504, "upstream request timeout", "timeout_error", "upstream request timeout"},
        {405, "Method Not Allowed", "error", "Method Not Allowed"},
        // JSON, but not an object: treated like text
        {404, "[]", "not_found_error", "[]"},
        {500, "null", "internal_error", "null"},
        {503, "\"down\"", "host_unavailable_error", "down"},
        // an envelope followed by garbage is not JSON
        {404, R"({"error":{"code":"conflict","message":"m"}} trailing)", "not_found_error", "trailing"},
    }));
    CAPTURE(r.status, r.body);
    auto c = map_error(r.status, r.body);
    CHECK(c.cls == r.cls);
    CHECK(c.status == r.status);
    CHECK(c.body == r.body);
    CHECK_FALSE(c.code.empty());
    CHECK(contains(c.message, r.message_part));
    CHECK(contains(c.message, std::to_string(r.status)));
    // readable: one line
    CHECK_FALSE(contains(c.message, "\n"));
    CHECK_FALSE(contains(c.message, "\r"));
    CHECK(contains(c.what, c.message));
    CHECK(contains(c.what, c.code));
}

TEST_CASE("errors: empty bodies", "[errors]") {
    struct row {
        unsigned status;
        std::string cls;
    };
    auto r = GENERATE(values<row>({
        {400, "validation_error"},
        {401, "authentication_error"},
        {403, "forbidden_error"},
        {404, "not_found_error"},
        {405, "error"},
        {409, "conflict_error"},
        {413, "payload_too_large_error"},
        {500, "internal_error"},
        {502, "internal_error"},
        {503, "host_unavailable_error"},
    }));
    CAPTURE(r.status);
    auto body = GENERATE(as<std::string>{}, "", "\n", "  \r\n\t ");
    auto c = map_error(r.status, body);
    CHECK(c.cls == r.cls);
    CHECK(c.status == r.status);
    CHECK(c.body == body);
    CHECK(c.message == "HTTP " + std::to_string(r.status));
    CHECK_FALSE(c.code.empty());
    CHECK(contains(c.what, c.message));
}

TEST_CASE("errors: a huge non-JSON body is cut short in the message, kept whole in body()", "[errors]") {
    std::string body(100000, 'x');
    body += "TAIL";
    auto c = map_error(500, body);
    CHECK(c.cls == "internal_error");
    CHECK(c.body == body);
    CHECK(c.message.size() < 300);
    CHECK_FALSE(contains(c.message, "TAIL"));
    CHECK(std::string(c.what).size() < 400);
}

// ---------------------------------------------------------------------------
// message hygiene

TEST_CASE("errors: messages come from the envelope, never from other fields", "[errors]") {
    const std::string key = "wrn_0123456789abcdef0123456789abcdef";
    struct row {
        unsigned status;
        std::string body;
    };
    auto r = GENERATE_COPY(values<row>({
        {401, R"({"error":{"code":"unauthorized","message":"invalid API key"},"api_key":")" + key + "\"}\n"},
        {401, R"({"error":{"code":"unauthorized","message":"invalid API key","key":")" + key + "\"}}\n"},
        {401, R"({"request":{"headers":{"X-API-Key":")" + key +
                  R"("}},"error":{"code":"unauthorized","message":"invalid API key"}})"},
    }));
    CAPTURE(r.body);
    auto c = map_error(r.status, r.body);
    CHECK(c.cls == "authentication_error");
    CHECK(c.code == "unauthorized");
    CHECK(c.message == "invalid API key");
    CHECK_FALSE(contains(c.message, "wrn_"));
    CHECK_FALSE(contains(c.what, "wrn_"));
    CHECK_FALSE(contains(c.code, "wrn_"));
    CHECK(c.body == r.body);  // the raw body is still there for whoever asks
}

TEST_CASE("errors: envelope messages are unescaped JSON strings, kept exactly", "[errors]") {
    struct row {
        std::string body, message;
    };
    auto r = GENERATE(values<row>({
        // Go escapes <, >, & in strings
        {R"({"error":{"code":"invalid_request","message":"a \u003c b \u0026 c \u003e d"}})", "a < b & c > d"},
        {R"({"error":{"code":"invalid_request","message":"line1\nline2"}})", "line1\nline2"},
        {R"({"error":{"code":"invalid_request","message":"\u00e9t\u00e9 \ud83d\ude00"}})",
         "\xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80"},
        {R"({"error":{"code":"invalid_request","message":"your account has been deactivated \u2014 contact"}})",
         "your account has been deactivated \xe2\x80\x94 contact"},
        {"{\"error\":{\"code\":\"invalid_request\",\"message\":\"range must be one of: 5m, 10m, 1h\",\"extra\":1},\"more\":[]}\n",
         "range must be one of: 5m, 10m, 1h"},
        // whitespace around the JSON value
        {" \n\t{\"error\" : { \"message\" : \"spaced\" , \"code\" : \"invalid_request\" } }\n\n", "spaced"},
    }));
    CAPTURE(r.body);
    auto c = map_error(400, r.body);
    CHECK(c.cls == "validation_error");
    CHECK(c.code == "invalid_request");
    CHECK(c.message == r.message);
}

TEST_CASE("errors: a missing or non-string message still gives a non-empty message", "[errors]") {
    auto body = GENERATE(as<std::string>{}, R"({"error":{"code":"not_found"}})",
                         R"({"error":{"code":"not_found","message":""}})",
                         R"({"error":{"code":"not_found","message":null}})",
                         R"({"error":{"code":"not_found","message":42}})");
    CAPTURE(body);
    auto c = map_error(404, body);
    CHECK(c.cls == "not_found_error");
    CHECK(c.code == "not_found");
    CHECK_FALSE(c.message.empty());
    CHECK(contains(c.what, "not_found"));
}

TEST_CASE("errors: throw_http_error throws what make_http_error builds", "[errors]") {
    CHECK_THROWS_AS(throw_http_error(404, envelope("not_found", "sandbox not found")), wrenn::not_found_error);
    CHECK_THROWS_AS(throw_http_error(409, envelope("invalid_state", "m")), wrenn::conflict_error);
    CHECK_THROWS_AS(throw_http_error(502, "<html>bad gateway</html>"), wrenn::internal_error);
    CHECK_THROWS_AS(throw_http_error(502, envelope("agent_error", "m")), wrenn::agent_error);
    CHECK_THROWS_WITH(throw_http_error(404, envelope("not_found", "sandbox not found")),
                      Catch::Matchers::Contains("sandbox not found") && Catch::Matchers::Contains("not_found"));
    try {
        throw_http_error(429, envelope("rate_limited", "m"), 5s);
        FAIL("no throw");
    } catch (const wrenn::rate_limited_error& e) {
        REQUIRE(e.retry_after().has_value());
        CHECK(*e.retry_after() == 5s);
        CHECK(e.status() == 429);
    }
    try {
        throw_http_error(409, R"({"error":{"code":"host_has_sandboxes","message":"m"},"sandbox_ids":["x"]})");
        FAIL("no throw");
    } catch (const wrenn::host_has_capsules_error& e) {
        CHECK(e.capsule_ids() == std::vector<std::string>{"x"});
    }
}

TEST_CASE("errors: every status from 400 to 599 gives some wrenn::error, never a crash", "[errors]") {
    for (unsigned s = 400; s < 600; ++s) {
        for (const std::string& body : {std::string(), std::string("x"), envelope("zzz", "m"),
                                        std::string("{\"error\":[]}"), std::string("{\"error\":{}}")}) {
            CAPTURE(s, body);
            auto c = map_error(s, body);
            CHECK(c.status == s);
            CHECK_FALSE(c.code.empty());
            CHECK_FALSE(c.message.empty());
            CHECK(c.body == body);
        }
    }
}
