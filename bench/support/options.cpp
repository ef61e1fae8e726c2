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

options parse_options(int argc, char** argv, bool url_from_env) {
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
        else if (key == "--serve-stream") o.serve_stream = std::stol(value);
        else if (key == "--events") o.events = std::stol(value);
        else if (key == "--repeat") o.repeat = std::stol(value);
        else if (key == "--ops") o.ops = std::stol(value);
        else if (key == "--file") o.file = value;
        else if (key == "--remote") o.remote = value;
        else if (key == "--size") o.size = std::stol(value);
        else if (key == "--iterations") o.iterations = std::stol(value);
        else if (key == "--capsules") o.capsules = std::stol(value);
        else if (key == "--api-key") o.api_key = value;
        else usage("unknown option " + std::string(key));
    }
    int sources = !o.url.empty() + !o.serve_file.empty() + (o.serve_stream > 0);
    if (sources > 1 || (sources == 0 && !url_from_env)) usage("give exactly one of --url, --serve and --serve-stream");
    if (o.concurrency < 1) usage("--concurrency must be at least 1");
    return o;
}

} // namespace bench
