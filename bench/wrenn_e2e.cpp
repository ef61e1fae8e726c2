// wrenn-cpp end to end on a real server (wrenn-local): capsule::create,
// commands.run("true"), capsule.destroy, on one io_context, one thread.
// Server and key come from --url/--api-key or WRENN_BASE_URL/WRENN_API_KEY
// (scripts/with-wrenn-local.sh sets them).
//
//   --mode sequential   --iterations N (default 50) rounds one after another:
//                       p50/p99 of a whole round and of each step
//   --mode concurrent   --capsules N (default 100) driven at once, each its
//                       own create, run, destroy: the total time
//
// Prints "result ok=N errors=E seconds=S p50_ms=A p99_ms=B ..." and fails
// unless every round succeeded (a non-zero exit code of `true` is an error).
#include "support/options.hpp"

#include <wrenn/capsule.hpp>
#include <wrenn/client.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <vector>

namespace asio = boost::asio;
using steady = std::chrono::steady_clock;

namespace {

double ms_since(steady::time_point t) {
    return std::chrono::duration<double, std::milli>(steady::now() - t).count();
}

struct record {
    std::vector<double> whole, create, run, destroy;  // ms
    long ok = 0;
    long errors = 0;
    std::string first_error{};
};

asio::awaitable<void> one_round(const wrenn::client& client, record& r) {
    try {
        auto t0 = steady::now();
        auto cap = co_await wrenn::capsule::create(client);
        auto t1 = steady::now();
        std::string cmd = "true";
        auto res = co_await cap.commands.run(cmd);
        auto t2 = steady::now();
        co_await cap.destroy();
        r.create.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        r.run.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
        r.destroy.push_back(ms_since(t2));
        r.whole.push_back(ms_since(t0));
        if (res.exit_code != 0) throw std::runtime_error("`true` exited with " + std::to_string(res.exit_code));
        ++r.ok;
    } catch (const std::exception& e) {
        if (r.errors++ == 0) r.first_error = e.what();
    }
}

asio::awaitable<void> sequential(const wrenn::client& client, long n, record& r) {
    for (long i = 0; i < n; ++i) co_await one_round(client, r);
}

double pct(std::vector<double> v, double q) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5)];
}

} // namespace

int main(int argc, char** argv) {
    auto opts = bench::parse_options(argc, argv, /*url_from_env=*/true);
    bool concurrent = opts.mode == "concurrent";
    if (!concurrent && !opts.mode.empty() && opts.mode != "sequential") {
        std::cerr << "wrenn_e2e: --mode sequential or --mode concurrent\n";
        return 2;
    }
    asio::io_context ioc(1);
    wrenn::config cfg{.api_key = opts.api_key, .base_url = opts.url};
    wrenn::client client(ioc.get_executor(), cfg);
    record r;
    long n = concurrent ? opts.capsules : opts.iterations;
    auto started = steady::now();
    if (concurrent) {
        for (long i = 0; i < n; ++i) asio::co_spawn(ioc, one_round(client, r), asio::detached);
    } else {
        asio::co_spawn(ioc, sequential(client, n, r), asio::detached);
    }
    ioc.run();
    double seconds = ms_since(started) / 1000.0;
    std::printf("result ok=%ld errors=%ld seconds=%.3f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f create_p50_ms=%.2f "
                "run_p50_ms=%.2f destroy_p50_ms=%.2f per_s=%.1f\n",
                r.ok, r.errors, seconds, pct(r.whole, 0.5), pct(r.whole, 0.99), pct(r.whole, 1.0),
                pct(r.create, 0.5), pct(r.run, 0.5), pct(r.destroy, 0.5), static_cast<double>(r.ok) / seconds);
    std::fflush(stdout);
    if (r.errors > 0 || r.ok != n) {
        std::cerr << "wrenn_e2e: FAILED: " << r.errors << " errors, " << r.ok << " of " << n << " succeeded"
                  << (r.first_error.empty() ? "" : ": " + r.first_error) << "\n";
        return 1;
    }
    return 0;
}
