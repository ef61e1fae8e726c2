// co_await in an async server: a small Beast HTTP server on 4 threads, one
// wrenn::client shared by all of them, no strand and no lock. Each request
// GET /echo/<word> runs `echo <word>` in a capsule and answers with its output.
//
//   server --port 8080      serve until killed (curl localhost:8080/echo/hi)
//   server                  serve on a free port, send itself 32 requests at
//                           once, check every answer, and exit (what ctest runs)
#include <wrenn/wrenn.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

bool plain_word(std::string_view w) {
    constexpr std::string_view allowed = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
    return !w.empty() && w.size() <= 64 && w.find_first_not_of(allowed) == std::string_view::npos;
}

// One HTTP connection: each request runs its command in the capsule.
asio::awaitable<void> serve(tcp::socket socket, wrenn::capsule& cap) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
        http::request<http::string_body> req;
        auto [ec, n] = co_await http::async_read(stream, buffer, req, asio::as_tuple(asio::use_awaitable));
        if (ec) co_return;  // the client left
        http::response<http::string_body> res{http::status::ok, req.version()};
        res.keep_alive(req.keep_alive());
        std::string_view target = req.target();
        if (target.starts_with("/echo/") && plain_word(target.substr(6))) {
            // the co_await that matters: a command in the capsule, from any of the threads
            auto [e, r] = co_await cap.commands.run("echo " + std::string(target.substr(6)), {},
                                                     asio::as_tuple(asio::use_awaitable));
            if (e) {
                res.result(http::status::bad_gateway);
                res.body() = wrenn::error_of(e) ? wrenn::error_of(e)->what() : "the command failed";
            } else {
                res.body() = r.stdout_text;
            }
        } else {
            res.result(http::status::not_found);
            res.body() = "try GET /echo/<word>\n";
        }
        res.prepare_payload();
        auto [wec, m] = co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
        if (wec || !res.keep_alive()) co_return;
    }
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, wrenn::capsule& cap) {
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
        if (ec) co_return;  // closed: the server is stopping
        asio::co_spawn(acceptor.get_executor(), serve(std::move(socket), cap), asio::detached);
    }
}

// A client of the server: GET /echo/<word>, the body back.
asio::awaitable<std::string> fetch(tcp::endpoint at, std::string word) {
    beast::tcp_stream stream(co_await asio::this_coro::executor);
    co_await stream.async_connect(at, asio::use_awaitable);
    http::request<http::empty_body> req{http::verb::get, "/echo/" + word, 11};
    req.set(http::field::host, "localhost");
    co_await http::async_write(stream, req, asio::use_awaitable);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    co_await http::async_read(stream, buffer, res, asio::use_awaitable);
    co_return res.body();
}

} // namespace

int main(int argc, char** argv) try {
    const bool serve_forever = argc == 3 && std::string(argv[1]) == "--port";
    asio::io_context ioc(4);
    wrenn::client client(ioc);  // WRENN_API_KEY, WRENN_BASE_URL
    auto made = wrenn::capsule::create(client, {.wait = true}, asio::use_future);
    tcp::acceptor acceptor(ioc, {asio::ip::make_address("127.0.0.1"),
                                 static_cast<unsigned short>(serve_forever ? std::stoi(argv[2]) : 0)});
    auto work = asio::make_work_guard(ioc);  // run() returns only once stopped
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) threads.emplace_back([&ioc] { ioc.run(); });
    auto stop = [&] {
        work.reset();
        ioc.stop();
        for (auto& t : threads) t.join();
    };
    auto cap = made.get();
    asio::co_spawn(ioc, accept_loop(acceptor, cap), asio::detached);
    std::cout << "serving on " << acceptor.local_endpoint() << " with capsule " << cap.id() << "\n";

    int failures = 0;
    if (serve_forever) {
        asio::signal_set signals(ioc, SIGINT, SIGTERM);
        auto stopped = signals.async_wait(asio::use_future);
        stopped.wait();
    } else {
        std::vector<std::future<std::string>> answers;
        for (int i = 0; i < 32; ++i)
            answers.push_back(asio::co_spawn(ioc, fetch(acceptor.local_endpoint(), "hello-" + std::to_string(i)),
                                             asio::use_future));
        for (int i = 0; i < 32; ++i)
            if (answers[static_cast<std::size_t>(i)].get() != "hello-" + std::to_string(i) + "\n") ++failures;
        std::cout << 32 - failures << " of 32 concurrent requests answered from the capsule\n";
    }
    auto gone = cap.destroy(asio::use_future);
    gone.get();
    stop();  // then the acceptor, the client and the io_context go, in that order
    return failures == 0 ? 0 : 1;
} catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
}
