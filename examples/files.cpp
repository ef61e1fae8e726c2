// Copies a local directory tree into a capsule and back, streaming each file
// with a progress bar, then checks the copy is identical.
#include <wrenn/wrenn.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>

namespace asio = boost::asio;
namespace fs = std::filesystem;

// A one-line progress bar on stderr.
wrenn::progress_callback bar(std::string name) {
    return [name](const wrenn::transfer_progress& p) {
        double frac = p.total && *p.total ? double(p.done) / double(*p.total) : 1.0;
        int filled = static_cast<int>(frac * 30);
        std::cerr << "\r" << name << " [" << std::string(filled, '#') << std::string(30 - filled, ' ') << "] "
                  << p.done << " bytes" << std::flush;
    };
}

// Makes the input tree this example copies.
fs::path make_local_tree() {
    auto root = fs::temp_directory_path() / "wrenn-files-example" / "src";
    fs::remove_all(root.parent_path());
    fs::create_directories(root / "docs" / "deep");
    std::ofstream(root / "README.txt") << "hello from the host\n";
    std::ofstream(root / "docs" / "notes.md") << "# notes\n";
    std::ofstream big(root / "docs" / "deep" / "data.bin", std::ios::binary);
    for (int i = 0; i < 3'000'000; ++i) big.put(static_cast<char>(i * 31));
    return root;
}

asio::awaitable<int> copy_round_trip(wrenn::client client) {
    auto src = make_local_tree();
    auto back = src.parent_path() / "back";
    co_return co_await wrenn::with_capsule(client, {.wait = true}, [&](wrenn::capsule& cap) -> asio::awaitable<int> {
        // Up: every file under src, into /app/tree
        for (auto& e : fs::recursive_directory_iterator(src)) {
            if (!e.is_regular_file()) continue;
            auto rel = fs::relative(e.path(), src).generic_string();
            co_await cap.files.upload_stream("/app/tree/" + rel, e.path(), bar(rel));
            std::cerr << "\n";
        }
        // Down: whatever the capsule has under /app/tree
        int files = 0;
        for (auto& entry : co_await cap.files.list("/app/tree", 10)) {
            if (!entry.is_file()) continue;
            auto rel = entry.path.substr(std::string("/app/tree/").size());
            fs::create_directories((back / rel).parent_path());
            co_await cap.files.download_stream(entry.path, back / rel, bar(rel));
            std::cerr << "\n";
            ++files;
        }
        // Compare
        for (auto& e : fs::recursive_directory_iterator(src)) {
            if (!e.is_regular_file()) continue;
            auto rel = fs::relative(e.path(), src);
            std::ifstream a(e.path(), std::ios::binary), b(back / rel, std::ios::binary);
            std::string x((std::istreambuf_iterator<char>(a)), {}), y((std::istreambuf_iterator<char>(b)), {});
            if (x != y) {
                std::cerr << rel << " differs\n";
                co_return 1;
            }
        }
        std::cout << "copied " << files << " files into the capsule and back: identical\n";
        co_return 0;
    });
}

int main() {
    asio::io_context ioc;
    int status = 1;
    try {
        wrenn::client client(ioc);
        asio::co_spawn(client.get_executor(), copy_round_trip(client), [&](std::exception_ptr e, int rc) {
            status = rc;
            if (e) try { std::rethrow_exception(e); } catch (const std::exception& ex) { std::cerr << ex.what() << "\n"; status = 1; }
        });
        ioc.run();
    } catch (const wrenn::error& e) {
        std::cerr << e.what() << "\n";
    }
    return status;
}
