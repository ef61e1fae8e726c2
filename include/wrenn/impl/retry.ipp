#pragma once

#include <wrenn/protocol/retry.hpp>

#include <algorithm>

namespace wrenn::protocol {

WRENN_DECL std::optional<std::chrono::milliseconds> retry_delay(const retry_policy& policy,
                                                                const attempt_outcome& o, double jitter) {
    using std::chrono::milliseconds;
    if (o.attempt >= policy.max_attempts || o.cancelled || o.total_timeout) return std::nullopt;
    if (o.status) {
        // 429 and 503 say the request was not carried out: any request is
        // sent again, unless the server says it would fail again. Another
        // status the server calls retryable (a 502 host_unreachable, a 504
        // timeout) may have taken effect: only a request that may be sent
        // twice is.
        if (o.retryable == false) return std::nullopt;
        const bool not_done = *o.status == 429 || *o.status == 503;
        if (!not_done && !(o.retryable == true && o.idempotent)) return std::nullopt;
        if (o.retry_after) {
            if (*o.retry_after > policy.max_retry_after) return std::nullopt;
            return std::chrono::duration_cast<milliseconds>(*o.retry_after);
        }
    } else {
        bool safe = !o.request_sent || (o.idempotent && !o.answer_started);
        if (!safe) return std::nullopt;
    }
    // d = min(max, base * 2^(attempt-1)), without overflowing the shift
    milliseconds d = policy.base_delay;
    for (unsigned i = 1; i < o.attempt && d < policy.max_delay; ++i) d *= 2;
    d = std::min(d, policy.max_delay);
    jitter = std::clamp(jitter, 0.0, 1.0);
    return d / 2 + milliseconds(static_cast<milliseconds::rep>(jitter * static_cast<double>(d.count() - d.count() / 2)));
}

} // namespace wrenn::protocol
