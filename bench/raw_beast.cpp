// The limit for our own stack: a hand-written Boost.Beast client doing what
// the SDK's get(id) does at its core and nothing more. --concurrency
// coroutines on one thread, each with its own keep-alive connection, sending
// GET <base>/v1/capsules/<id> and parsing the JSON answer with Boost.JSON.
// Plain HTTP only.
//
//   --mode coroutines  (default) as above: the limit for the awaitable API
//   --mode threads     the same with blocking Beast calls, --concurrency
//                      threads with a connection each: the limit for the
//                      blocking API, which gets its requests in flight that way
//   --mode two-threads the same coroutines on an io_context run by 2 threads:
//                      what Asio's scheduler alone costs when shared
//   --mode read-only   no HTTP parser and no JSON, no Beast at all: the
//                      request written as prepared bytes, the answer read
//                      from the socket until its Content-Length is in. Not a
//                      correct client: the least any coroutine client on
//                      Asio does per request, its ceiling on this machine
#include "support/load.hpp"
#include "support/target.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>

#include <charconv>
#include <iostream>
#include <optional>
#include <thread>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

struct where {
    std::string host, port, target;
};

// http://HOST:PORT/PATH only: enough for a loopback benchmark.
where parse(const std::string& base_url, const std::string& id) {
    const std::string scheme = "http://";
    if (base_url.rfind(scheme, 0) != 0) throw std::runtime_error("raw_beast: only http:// URLs");
    auto rest = base_url.substr(scheme.size());
    auto slash = rest.find('/');
    auto authority = rest.substr(0, slash);
    auto path = slash == std::string::npos ? std::string() : rest.substr(slash);
    auto colon = authority.rfind(':');
    if (colon == std::string::npos) throw std::runtime_error("raw_beast: the URL needs a port");
    return {authority.substr(0, colon), authority.substr(colon + 1), path + "/v1/capsules/" + id};
}

http::request<http::empty_body> request_for(const where& w) {
    http::request<http::empty_body> req(http::verb::get, w.target, 11);
    req.set(http::field::host, w.host + ":" + w.port);
    req.set(http::field::accept, "application/json");
    req.set("X-API-Key", "wrn_bench");
    return req;
}

void check_answer(const http::response<http::string_body>& res, const std::string& id) {
    if (res.result() != http::status::ok) throw std::runtime_error("status " + std::to_string(res.result_int()));
    auto doc = boost::json::parse(res.body());
    if (doc.at("id").as_string() != id) throw std::runtime_error("answer for another capsule");
}

asio::awaitable<void> worker(bench::plan& plan, const tcp::resolver::results_type& endpoints, const where& w,
                             const std::string& id, bench::samples& s) {
    std::optional<beast::tcp_stream> stream;
    beast::flat_buffer buffer;
    auto req = request_for(w);
    while (plan.next()) {
        auto started = bench::clock::now();
        try {
            if (!stream) {
                stream.emplace(co_await asio::this_coro::executor);
                co_await stream->async_connect(endpoints, asio::use_awaitable);
                buffer.clear();
            }
            co_await http::async_write(*stream, req, asio::use_awaitable);
            http::response<http::string_body> res;
            co_await http::async_read(*stream, buffer, res, asio::use_awaitable);
            check_answer(res, id);
            if (!res.keep_alive()) stream.reset();
            plan.succeeded(s, started);
        } catch (const std::exception& e) {
            stream.reset();
            plan.failed(s, e.what());
        }
    }
}

// --mode read-only: the size of the whole answer at the front of `in`, or 0
// while it is not all in. nginx's spelling of the header only.
std::size_t answer_size(std::string_view in) {
    auto end = in.find("\r\n\r\n");
    if (end == std::string_view::npos) return 0;
    if (in.rfind("HTTP/1.1 200 ", 0) != 0) throw std::runtime_error("not a 200 answer");
    constexpr std::string_view length = "\r\nContent-Length: ";
    auto at = in.substr(0, end).find(length);
    if (at == std::string_view::npos) throw std::runtime_error("no Content-Length");
    std::size_t body = 0;
    std::from_chars(in.data() + at + length.size(), in.data() + end, body);
    return in.size() >= end + 4 + body ? end + 4 + body : 0;
}

asio::awaitable<void> read_only_worker(bench::plan& plan, const tcp::resolver::results_type& endpoints,
                                       const where& w, bench::samples& s) {
    std::optional<tcp::socket> socket;
    const std::string req = "GET " + w.target + " HTTP/1.1\r\nHost: " + w.host + ":" + w.port +
                            "\r\nAccept: application/json\r\nX-API-Key: wrn_bench\r\n\r\n";
    std::string in(16 * 1024, '\0');
    std::size_t have = 0;
    while (plan.next()) {
        auto started = bench::clock::now();
        try {
            if (!socket) {
                socket.emplace(co_await asio::this_coro::executor);
                co_await asio::async_connect(*socket, endpoints, asio::use_awaitable);
                have = 0;
            }
            co_await asio::async_write(*socket, asio::buffer(req), asio::use_awaitable);
            std::size_t total;
            while ((total = answer_size(std::string_view(in.data(), have))) == 0) {
                if (have == in.size()) throw std::runtime_error("an answer over 16 KiB");
                have += co_await socket->async_read_some(asio::buffer(in.data() + have, in.size() - have),
                                                         asio::use_awaitable);
            }
            std::copy(in.begin() + static_cast<std::ptrdiff_t>(total), in.begin() + static_cast<std::ptrdiff_t>(have),
                      in.begin());
            have -= total;
            plan.succeeded(s, started);
        } catch (const std::exception& e) {
            socket.reset();
            plan.failed(s, e.what());
        }
    }
}

void blocking_worker(bench::plan& plan, const tcp::resolver::results_type& endpoints, const where& w,
                     const std::string& id, bench::samples& s) {
    asio::io_context ioc(1);
    std::optional<tcp::socket> socket;
    beast::flat_buffer buffer;
    auto req = request_for(w);
    while (plan.next()) {
        auto started = bench::clock::now();
        try {
            if (!socket) {
                socket.emplace(ioc);
                asio::connect(*socket, endpoints);
                buffer.clear();
            }
            http::write(*socket, req);
            http::response<http::string_body> res;
            http::read(*socket, buffer, res);
            check_answer(res, id);
            if (!res.keep_alive()) socket.reset();
            plan.succeeded(s, started);
        } catch (const std::exception& e) {
            socket.reset();
            plan.failed(s, e.what());
        }
    }
}

} // namespace

int main(int argc, char** argv) {
    auto opts = bench::parse_options(argc, argv);
    auto target = bench::open_target(opts);
    auto w = parse(target.base_url, opts.id);
    asio::io_context ioc(1);
    auto endpoints = tcp::resolver(ioc).resolve(w.host, w.port);
    bench::plan plan(opts);
    std::vector<bench::samples> workers(static_cast<std::size_t>(opts.concurrency));
    if (opts.mode == "threads") {
        std::vector<std::thread> threads;
        plan.start();
        for (auto& s : workers) threads.emplace_back([&] { blocking_worker(plan, endpoints, w, opts.id, s); });
        for (auto& t : threads) t.join();
        return bench::report(plan, workers);
    }
    if (opts.mode == "read-only") {
        plan.start();
        for (auto& s : workers) asio::co_spawn(ioc, read_only_worker(plan, endpoints, w, s), asio::detached);
        ioc.run();
        return bench::report(plan, workers);
    }
    const bool two_threads = opts.mode == "two-threads";
    if (!opts.mode.empty() && opts.mode != "coroutines" && !two_threads) {
        std::cerr << "raw_beast: unknown --mode " << opts.mode << "\n";
        return 2;
    }
    asio::io_context shared_ioc(two_threads ? 2 : 1);
    plan.start();
    for (auto& s : workers) asio::co_spawn(shared_ioc, worker(plan, endpoints, w, opts.id, s), asio::detached);
    std::thread second;
    if (two_threads) second = std::thread([&shared_ioc] { shared_ioc.run(); });
    shared_ioc.run();
    if (second.joinable()) second.join();
    return bench::report(plan, workers);
}
