// wrenn-cpp bulk files: one `files.upload_stream(remote, local_file)` or one
// `files.download_stream(remote, local_file)`, timed, on one io_context, one
// thread, with the process's peak resident set (VmHWM) at the end.
//
//   --mode upload|download
//   --file F       the local file (upload: read; download: written, replaced)
//   --remote P     the path in the capsule (default /tmp/bench.bin)
//   --size N       download: the bytes expected (0: any); with --serve, the
//                  canned server's answer size, and for an upload without
//                  --file a temporary file of N bytes is made (and removed)
//
// Prints "result bytes=N errors=E seconds=S mib_per_s=R baseline_kib=B
// peak_kib=P" (baseline: VmHWM before the transfer) and fails unless the
// transfer succeeded with the expected size.
#include "support/proc.hpp"
#include "support/target.hpp"

#include <wrenn/capsule.hpp>
#include <wrenn/client.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <unistd.h>

namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

struct outcome {
    std::uint64_t bytes = 0;
    double seconds = 0;
    std::string error;
};

asio::awaitable<void> transfer(const wrenn::client& client, std::string id, bool upload, std::string remote,
                               fs::path local, outcome& out) {
    wrenn::capsule cap(client, id);
    auto started = std::chrono::steady_clock::now();
    if (upload) {
        co_await cap.files.upload_stream(remote, local);
        out.bytes = fs::file_size(local);
    } else {
        out.bytes = co_await cap.files.download_stream(remote, local);
    }
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

// A file of `size` bytes of a repeating pattern (the smoke test's upload).
void make_file(const fs::path& p, std::uint64_t size) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    std::string block(1 << 16, '\0');
    for (std::size_t i = 0; i < block.size(); ++i) block[i] = static_cast<char>(i * 7 + 3);
    for (std::uint64_t done = 0; done < size;) {
        auto n = std::min<std::uint64_t>(block.size(), size - done);
        out.write(block.data(), static_cast<std::streamsize>(n));
        done += n;
    }
    if (!out) throw std::runtime_error("cannot write " + p.string());
}

} // namespace

int main(int argc, char** argv) {
    auto opts = bench::parse_options(argc, argv);
    if (opts.mode != "upload" && opts.mode != "download") {
        std::cerr << "wrenn_files: --mode upload or --mode download\n";
        return 2;
    }
    bool upload = opts.mode == "upload";
    auto target = bench::open_target(opts);
    fs::path local = opts.file;
    bool temporary = local.empty();
    if (temporary) {
        if (opts.serve_file.empty()) {
            std::cerr << "wrenn_files: --file is needed with --url\n";
            return 2;
        }
        local = fs::temp_directory_path() / ("wrenn-bench-files-" + std::to_string(::getpid()) + ".bin");
        if (upload) make_file(local, static_cast<std::uint64_t>(opts.size));
    }

    asio::io_context ioc(1);
    wrenn::config cfg{.api_key = opts.api_key.empty() ? "wrn_bench" : opts.api_key, .base_url = target.base_url,
                      .ca_file = target.ca_file};
    wrenn::client client(ioc.get_executor(), cfg);
    outcome out;
    long baseline = bench::proc_status_kib("VmHWM");
    asio::co_spawn(ioc, transfer(client, opts.id, upload, opts.remote, local, out), [&out](std::exception_ptr e) {
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& x) {
            out.error = x.what();
        }
    });
    ioc.run();
    long peak = bench::proc_status_kib("VmHWM");
    std::error_code ec;
    if (!upload && out.error.empty() && fs::file_size(local, ec) != out.bytes)
        out.error = "the local file does not hold the bytes downloaded";
    if (temporary) fs::remove(local, ec);

    bool ok = out.error.empty() && (opts.size <= 0 || out.bytes == static_cast<std::uint64_t>(opts.size));
    double mib = static_cast<double>(out.bytes) / (1024.0 * 1024.0);
    std::printf("result bytes=%llu errors=%d seconds=%.3f mib_per_s=%.1f baseline_kib=%ld peak_kib=%ld\n",
                static_cast<unsigned long long>(out.bytes), ok ? 0 : 1, out.seconds,
                out.seconds > 0 ? mib / out.seconds : 0.0, baseline, peak);
    std::fflush(stdout);
    if (!ok) {
        std::cerr << "wrenn_files: FAILED: " << opts.mode << " of " << out.bytes << " bytes"
                  << (out.error.empty() ? " (not the expected size)" : ": " + out.error) << "\n";
        return 1;
    }
    return 0;
}
