// wrenn-cpp, blocking API: `client.capsules().get(id)` from --concurrency
// threads, each with its own wrenn::sync::client (and so its own connection),
// which is how blocking code gets that many requests in flight.
#include "support/load.hpp"
#include "support/target.hpp"

#include <wrenn/sync/client.hpp>

#include <thread>

namespace {

void worker(bench::plan& plan, const wrenn::config& cfg, const std::string& id, bench::samples& s) {
    wrenn::sync::client client(cfg);
    while (plan.next()) {
        auto started = bench::clock::now();
        try {
            auto info = client.capsules().get(id);
            if (info.id != id) throw std::runtime_error("answer for " + info.id + ", not " + id);
            plan.succeeded(s, started);
        } catch (const std::exception& e) {
            plan.failed(s, e.what());
        }
    }
}

} // namespace

int main(int argc, char** argv) {
    auto opts = bench::parse_options(argc, argv);
    auto target = bench::open_target(opts);
    wrenn::config cfg{.api_key = "wrn_bench", .base_url = target.base_url, .ca_file = target.ca_file};
    bench::plan plan(opts);
    std::vector<bench::samples> workers(static_cast<std::size_t>(opts.concurrency));
    std::vector<std::thread> threads;
    plan.start();
    for (auto& s : workers) threads.emplace_back([&] { worker(plan, cfg, opts.id, s); });
    for (auto& t : threads) t.join();
    return bench::report(plan, workers);
}
