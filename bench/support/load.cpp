#include "load.hpp"

#include <algorithm>
#include <cstdio>
#include <iostream>

namespace bench {

namespace {
std::chrono::nanoseconds seconds(double s) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(s));
}

double percentile_us(std::vector<std::int64_t>& sorted, double q) {
    if (sorted.empty()) return 0;
    auto i = static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
    return static_cast<double>(sorted[i]) / 1000.0;
}
} // namespace

plan::plan(const options& o)
    : requests_(o.requests), warmup_(o.requests > 0 ? std::chrono::nanoseconds(0) : seconds(o.warmup_s)),
      duration_(seconds(o.duration_s)) {}

void plan::start() {
    started_ = clock::now();
    measure_from_ = started_ + warmup_;
    stop_at_ = measure_from_ + duration_;
}

bool plan::next() {
    if (counted()) return issued_.fetch_add(1) < requests_;
    return clock::now() < stop_at_;
}

void plan::succeeded(samples& s, clock::time_point started) const {
    auto done = clock::now();
    if (counted() || (started >= measure_from_ && done <= stop_at_))
        s.latency_ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(done - started).count());
}

void plan::failed(samples& s, std::string_view what) const {
    if (s.errors++ == 0) s.first_error = what;
}

double plan::measured_seconds() const {
    if (counted()) return std::chrono::duration<double>(clock::now() - started_).count();
    return std::chrono::duration<double>(duration_).count();
}

int report(const plan& p, const std::vector<samples>& workers) {
    std::vector<std::int64_t> all;
    long errors = 0;
    for (auto& w : workers) {
        all.insert(all.end(), w.latency_ns.begin(), w.latency_ns.end());
        errors += w.errors;
        if (w.errors > 0) std::cerr << "bench: error: " << w.first_error << "\n";
    }
    std::sort(all.begin(), all.end());
    double secs = p.measured_seconds();
    std::printf("result ok=%zu errors=%ld seconds=%.3f rps=%.1f p50_us=%.1f p99_us=%.1f\n", all.size(), errors, secs,
                static_cast<double>(all.size()) / secs, percentile_us(all, 0.50), percentile_us(all, 0.99));
    std::fflush(stdout);
    bool complete = !p.counted() || static_cast<long>(all.size()) == p.requests();
    if (errors > 0 || all.empty() || !complete) {
        std::cerr << "bench: FAILED: " << errors << " errors, " << all.size() << " requests succeeded\n";
        return 1;
    }
    return 0;
}

} // namespace bench
