// wrenn-cpp at scale: --ops coroutines (default 10,000) started at once on
// one io_context, one thread, each doing one `client.capsules().get(id)`
// through one client and its bounded pool (the default
// max_connections_per_origin: the others wait in its queue). Reports the
// memory that costs: the peak resident set (VmHWM) after the run against the
// one before the operations start (after one warm-up request, so the
// process, the client and its first connection are in the baseline), and
// that difference per operation in flight.
//
// Prints "result ok=N errors=E seconds=S ops_per_s=R baseline_kib=B
// peak_kib=P per_op_bytes=X max_connections=M"; fails unless all N succeed.
#include "support/load.hpp"
#include "support/proc.hpp"
#include "support/target.hpp"

#include <wrenn/client.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>

namespace asio = boost::asio;

namespace {

struct shared {
    const wrenn::client& client;
    std::string id;
    long ok = 0;
    long errors = 0;
    long in_flight = 0;
    long max_in_flight = 0;
    std::string first_error{};
};

asio::awaitable<void> one_get(shared& sh) {
    ++sh.in_flight;
    if (sh.in_flight > sh.max_in_flight) sh.max_in_flight = sh.in_flight;
    try {
        auto info = co_await sh.client.capsules().get(sh.id);
        if (info.id != sh.id) throw std::runtime_error("answer for " + info.id + ", not " + sh.id);
        ++sh.ok;
    } catch (const std::exception& e) {
        if (sh.errors++ == 0) sh.first_error = e.what();
    }
    --sh.in_flight;
}

} // namespace

int main(int argc, char** argv) {
    auto opts = bench::parse_options(argc, argv);
    auto target = bench::open_target(opts);
    asio::io_context ioc(1);
    wrenn::config cfg{.api_key = "wrn_bench", .base_url = target.base_url, .ca_file = target.ca_file};
    // max_connections_per_origin stays at its default: the bound under test.
    wrenn::client client(ioc.get_executor(), cfg);
    shared sh{client, opts.id};

    asio::co_spawn(ioc, one_get(sh), asio::detached);  // warm-up: first connection, lazy state
    ioc.run();
    ioc.restart();
    long warm_errors = sh.errors;
    sh.ok = 0;
    sh.max_in_flight = 0;

    long baseline = bench::proc_status_kib("VmHWM");
    auto started = std::chrono::steady_clock::now();
    for (long i = 0; i < opts.ops; ++i) asio::co_spawn(ioc, one_get(sh), asio::detached);
    ioc.run();
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    long peak = bench::proc_status_kib("VmHWM");

    double per_op = opts.ops > 0 ? static_cast<double>(peak - baseline) * 1024.0 / static_cast<double>(opts.ops) : 0;
    std::printf("result ok=%ld errors=%ld seconds=%.3f ops_per_s=%.1f baseline_kib=%ld peak_kib=%ld "
                "per_op_bytes=%.0f max_in_flight=%ld max_connections=%zu\n",
                sh.ok, sh.errors, seconds, static_cast<double>(sh.ok) / seconds, baseline, peak, per_op,
                sh.max_in_flight, cfg.max_connections_per_origin);
    std::fflush(stdout);
    if (sh.errors > 0 || sh.ok != opts.ops) {
        std::cerr << "wrenn_scale: FAILED: " << sh.errors << " errors (" << warm_errors << " in the warm-up), "
                  << sh.ok << " of " << opts.ops << " succeeded" << (sh.first_error.empty() ? "" : ": ")
                  << sh.first_error << "\n";
        return 1;
    }
    return 0;
}
