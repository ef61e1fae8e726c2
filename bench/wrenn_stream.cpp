// wrenn-cpp exec stream: `capsule.commands.stream(cmd)` then a `next()` loop
// until exit, counting the stdout events and checking each one's data, on
// one io_context, one thread. --repeat N streams one after another, each on a
// new connection; each one's time runs from before stream() (connect,
// upgrade, start message) to the exit event, and the median one is reported.
//
//   --url URL          a running bench_stream_server (bench/run)
//   --serve-stream N   an in-process one replaying N events (the smoke test)
//   --events N         how many stdout events to expect (with --url)
//   --mode no-idle     config.timeouts.idle = 0: no idle check and no pings;
//                      a diagnostic of what the idle check costs
//
// Prints "result events=N errors=E seconds=S eps=R bytes=B" (eps: stdout
// events per second) and fails unless exactly the expected events arrived.
#include "support/options.hpp"
#include "support/stream_bench.hpp"

#include <wrenn/capsule.hpp>
#include <wrenn/client.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <vector>

namespace asio = boost::asio;

namespace {

using bench::stream_tally;

asio::awaitable<void> read_stream(const wrenn::client& client, std::string id, stream_tally& t) {
    wrenn::capsule cap(client, id);
    t = stream_tally{};
    auto started = std::chrono::steady_clock::now();
    std::string cmd = "bench-output";
    auto s = co_await cap.commands.stream(cmd);
    while (auto ev = co_await s.next()) {
        if (ev->is_stdout()) {
            ++t.events;
            t.bytes += ev->data.size();
            if (ev->data.size() != bench::stream_data_size) ++t.bad;
        } else if (ev->is_exit()) {
            t.exit_code = ev->exit_code;
        } else if (ev->is_error()) {
            throw std::runtime_error("error event: " + ev->data);
        } else if (!ev->is_start()) {
            ++t.bad;
        }
    }
    t.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

asio::awaitable<void> read_streams(const wrenn::client& client, std::string id, long n, std::vector<stream_tally>& all) {
    for (long i = 0; i < n; ++i) {
        all.emplace_back();
        co_await read_stream(client, id, all.back());
    }
}

} // namespace

int main(int argc, char** argv) {
    auto opts = bench::parse_options(argc, argv);
    auto target = bench::open_stream_target(opts);
    asio::io_context ioc(1);
    wrenn::config cfg{.api_key = opts.api_key.empty() ? "wrn_bench" : opts.api_key, .base_url = target.base_url};
    if (opts.mode == "no-idle") {
        cfg.timeouts.idle = std::chrono::milliseconds(0);
    } else if (!opts.mode.empty()) {
        std::cerr << "wrenn_stream: unknown --mode " << opts.mode << "\n";
        return 2;
    }
    wrenn::client client(ioc.get_executor(), cfg);
    std::vector<bench::stream_tally> all;
    std::string failure;
    asio::co_spawn(ioc, read_streams(client, opts.id, std::max(1L, opts.repeat), all), [&failure](std::exception_ptr e) {
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& x) {
            failure = x.what();
        }
    });
    ioc.run();
    return bench::report_streams("wrenn_stream", std::move(all), target.expected, failure);
}
