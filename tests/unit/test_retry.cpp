// The retry rules (protocol/retry.hpp): what may be sent again, and when.
#include <catch2/catch.hpp>

#include <wrenn/protocol/retry.hpp>

using namespace std::chrono_literals;
using wrenn::protocol::attempt_outcome;
using wrenn::protocol::retry_delay;
using ms = std::chrono::milliseconds;

namespace {
attempt_outcome failed(bool idempotent, bool sent, bool answer_started) {
    attempt_outcome o;
    o.idempotent = idempotent;
    o.request_sent = sent;
    o.answer_started = answer_started;
    return o;
}
attempt_outcome answered(unsigned status, bool idempotent = false) {
    attempt_outcome o;
    o.idempotent = idempotent;
    o.request_sent = o.answer_started = true;
    o.status = status;
    return o;
}
} // namespace

TEST_CASE("retry: every failure without an answer, by method kind and how far it got", "[retry]") {
    const wrenn::retry_policy p;
    for (bool idempotent : {false, true})
        for (bool sent : {false, true})
            for (bool started : {false, true}) {
                if (!sent && started) continue;  // cannot happen
                CAPTURE(idempotent, sent, started);
                const bool expected = !sent || (idempotent && !started);
                CHECK(retry_delay(p, failed(idempotent, sent, started), 0.5).has_value() == expected);
            }
}

TEST_CASE("retry: 429 and 503 for any method, no other status", "[retry]") {
    const wrenn::retry_policy p;
    for (unsigned status = 100; status < 600; ++status)
        for (bool idempotent : {false, true}) {
            CAPTURE(status, idempotent);
            CHECK(retry_delay(p, answered(status, idempotent), 0.5).has_value() == (status == 429 || status == 503));
        }
}

TEST_CASE("retry: Retry-After replaces the backoff, up to max_retry_after", "[retry]") {
    wrenn::retry_policy p;
    auto o = answered(429);
    o.retry_after = 3s;
    CHECK(retry_delay(p, o, 0.9) == ms(3000));
    o.retry_after = 0s;
    CHECK(retry_delay(p, o, 0.9) == ms(0));
    o.retry_after = 30s;
    CHECK(retry_delay(p, o, 0.0) == ms(30000));
    o.retry_after = 31s;  // longer than the caller agreed to wait: raise the 429
    CHECK_FALSE(retry_delay(p, o, 0.0).has_value());
    p.max_retry_after = 60s;
    CHECK(retry_delay(p, o, 0.0) == ms(31000));
}

TEST_CASE("retry: the backoff doubles from base_delay, is capped, and jitters in its upper half", "[retry]") {
    wrenn::retry_policy p;
    p.max_attempts = 100;
    p.base_delay = 100ms;
    p.max_delay = 2s;
    auto o = failed(true, false, false);
    const ms expected_d[] = {100ms, 200ms, 400ms, 800ms, 1600ms, 2000ms, 2000ms};
    for (unsigned attempt = 1; attempt <= 7; ++attempt) {
        CAPTURE(attempt);
        o.attempt = attempt;
        const ms d = expected_d[attempt - 1];
        CHECK(retry_delay(p, o, 0.0) == d / 2);
        CHECK(retry_delay(p, o, 0.5) == d / 2 + d / 4);
        auto hi = retry_delay(p, o, 0.999999);
        REQUIRE(hi);
        CHECK(*hi <= d);
        CHECK(*hi >= d - ms(1));
    }
    o.attempt = 64;  // no overflow however many attempts
    CHECK(retry_delay(p, o, 1.0) == ms(2000));
    // jitter outside [0, 1] is clamped
    o.attempt = 1;
    CHECK(retry_delay(p, o, -3.0) == ms(50));
    CHECK(retry_delay(p, o, 7.0) == ms(100));
}

TEST_CASE("retry: max_attempts counts every attempt, 1 turns retries off", "[retry]") {
    wrenn::retry_policy p;
    p.max_attempts = 3;
    auto o = answered(503);
    o.attempt = 1;
    CHECK(retry_delay(p, o, 0.5));
    o.attempt = 2;
    CHECK(retry_delay(p, o, 0.5));
    o.attempt = 3;
    CHECK_FALSE(retry_delay(p, o, 0.5));
    p.max_attempts = 1;
    o.attempt = 1;
    CHECK_FALSE(retry_delay(p, o, 0.5));
    CHECK_FALSE(retry_delay(p, failed(true, false, false), 0.5));
}

TEST_CASE("retry: never after a cancellation or the request's own deadline", "[retry]") {
    const wrenn::retry_policy p;
    auto o = failed(true, false, false);
    o.cancelled = true;
    CHECK_FALSE(retry_delay(p, o, 0.5));
    o.cancelled = false;
    o.total_timeout = true;
    CHECK_FALSE(retry_delay(p, o, 0.5));
}

TEST_CASE("retry: the server's retryable (API 0.4.0), by status and method kind", "[retry]") {
    const wrenn::retry_policy p;
    for (unsigned status : {400u, 404u, 409u, 429u, 500u, 502u, 503u, 504u})
        for (bool idempotent : {false, true})
            for (int said = 0; said < 3; ++said) {  // not said, false, true
                auto o = answered(status, idempotent);
                if (said) o.retryable = said == 2;
                CAPTURE(status, idempotent, said);
                const bool not_done = status == 429 || status == 503;
                bool expected;
                if (said == 1) expected = false;                       // the server says it would fail again
                else if (said == 2) expected = not_done || idempotent;  // may have taken effect: only if resendable
                else expected = not_done;                              // the old servers' rule
                CHECK(retry_delay(p, o, 0.5).has_value() == expected);
            }
}
