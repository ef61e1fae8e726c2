// Command-line options shared by the benchmark programs.
//
//   --url URL          the server's base URL (e.g. http://127.0.0.1:8080/api)
//   --ca FILE          extra trusted CA for an https URL
//   --serve FILE       start an in-process canned server answering FILE's bytes
//                      instead of --url (the smoke tests; no nginx needed)
//   --tls DIR          with --serve: HTTPS with DIR/server.pem, DIR/server.key;
//                      the client trusts DIR/ca.pem
//   --id ID            capsule id to ask for
//   --concurrency N    requests in flight (default 64)
//   --warmup S         seconds run before measuring (default 1)
//   --duration S       seconds measured (default 5)
//   --requests N       instead of a duration: exactly N requests, no warm-up;
//                      the program fails unless all N succeed
//   --mode M           program specific (wrenn_coro: pooled, fresh-client, no-reuse)
//   --serve-stream N   (stream programs) start an in-process exec-stream server
//                      replaying N stdout events instead of --url
//   --events N         (stream programs) stdout events to expect (default 100000)
//   --repeat N         (stream programs) streams read one after another; the
//                      result is the median one (default 1)
//   --ops N            (wrenn_scale) operations started at once (default 10000)
//   --file F           (wrenn_files) the local file to upload or download into
//   --remote P         (wrenn_files) the path in the capsule (default /tmp/bench.bin)
//   --size N           (wrenn_files with --serve) bytes the canned server's
//                      download answers with
//   --iterations N     (wrenn_e2e) sequential create/run/destroy rounds (default 50)
//   --capsules N       (wrenn_e2e) capsules driven concurrently (default 100)
//   --api-key K        API key (default wrn_bench; wrenn_e2e: WRENN_API_KEY)
#pragma once

#include <string>

namespace bench {

struct options {
    std::string url;
    std::string ca_file;
    std::string serve_file;
    std::string tls_dir;
    std::string id = "cl-bench0000000000000000000001";
    int concurrency = 64;
    double warmup_s = 1;
    double duration_s = 5;
    long requests = 0;
    std::string mode;
    long serve_stream = 0;
    long events = 100000;
    long repeat = 1;
    long ops = 10000;
    std::string file;
    std::string remote = "/tmp/bench.bin";
    long size = 0;
    long iterations = 50;
    long capsules = 100;
    std::string api_key;
};

// Exits with a usage message on anything it does not understand, and unless
// url_from_env, when not exactly one of --url, --serve, --serve-stream is given
// (url_from_env: none of them means WRENN_BASE_URL).
options parse_options(int argc, char** argv, bool url_from_env = false);

} // namespace bench
