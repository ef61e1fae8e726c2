// The load model every benchmark program shares: a fixed number of workers
// (the requests in flight) each sending one request after another, either for
// a warm-up plus a measured duration or for an exact number of requests
// (smoke mode). Latencies are kept per worker and merged at the end.
#pragma once

#include "options.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

using clock = std::chrono::steady_clock;

// One worker's record.
struct samples {
    std::vector<std::int64_t> latency_ns;  // measured requests only
    long errors = 0;
    std::string first_error;
};

// When requests start and which ones count. next() is thread-safe.
class plan {
public:
    explicit plan(const options& o);
    void start();  // the clock starts here
    bool next();   // before each request: false when the run is over
    void succeeded(samples& s, clock::time_point started) const;
    void failed(samples& s, std::string_view what) const;

    bool counted() const { return requests_ > 0; }
    long requests() const { return requests_; }
    double measured_seconds() const;

private:
    long requests_;
    std::chrono::nanoseconds warmup_, duration_;
    std::atomic<long> issued_{0};
    clock::time_point started_{}, measure_from_{}, stop_at_{};
};

// Prints one line, "result ok=N errors=E seconds=S rps=R p50_us=A p99_us=B",
// and returns the exit status: 0 only when no request failed and, with
// --requests N, all N succeeded.
int report(const plan& p, const std::vector<samples>& workers);

} // namespace bench
