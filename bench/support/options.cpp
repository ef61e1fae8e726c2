#include "options.hpp"

#include <cstdlib>
#include <iostream>
#include <string_view>

namespace bench {

namespace {
[[noreturn]] void usage(std::string_view what) {
    std::cerr << "bench: " << what << " (see bench/support/options.hpp)\n";
    std::exit(2);
}
} // namespace

options parse_options(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        std::string_view key = argv[i];
        if (i + 1 >= argc) usage("missing value after " + std::string(key));
        std::string value = argv[++i];
        if (key == "--url") o.url = value;
        else if (key == "--ca") o.ca_file = value;
        else if (key == "--serve") o.serve_file = value;
        else if (key == "--tls") o.tls_dir = value;
        else if (key == "--id") o.id = value;
        else if (key == "--concurrency") o.concurrency = std::stoi(value);
        else if (key == "--warmup") o.warmup_s = std::stod(value);
        else if (key == "--duration") o.duration_s = std::stod(value);
        else if (key == "--requests") o.requests = std::stol(value);
        else if (key == "--mode") o.mode = value;
        else usage("unknown option " + std::string(key));
    }
    if (o.url.empty() == o.serve_file.empty()) usage("give exactly one of --url and --serve");
    if (o.concurrency < 1) usage("--concurrency must be at least 1");
    return o;
}

} // namespace bench
