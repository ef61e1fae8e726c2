// What the two exec-stream benchmarks (wrenn_stream, raw_beast_stream) share:
// where the stream comes from, the tally of one stream, and the result line.
#pragma once

#include "options.hpp"
#include "stream_server.hpp"

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace bench {

struct stream_tally {
    long events = 0;
    long bad = 0;  // stdout events whose data is not the canned size
    std::size_t bytes = 0;
    int exit_code = -1;
    double seconds = 0;
};

// --url, or an in-process stream_server replaying --serve-stream N events.
struct stream_target {
    std::unique_ptr<stream_server> server;  // only with --serve-stream
    std::string base_url;
    long expected = 0;  // stdout events each stream must carry
};

stream_target open_stream_target(const options& o);

// Prints "result events=N errors=E seconds=S eps=R bytes=B" for the median
// stream and returns the exit status: 0 only when there was no `failure` and
// every stream carried exactly the expected events, well formed, then exit 0.
int report_streams(const char* program, std::vector<stream_tally> all, long expected, const std::string& failure);

} // namespace bench
