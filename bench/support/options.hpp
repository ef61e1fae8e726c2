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
};

// Exits with a usage message on anything it does not understand.
options parse_options(int argc, char** argv);

} // namespace bench
