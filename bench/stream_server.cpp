// The neutral server of the exec-stream benchmark (support/stream_server.hpp),
// standalone for bench/run: `bench_stream_server --events N [--port P]`
// prints "port=P" once it listens, then serves until killed.
#include "support/stream_server.hpp"

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string_view>

int main(int argc, char** argv) {
    long events = 100000;
    long port = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string_view key = argv[i];
        if (key == "--events") events = std::atol(argv[i + 1]);
        else if (key == "--port") port = std::atol(argv[i + 1]);
        else {
            std::cerr << "usage: bench_stream_server --events N [--port P]\n";
            return 2;
        }
    }
    if (argc % 2 == 0 || events < 0 || port < 0 || port > 65535) {
        std::cerr << "usage: bench_stream_server --events N [--port P]\n";
        return 2;
    }
    bench::stream_server server(events, static_cast<unsigned short>(port));
    std::printf("port=%u bytes=%zu\n", static_cast<unsigned>(server.port()), server.stream_bytes());
    std::fflush(stdout);
    server.run_in_this_thread();
}
