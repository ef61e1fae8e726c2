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
    bool cancelled = false;
    bool total_timeout = false;           // the request's own deadline passed
};

// The pause before the next attempt, or nullopt when there is none.
// `jitter` in [0, 1): the backoff is d/2 + jitter * d/2 with
// d = min(max_delay, base_delay * 2^(attempt-1)); a Retry-After replaces it.
WRENN_DECL std::optional<std::chrono::milliseconds> retry_delay(const retry_policy& policy,
                                                                const attempt_outcome& outcome, double jitter);

} // namespace wrenn::protocol

#ifdef WRENN_HEADER_ONLY
#include <wrenn/impl/retry.ipp>
#endif
