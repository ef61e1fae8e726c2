// When to send an HTTP request again, sans-I/O: only what cannot have taken
// effect twice is retried (issue: reliability).
//
//  - the request never (fully) left: the connection failed or broke while
//    it was being written — any method, the server cannot have acted on it;
//  - 429 and 503: the server says it did not act on it — any method, after
//    its Retry-After when it gives one;
//  - idempotent requests (GET, DELETE, ping) that failed before any byte of
//    the answer arrived.
// Never: an answer that was partly read, a cancellation, a total timeout, a
// non-idempotent request that was sent (a command start, a file write, a
// snapshot create), or any other status.
#pragma once

#include <wrenn/config.hpp>
#include <wrenn/detail/config.hpp>

#include <chrono>
#include <optional>

namespace wrenn::protocol {

struct attempt_outcome {
    unsigned attempt = 1;                 // the attempt that just ended, 1-based
    bool idempotent = false;              // the request may be sent twice
    bool request_sent = false;            // all of it left us
    bool answer_started = false;          // a byte of the answer arrived
    std::optional<unsigned> status{};     // the answer's status, when one came
    std::optional<std::chrono::seconds> retry_after{};
    std::optional<bool> retryable{};      // the error answer's "retryable" (API 0.4.0), when it had one
    bool cancelled = false;
    bool total_timeout = false;           // the request's own deadline passed
};

// The pause before the next attempt, or nullopt when there is none.
// `jitter` in [0, 1): the backoff is d/2 + jitter * d/2 with
// d = min(max_delay, base_delay * 2^(attempt-1)); a Retry-After replaces it.
WRENN_DECL std::optional<std::chrono::milliseconds> retry_delay(const retry_policy& policy,
                                                                const attempt_outcome& outcome, double jitter);

// How an attempt failed on its connection, for resend_on_new_connection().
struct connection_failure {
    bool reused = false;          // the connection came from the pool (kept alive)
    bool write_failed = false;    // the request never fully left us
    bool answer_started = false;  // a byte of the answer arrived
    bool cancelled = false;       // the caller cancelled
    bool timed_out = false;       // an idle or total timeout
};

// The attempts of one request, in the order send() makes them: it asks
// after each one whether, and when, to make the next.
class attempt_plan {
public:
    attempt_plan(const retry_policy& policy, bool idempotent) : policy_(policy), idempotent_(idempotent) {}

    // A kept-alive connection the server had already closed: send again at
    // once on a new connection, not counted against the retry budget, when
    // the request cannot have been processed (it never fully left) or is
    // idempotent and no byte of the answer came. Not twice in a row: a new
    // connection that fails is no stale one.
    bool resend_on_new_connection(const connection_failure& f) {
        bool stale = f.reused && !fresh_ && !f.cancelled && !f.timed_out &&
                     (f.write_failed || (idempotent_ && !f.answer_started));
        if (stale) {
            ++attempt_;
            fresh_ = true;
        }
        return stale;  // if not, the failure is the attempt's outcome: next_attempt()
    }

    // After an attempt that ended otherwise (an answer or an error): the
    // pause before the next one, or nullopt when this one is the outcome.
    // `o.attempt` and `o.idempotent` are filled in here; `until_deadline` is
    // what is left of the request's total timeout (none: no limit).
    std::optional<std::chrono::milliseconds> next_attempt(attempt_outcome o, double jitter,
                                                          std::optional<std::chrono::milliseconds> until_deadline) {
        o.attempt = ++counted_;
        o.idempotent = idempotent_;
        ++attempt_;
        fresh_ = false;
        auto delay = retry_delay(policy_, o, jitter);
        if (delay && until_deadline && *delay >= *until_deadline) delay.reset();  // it would end in a timeout
        return delay;
    }

    // The next attempt must not take a kept-alive connection.
    bool fresh() const { return fresh_; }
    // The number of the attempt under way, 1-based, stale resends included.
    unsigned attempt() const { return attempt_ + 1; }

private:
    const retry_policy& policy_;
    bool idempotent_;
    bool fresh_ = false;
    unsigned attempt_ = 0;  // attempts ended
    unsigned counted_ = 0;  // of which against the retry budget
};

} // namespace wrenn::protocol

#ifdef WRENN_HEADER_ONLY
#include <wrenn/impl/retry.ipp>
#endif
