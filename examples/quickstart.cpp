// Create a capsule, run a command in it, print its output, destroy it.
// Reads WRENN_API_KEY and WRENN_BASE_URL like any wrenn program.
#include <wrenn/wrenn.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <iostream>

namespace asio = boost::asio;

asio::awaitable<void> quickstart(wrenn::client client) {
    // with_capsule destroys the capsule when the block ends, also on error.
    co_await wrenn::with_capsule(client, {.wait = true}, [](wrenn::capsule& cap) -> asio::awaitable<void> {
        auto r = co_await cap.commands.run("echo hello");
        std::cout << r.stdout_text << std::flush;
    });
}

int main() {
    asio::io_context ioc;
    int status = 0;
    try {
        wrenn::client client(ioc);
        asio::co_spawn(client.get_executor(), quickstart(client), [&](std::exception_ptr e) {
            if (!e) return;
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                std::cerr << ex.what() << "\n";
                status = 1;
            }
        });
        ioc.run();
    } catch (const wrenn::error& e) {  // e.g. no API key configured
        std::cerr << e.what() << "\n";
        return 1;
    }
    return status;
}
