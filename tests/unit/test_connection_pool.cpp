// The connection pool's and the attempt plan's decisions (protocol/
// connection_pool.hpp, protocol/retry.hpp), driven by scripted connections,
// clocks and failures: no socket anywhere.
#include <catch2/catch.hpp>

#include <wrenn/protocol/connection_pool.hpp>
#include <wrenn/protocol/retry.hpp>

#include <memory>

using namespace std::chrono_literals;
using wrenn::protocol::connection_pool;
using wrenn::protocol::idle_verdict;
using wrenn::protocol::judge_idle;
using wrenn::protocol::pool_clock;

namespace {

struct fake_connection {
    int id;
    pool_clock::time_point idle_since{};
};

using pool = connection_pool<fake_connection>;
using action = pool::action;

// Opens a connection through the pool as the transport does: reserve, connect, lease.
std::unique_ptr<fake_connection> open_one(pool& p, int id) {
    auto s = p.next(pool_clock::now(), false);
    REQUIRE(s.what == action::open);
    auto c = std::make_unique<fake_connection>(fake_connection{id});
    p.opened();
    p.leased(*c);
    return c;
}

} // namespace

TEST_CASE("pool: idle verdicts by age and resendability", "[pool]") {
    CHECK(judge_idle(0ms, 50s, true) == idle_verdict::usable);
    CHECK(judge_idle(99ms, 50s, true) == idle_verdict::usable);
    CHECK(judge_idle(100ms, 50s, true) == idle_verdict::probe);
    CHECK(judge_idle(0ms, 50s, false) == idle_verdict::probe);  // may not be sent twice: always look
    CHECK(judge_idle(50s, 50s, false) == idle_verdict::probe);
    CHECK(judge_idle(50s + 1ms, 50s, true) == idle_verdict::stale);
    CHECK(judge_idle(50s + 1ms, 50s, false) == idle_verdict::stale);
}

TEST_CASE("pool: a connection is reused only when kept alive with nothing after the answer", "[pool]") {
    CHECK(wrenn::protocol::reusable_after_answer(true, 0));
    CHECK_FALSE(wrenn::protocol::reusable_after_answer(true, 1));
    CHECK_FALSE(wrenn::protocol::reusable_after_answer(false, 0));
}

TEST_CASE("pool: opens up to the limit, then requests wait", "[pool]") {
    pool p(2, 50s);
    auto a = open_one(p, 1);
    CHECK_FALSE(p.must_wait());
    auto b = open_one(p, 2);
    CHECK(p.must_wait());
    CHECK(p.next(pool_clock::now(), false).what == action::wait);
    CHECK(p.open() == 2);
    CHECK(p.busy().size() == 2);
    CHECK(p.created() == 2);

    // a release lets a waiter go on, with the connection it left
    CHECK(p.release(std::move(a), true, pool_clock::now()) == nullptr);
    CHECK_FALSE(p.must_wait());
    CHECK(p.busy().size() == 1);
    auto s = p.next(pool_clock::now(), true);
    REQUIRE(s.what == action::use);
    CHECK(s.conn->id == 1);
    CHECK(p.busy().size() == 2);
    CHECK(p.open() == 2);
}

TEST_CASE("pool: a connection not reusable is handed back to close and frees its slot", "[pool]") {
    pool p(1, 50s);
    auto a = open_one(p, 7);
    auto* raw = a.get();
    auto closed = p.release(std::move(a), false, pool_clock::now());
    REQUIRE(closed);
    CHECK(closed.get() == raw);
    CHECK(p.open() == 0);
    CHECK(p.idle() == 0);
    CHECK(p.busy().empty());
    CHECK(p.next(pool_clock::now(), false).what == action::open);
}

TEST_CASE("pool: a failed connect gives its reserved slot back", "[pool]") {
    pool p(1, 50s);
    REQUIRE(p.next(pool_clock::now(), false).what == action::open);
    CHECK(p.must_wait());
    CHECK(p.release(nullptr, false, pool_clock::now()) == nullptr);
    CHECK(p.open() == 0);
    CHECK(p.created() == 0);
    CHECK(p.next(pool_clock::now(), false).what == action::open);
}

TEST_CASE("pool: the newest idle connection first, old ones probed, stale ones dropped", "[pool]") {
    pool p(3, 50s);
    auto a = open_one(p, 1), b = open_one(p, 2), c = open_one(p, 3);
    const auto t0 = pool_clock::now();
    p.release(std::move(a), true, t0 - 60s);  // idle for a minute: stale
    p.release(std::move(b), true, t0 - 1s);   // idle for a second: look first
    p.release(std::move(c), true, t0);        // just released
    CHECK(p.idle() == 3);
    CHECK(p.busy().empty());

    auto s = p.next(t0 + 10ms, true);
    REQUIRE(s.what == action::use);
    CHECK(s.conn->id == 3);

    s = p.next(t0 + 10ms, true);
    REQUIRE(s.what == action::probe);
    CHECK(s.conn->id == 2);
    CHECK(p.busy().size() == 1);  // not busy until the probe says it is open
    CHECK(p.open() == 3);
    p.closed();  // the probe found the server had closed it
    CHECK(p.open() == 2);

    s = p.next(t0 + 10ms, true);
    REQUIRE(s.what == action::drop);
    CHECK(s.conn->id == 1);
    CHECK(p.open() == 1);
    CHECK(p.idle() == 0);
    CHECK(p.next(t0 + 10ms, true).what == action::open);
}

TEST_CASE("pool: a probed connection that is open carries the request", "[pool]") {
    pool p(1, 50s);
    auto a = open_one(p, 1);
    p.release(std::move(a), true, pool_clock::now() - 1s);
    auto s = p.next(pool_clock::now(), false);
    REQUIRE(s.what == action::probe);
    p.leased(*s.conn);
    CHECK(p.busy().size() == 1);
    CHECK(p.must_wait());
}

TEST_CASE("pool: after a stale connection, all idle ones are dropped at once", "[pool]") {
    pool p(4, 50s);
    auto a = open_one(p, 1), b = open_one(p, 2), c = open_one(p, 3);
    p.release(std::move(a), true, pool_clock::now());
    p.release(std::move(b), true, pool_clock::now());
    auto stale = p.take_idle();
    CHECK(stale.size() == 2);
    CHECK(p.idle() == 0);
    CHECK(p.open() == 1);  // the busy one stays
    CHECK(p.busy().size() == 1);
    CHECK(p.busy().front() == c.get());
}

TEST_CASE("pool: any script of acquisitions and releases keeps the counts consistent", "[pool]") {
    // A deterministic walk: at every step either acquire or release one held
    // connection, reusable or not; the pool's counts must always add up.
    pool p(3, 50s);
    std::vector<std::unique_ptr<fake_connection>> held;
    unsigned seed = 12345;
    auto roll = [&seed](unsigned n) {
        seed = seed * 1103515245u + 12345u;
        return (seed >> 16) % n;
    };
    int next_id = 0;
    for (int step = 0; step < 2000; ++step) {
        const auto now = pool_clock::now();
        if (held.empty() || roll(2) == 0) {
            auto s = p.next(now, roll(2) == 0);
            switch (s.what) {
            case action::use: held.push_back(std::move(s.conn)); break;
            case action::probe:
                if (roll(3) == 0) {
                    p.closed();
                } else {
                    p.leased(*s.conn);
                    held.push_back(std::move(s.conn));
                }
                break;
            case action::drop: break;
            case action::open:
                if (roll(5) == 0) {
                    p.release(nullptr, false, now);  // the connect failed
                } else {
                    held.push_back(std::make_unique<fake_connection>(fake_connection{next_id++}));
                    p.opened();
                    p.leased(*held.back());
                }
                break;
            case action::wait: CHECK(p.must_wait()); break;
            }
        } else {
            auto i = roll(static_cast<unsigned>(held.size()));
            auto c = std::move(held[i]);
            held.erase(held.begin() + i);
            p.release(std::move(c), roll(3) != 0, now - std::chrono::milliseconds(roll(300)));
        }
        REQUIRE(p.busy().size() == held.size());
        REQUIRE(p.open() == p.busy().size() + p.idle());
        REQUIRE(p.open() <= 3);
    }
}

// ---- the attempts of one request ----

using wrenn::protocol::attempt_outcome;
using wrenn::protocol::attempt_plan;
using wrenn::protocol::connection_failure;

namespace {
connection_failure on_reused(bool write_failed, bool answer_started) {
    connection_failure f;
    f.reused = true;
    f.write_failed = write_failed;
    f.answer_started = answer_started;
    return f;
}
} // namespace

TEST_CASE("attempts: a stale kept-alive connection is resent once on a new one, uncounted", "[retry]") {
    wrenn::retry_policy policy;
    policy.max_attempts = 1;  // no retries at all: the resend is not one
    attempt_plan plan(policy, false);
    CHECK(plan.attempt() == 1);
    CHECK_FALSE(plan.fresh());
    CHECK(plan.resend_on_new_connection(on_reused(true, false)));  // never left: safe for any method
    CHECK(plan.fresh());
    CHECK(plan.attempt() == 2);
    // the new connection fails the same way: that is the outcome, not another stale one
    CHECK_FALSE(plan.resend_on_new_connection(on_reused(true, false)));
    attempt_outcome o;  // never sent
    CHECK_FALSE(plan.next_attempt(o, 0.5, std::nullopt).has_value());  // max_attempts 1: counted once
    CHECK_FALSE(plan.fresh());
}

TEST_CASE("attempts: which failures on a kept-alive connection count as stale", "[retry]") {
    for (bool idempotent : {false, true})
        for (bool reused : {false, true})
            for (bool write_failed : {false, true})
                for (bool started : {false, true})
                    for (int end = 0; end < 3; ++end) {  // 0 failure, 1 cancelled, 2 timed out
                        CAPTURE(idempotent, reused, write_failed, started, end);
                        wrenn::retry_policy policy;
                        attempt_plan plan(policy, idempotent);
                        connection_failure f;
                        f.reused = reused;
                        f.write_failed = write_failed;
                        f.answer_started = started;
                        f.cancelled = end == 1;
                        f.timed_out = end == 2;
                        const bool expected = reused && end == 0 && (write_failed || (idempotent && !started));
                        CHECK(plan.resend_on_new_connection(f) == expected);
                        CHECK(plan.fresh() == expected);
                    }
}

TEST_CASE("attempts: retries are counted against the budget and stop before the deadline", "[retry]") {
    wrenn::retry_policy policy;
    policy.max_attempts = 3;
    policy.base_delay = 100ms;
    policy.max_delay = 1s;
    attempt_plan plan(policy, true);
    attempt_outcome busy;
    busy.request_sent = busy.answer_started = true;
    busy.status = 503;
    auto d1 = plan.next_attempt(busy, 0.0, std::nullopt);
    REQUIRE(d1);
    CHECK(*d1 == 50ms);  // half of base, no jitter
    CHECK(plan.attempt() == 2);
    // a stale resend between retries is free
    CHECK(plan.resend_on_new_connection(on_reused(false, false)));
    CHECK(plan.attempt() == 3);
    auto d2 = plan.next_attempt(busy, 0.0, std::nullopt);
    REQUIRE(d2);
    CHECK(*d2 == 100ms);
    CHECK_FALSE(plan.next_attempt(busy, 0.0, std::nullopt).has_value());  // the third counted attempt was the last
    CHECK(plan.attempt() == 5);

    attempt_plan late(policy, true);
    CHECK_FALSE(late.next_attempt(busy, 0.0, 50ms).has_value());  // the pause would reach the deadline
    attempt_plan early(policy, true);
    CHECK(early.next_attempt(busy, 0.0, 51ms) == 50ms);
}

TEST_CASE("attempts: the plan fills in the attempt number and idempotency", "[retry]") {
    wrenn::retry_policy policy;
    attempt_plan plan(policy, false);
    attempt_outcome o;  // the caller says only how far it got: sent, no answer
    o.request_sent = true;
    o.idempotent = true;  // overridden by the plan: this request is not idempotent
    CHECK_FALSE(plan.next_attempt(o, 0.5, std::nullopt).has_value());
    attempt_plan get(policy, true);
    CHECK(get.next_attempt(o, 0.5, std::nullopt).has_value());
}
