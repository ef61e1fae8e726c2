#include "stream_bench.hpp"

#include <algorithm>
#include <cstdio>
#include <iostream>

namespace bench {

stream_target open_stream_target(const options& o) {
    stream_target t;
    t.base_url = o.url;
    t.expected = o.events;
    if (o.serve_stream > 0) {
        t.server = std::make_unique<stream_server>(o.serve_stream);
        t.server->start();
        t.base_url = t.server->base_url();
        t.expected = o.serve_stream;
    }
    return t;
}

int report_streams(const char* program, std::vector<stream_tally> all, long expected, const std::string& failure) {
    bool ok = failure.empty() && !all.empty();
    for (auto& one : all) ok = ok && one.bad == 0 && one.events == expected && one.exit_code == 0;
    std::sort(all.begin(), all.end(), [](const stream_tally& a, const stream_tally& b) { return a.seconds < b.seconds; });
    stream_tally t = all.empty() ? stream_tally{} : all[all.size() / 2];  // the median stream
    std::printf("result events=%ld errors=%d seconds=%.4f eps=%.1f bytes=%zu\n", t.events, ok ? 0 : 1, t.seconds,
                t.seconds > 0 ? static_cast<double>(t.events) / t.seconds : 0.0, t.bytes);
    std::fflush(stdout);
    if (ok) return 0;
    std::cerr << program << ": FAILED: " << t.events << " of " << expected << " events, " << t.bad
              << " malformed, exit code " << t.exit_code << (failure.empty() ? "" : ", ") << failure << "\n";
    return 1;
}

} // namespace bench
