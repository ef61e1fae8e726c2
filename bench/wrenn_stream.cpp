// wrenn-cpp exec stream: `capsule.commands.stream(cmd)` then a `next()` loop
// until exit, counting the stdout events and checking each one's data, on
// one io_context, one thread. --repeat N streams one after another, each on a
// new connection; each one's time runs from before stream() (connect,
// upgrade, start message) to the exit event, and the median one is reported.
//
//   --url URL          a running bench_stream_server (bench/run)
//   --serve-stream N   an in-process one replaying N events (the smoke test)
//   --events N         how many stdout events to expect (with --url)
//   --mode no-idle     config.timeouts.idle = 0: no idle timeout, so no Beast
//                      idle timer (re-armed per message otherwise) and no pings;
//                      a diagnostic of what that timer costs
//
// Prints "result events=N errors=E seconds=S eps=R bytes=B" (eps: stdout
// events per second) and fails unless exactly the expected events arrived.
#include "support/options.hpp"
#include "support/stream_server.hpp"

#include <wrenn/capsule.hpp>
#include <wrenn/client.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <algorithm>
#include <memory>
#include <vector>

namespace asio = boost::asio;

namespace {

struct tally {
    long events = 0;
    long bad = 0;  // stdout events whose data is not the canned size
    std::size_t bytes = 0;
    int exit_code = -1;
    double seconds = 0;
    std::string error;
};

asio::awaitable<void> read_stream(const wrenn::client& client, std::string id, tally& t) {
    wrenn::capsule cap(client, id);
    t = tally{};
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

asio::awaitable<void> read_streams(const wrenn::client& client, std::string id, long n, std::vector<tally>& all) {
    for (long i = 0; i < n; ++i) {
        all.emplace_back();
        co_await read_stream(client, id, all.back());
    }
}

} // namespace

int main(int argc, char** argv) {
    auto opts = bench::parse_options(argc, argv);
    std::unique_ptr<bench::stream_server> server;
    std::string base = opts.url;
    long expected = opts.events;
    if (opts.serve_stream > 0) {
        server = std::make_unique<bench::stream_server>(opts.serve_stream);
        server->start();
        base = server->base_url();
        expected = opts.serve_stream;
    }
    asio::io_context ioc(1);
    wrenn::config cfg{.api_key = opts.api_key.empty() ? "wrn_bench" : opts.api_key, .base_url = base};
    if (opts.mode == "no-idle") {
        cfg.timeouts.idle = std::chrono::milliseconds(0);
    } else if (!opts.mode.empty()) {
        std::cerr << "wrenn_stream: unknown --mode " << opts.mode << "\n";
        return 2;
    }
    wrenn::client client(ioc.get_executor(), cfg);
    std::vector<tally> all;
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
    bool ok = failure.empty() && !all.empty();
    for (auto& one : all) ok = ok && one.bad == 0 && one.events == expected && one.exit_code == 0;
    std::sort(all.begin(), all.end(), [](const tally& a, const tally& b) { return a.seconds < b.seconds; });
    tally t = all.empty() ? tally{} : all[all.size() / 2];  // the median stream
    if (!failure.empty()) t.error = failure;
    long errors = ok ? 0 : 1;
    std::printf("result events=%ld errors=%ld seconds=%.4f eps=%.1f bytes=%zu\n", t.events, errors, t.seconds,
                t.seconds > 0 ? static_cast<double>(t.events) / t.seconds : 0.0, t.bytes);
    std::fflush(stdout);
    if (!ok) {
        std::cerr << "wrenn_stream: FAILED: " << t.events << " of " << expected << " events, " << t.bad
                  << " malformed, exit code " << t.exit_code << (t.error.empty() ? "" : ", ") << t.error << "\n";
        return 1;
    }
    return 0;
}
