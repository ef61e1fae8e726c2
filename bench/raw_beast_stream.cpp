// The limit for the exec-stream benchmark: a hand-written Beast WebSocket
// client doing the least a correct client must do. It connects, upgrades,
// sends the start message, then reads message after message into one reused
// buffer and parses each with one reused boost::json::parser (no events
// built, nothing copied out), checking type and data length, until exit. One
// thread, same options (--repeat included) and result line as wrenn_stream.
//
//   --mode read-only   no JSON at all: each message is only told apart by its
//                      first bytes, read with Beast's cheapest read (read_some
//                      into plain memory). Not a correct client; a diagnostic
//                      of what Beast's reading alone costs, the ceiling of a
//                      coroutine client built on it.
//   --mode frames-only the same with wrenn-cpp's own frame reader
//                      (protocol::ws_reader, which the SDK reads with since
//                      it stopped reading through Beast's WebSocket stream)
//                      on the socket, 16 KiB at a time: the ceiling of the
//                      SDK's stream reading.
#include "support/options.hpp"
#include "support/stream_bench.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/json/parser.hpp>

#include <wrenn/protocol/ws_frames.hpp>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace json = boost::json;
using tcp = asio::ip::tcp;

namespace {

using bench::stream_tally;

// "http://host:port/prefix" -> host, port, prefix (plain http only: the bench's server).
struct where {
    std::string host, port, prefix;
};

where split(const std::string& url) {
    constexpr std::string_view scheme = "http://";
    if (url.compare(0, scheme.size(), scheme) != 0) throw std::runtime_error("raw_beast_stream: http:// URLs only");
    auto rest = url.substr(scheme.size());
    auto slash = rest.find('/');
    auto hostport = rest.substr(0, slash);
    auto colon = hostport.rfind(':');
    return {hostport.substr(0, colon), colon == std::string::npos ? "80" : hostport.substr(colon + 1),
            slash == std::string::npos ? "" : rest.substr(slash)};
}

// Counts a message by its first bytes; true at the exit.
bool tally_first_bytes(std::string_view m, stream_tally& t) {
    if (m.rfind(R"({"type":"stdout")", 0) == 0) {
        ++t.events;
        t.bytes += bench::stream_data_size;
        return false;
    }
    if (m.rfind(R"({"type":"exit")", 0) == 0) {
        t.exit_code = 0;
        return true;
    }
    return false;
}

// --mode frames-only: the socket read 16 KiB at a time into wrenn-cpp's frame reader.
asio::awaitable<void> read_frames(tcp::socket& socket, stream_tally& t) {
    using event = wrenn::protocol::ws_reader::event;
    wrenn::protocol::ws_reader reader;
    std::string in(16 * 1024, '\0');
    std::size_t begin = 0, end = 0;
    for (;;) {
        std::size_t used = 0;
        auto ev = reader.read(in.data() + begin, end - begin, used);
        begin += used;
        if (ev == event::message) {
            if (tally_first_bytes(reader.take_message(), t)) co_return;
        } else if (ev == event::need_more) {
            end = std::copy(in.begin() + static_cast<std::ptrdiff_t>(begin), in.begin() + static_cast<std::ptrdiff_t>(end),
                            in.begin()) - in.begin();
            begin = 0;
            end += co_await socket.async_read_some(asio::buffer(in.data() + end, in.size() - end), asio::use_awaitable);
        } else if (ev == event::failed) {
            throw std::runtime_error(std::string("frames-only: ") + reader.failure());
        }
    }
}

asio::awaitable<void> read_stream(const where& w, const std::string& id, const std::string& mode, stream_tally& t) {
    const bool read_only = mode == "read-only";
    t = stream_tally{};
    auto ex = co_await asio::this_coro::executor;
    auto started = std::chrono::steady_clock::now();
    tcp::resolver resolver(ex);
    auto endpoints = co_await resolver.async_resolve(w.host, w.port, asio::use_awaitable);
    websocket::stream<beast::tcp_stream> ws(ex);
    co_await beast::get_lowest_layer(ws).async_connect(endpoints, asio::use_awaitable);
    beast::get_lowest_layer(ws).socket().set_option(tcp::no_delay(true));
    beast::get_lowest_layer(ws).expires_never();
    ws.set_option(websocket::stream_base::decorator(
        [](websocket::request_type& req) { req.set("X-API-Key", "wrn_bench"); }));
    auto target = w.prefix + "/v1/capsules/" + id + "/exec/stream";
    auto host = w.host + ":" + w.port;  // named: no owning temporary inside co_await (g++ 12)
    co_await ws.async_handshake(host, target, asio::use_awaitable);
    ws.text(true);
    std::string start = R"({"type":"start","cmd":"/bin/sh","args":["-c","bench-output"]})";
    co_await ws.async_write(asio::buffer(start), asio::use_awaitable);
    if (mode == "frames-only") {
        co_await read_frames(beast::get_lowest_layer(ws).socket(), t);
        t.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        beast::error_code ec;
        beast::get_lowest_layer(ws).socket().close(ec);
        co_return;
    }
    beast::flat_buffer buffer;
    json::parser parser;
    std::string memory;  // read-only: the message, read into plain memory
    std::size_t size = 0;
    for (;;) {
        if (read_only) {
            // Beast's cheapest read: read_some into plain memory (no dynamic buffer,
            // so no second composed operation around it), the way wrenn-cpp reads
            auto want = ws.read_size_hint(1536);
            if (memory.size() - size < want) memory.resize(size + want);
            size += co_await ws.async_read_some(asio::buffer(memory.data() + size, memory.size() - size),
                                                asio::use_awaitable);
            if (!ws.is_message_done()) continue;
            std::string_view m(memory.data(), size);
            size = 0;
            if (tally_first_bytes(m, t)) break;
            continue;
        }
        buffer.clear();
        co_await ws.async_read(buffer, asio::use_awaitable);
        auto bytes = buffer.cdata();
        parser.reset();
        parser.write(static_cast<const char*>(bytes.data()), bytes.size());
        auto value = parser.release();
        const auto& obj = value.as_object();
        auto type = obj.at("type").as_string();
        if (type == "stdout") {
            auto size = obj.at("data").as_string().size();
            ++t.events;
            t.bytes += size;
            if (size != bench::stream_data_size) ++t.bad;
        } else if (type == "exit") {
            t.exit_code = static_cast<int>(obj.at("exit_code").as_int64());
            break;
        } else if (type != "start") {
            throw std::runtime_error("unexpected message: " + beast::buffers_to_string(bytes));
        }
    }
    t.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    beast::error_code ec;
    beast::get_lowest_layer(ws).socket().close(ec);  // the server sends no close frame (WIRE.md §7)
}

asio::awaitable<void> read_streams(where w, std::string id, std::string mode, long n,
                                   std::vector<stream_tally>& all) {
    for (long i = 0; i < n; ++i) {
        all.emplace_back();
        co_await read_stream(w, id, mode, all.back());
    }
}

} // namespace

int main(int argc, char** argv) {
    auto opts = bench::parse_options(argc, argv);
    if (!opts.mode.empty() && opts.mode != "read-only" && opts.mode != "frames-only") {
        std::cerr << "raw_beast_stream: unknown --mode " << opts.mode << "\n";
        return 2;
    }
    auto target = bench::open_stream_target(opts);
    asio::io_context ioc(1);
    std::vector<bench::stream_tally> all;
    std::string failure;
    asio::co_spawn(ioc,
                   read_streams(split(target.base_url), opts.id, opts.mode, std::max(1L, opts.repeat), all),
                   [&failure](std::exception_ptr e) {
                       if (!e) return;
                       try {
                           std::rethrow_exception(e);
                       } catch (const std::exception& x) {
                           failure = x.what();
                       }
                   });
    ioc.run();
    return bench::report_streams("raw_beast_stream", std::move(all), target.expected, failure);
}
