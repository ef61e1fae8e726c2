// wrenn-cpp, awaitable API: `client.capsules().get(id)` from --concurrency
// coroutines on one io_context, one thread.
//
//   --mode two-threads   the same client and coroutines, the io_context run
//                        by 2 threads: what sharing a client costs
//   --mode two-clients   2 threads, each running an io_context of its own with
//                        a client of its own and half the requests in flight:
//                        2 threads with nothing shared, the limit beside
//                        two-threads (what sharing the client costs is the gap)
//   --mode pooled        (default) one client: its keep-alive pool
//   --mode fresh-client  a new wrenn::client per request: a new connection
//                        (and TLS handshake) each time, through the public API
//                        alone, which has no switch to turn reuse off
//   --mode no-reuse      one client whose transport (wrenn::detail) has
//                        max_idle_age = 0, so no connection is ever reused:
//                        the handshake cost without a new client's setup
#include "support/load.hpp"
#include "support/target.hpp"

#include <wrenn/client.hpp>
#include <wrenn/impl/client_impl.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <iostream>
#include <optional>
#include <thread>
#include <vector>

namespace asio = boost::asio;

namespace {

struct shared {
    bench::plan& plan;
    wrenn::config cfg;
    wrenn::client client;
    bool fresh_client;
    std::string id;
};

asio::awaitable<void> get_once(shared& sh) {
    wrenn::capsule_info info;
    if (sh.fresh_client) {
        wrenn::client own(sh.client.get_executor(), sh.cfg);
        info = co_await own.capsules().get(sh.id);
    } else {
        info = co_await sh.client.capsules().get(sh.id);
    }
    if (info.id != sh.id) throw std::runtime_error("answer for " + info.id + ", not " + sh.id);
}

asio::awaitable<void> worker(shared& sh, bench::samples& s) {
    while (sh.plan.next()) {
        auto started = bench::clock::now();
        try {
            co_await get_once(sh);
            sh.plan.succeeded(s, started);
        } catch (const std::exception& e) {
            sh.plan.failed(s, e.what());
        }
    }
}

} // namespace

int main(int argc, char** argv) {
    auto opts = bench::parse_options(argc, argv);
    auto target = bench::open_target(opts);
    const int threads = opts.mode == "two-threads" ? 2 : 1;
    asio::io_context ioc(threads);
    wrenn::config cfg{.api_key = "wrn_bench", .base_url = target.base_url, .ca_file = target.ca_file};
    cfg.max_connections_per_origin = static_cast<std::size_t>(opts.concurrency);
    bench::plan plan(opts);
    shared sh{plan, cfg, wrenn::client(ioc.get_executor(), cfg), opts.mode == "fresh-client", opts.id};
    if (opts.mode == "no-reuse") {
        wrenn::detail::transport_settings ts;
        ts.origin = wrenn::detail::client_access::impl(sh.client)->base;
        ts.api_key = cfg.api_key;
        ts.ca_file = cfg.ca_file;
        ts.max_connections = cfg.max_connections_per_origin;
        ts.max_idle_age = std::chrono::milliseconds(0);
        wrenn::detail::client_access::impl(sh.client)->transport = wrenn::detail::make_http_transport(ioc.get_executor(), ts);
    } else if (!opts.mode.empty() && opts.mode != "pooled" && opts.mode != "fresh-client" &&
               opts.mode != "two-threads" && opts.mode != "two-clients") {
        std::cerr << "wrenn_coro: unknown --mode " << opts.mode << "\n";
        return 2;
    }
    std::vector<bench::samples> workers(static_cast<std::size_t>(opts.concurrency));
    // two-clients: the second half of the workers on a second io_context and client
    asio::io_context other_ioc(1);
    std::optional<shared> other;
    if (opts.mode == "two-clients") other.emplace(shared{plan, cfg, wrenn::client(other_ioc.get_executor(), cfg), false, opts.id});
    plan.start();
    for (std::size_t i = 0; i < workers.size(); ++i) {
        if (other && i % 2) asio::co_spawn(other_ioc, worker(*other, workers[i]), asio::detached);
        else asio::co_spawn(ioc, worker(sh, workers[i]), asio::detached);
    }
    std::vector<std::thread> extra;
    for (int t = 1; t < threads; ++t) extra.emplace_back([&ioc] { ioc.run(); });
    if (other) extra.emplace_back([&other_ioc] { other_ioc.run(); });
    ioc.run();
    for (auto& t : extra) t.join();
    return bench::report(plan, workers);
}
