// Test support: a raw Beast WebSocket client (plain or TLS) for talking to
// wrenn-local's WebSocket routes frame by frame, independent of the SDK, plus
// a minimal raw HTTP call for the REST set-up around it.
//
// The client reads all the time in the background (so server pings of any kind
// are seen and answered) and queues what it reads as events; tests take them
// with next(timeout). All of it runs on one io_context (see run_io).
#pragma once

#include "local_server.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/value.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace wrenn_test {

struct ws_event {
    enum kind_t {
        text,         // a text message (data)
        binary,       // a binary message (data)
        pong,         // a pong control frame (data = payload)
        close_frame,  // the server sent a close frame (close_code); final
        eof,          // the connection ended without a close frame (EOF, TLS close_notify or truncation); final
        error,        // any other read error (ec); final
        timeout,      // nothing arrived in time (next() only)
    };
    kind_t kind = timeout;
    std::string data;
    unsigned close_code = 0;
    boost::system::error_code ec;

    bool final() const { return kind == close_frame || kind == eof || kind == error; }
    // The message as JSON; throws when it is not JSON.
    boost::json::value json() const;
    // The message's "type" field, or "" (also for non-messages and non-JSON).
    std::string type() const;
    std::string describe() const;  // for INFO/CAPTURE
};

// The server refused the upgrade with a plain HTTP answer.
struct ws_refused : std::runtime_error {
    unsigned status;
    std::string body;
    ws_refused(unsigned s, std::string b)
        : std::runtime_error("upgrade refused with HTTP " + std::to_string(s) + ": " + b), status(s), body(std::move(b)) {}
};

struct ws_options {
    std::string api_key;  // sent as X-API-Key when not empty
    std::string bearer;   // sent as Authorization: Bearer ... when not empty
};

class ws_client {
public:
    virtual ~ws_client() = default;

    // Opens a WebSocket to the server's base URL + `path` (path after the
    // prefix, e.g. "/v1/capsules/<id>/exec/stream"). Throws ws_refused when
    // the answer is not 101, std::system_error on network failure.
    // (string_view parameters: callers pass literals or named strings, never
    // owning temporaries, inside co_await; see README's compiler notes.)
    static boost::asio::awaitable<std::shared_ptr<ws_client>> connect(const local_server& srv, std::string_view path,
                                                                     ws_options opts);
    // The same with the server's API key in X-API-Key.
    static boost::asio::awaitable<std::shared_ptr<ws_client>> connect(const local_server& srv, std::string_view path);

    // The next event, or `timeout` after `within`. After a final event, that
    // event again each time.
    virtual boost::asio::awaitable<ws_event> next(std::chrono::milliseconds within) = 0;

    // Writes (one at a time: await each before the next).
    virtual boost::asio::awaitable<void> send_text(std::string text) = 0;
    virtual boost::asio::awaitable<void> send_binary(std::string bytes) = 0;
    virtual boost::asio::awaitable<void> send_json(boost::json::value v) = 0;
    virtual boost::asio::awaitable<void> ping(std::string payload) = 0;
    // Sends a close frame and waits for the answer; then the next event is
    // close_frame with the code the server echoed (or eof/error).
    virtual boost::asio::awaitable<void> send_close(unsigned code) = 0;
    // Bytes straight onto the connection, below the WebSocket framing.
    virtual boost::asio::awaitable<void> send_raw(std::string bytes) = 0;
    // Drops the TCP connection at once (no close frame).
    virtual void abort() = 0;
    // Stop reading after the message being read now (a client that does not
    // keep up), and start again.
    virtual void hold() = 0;
    virtual void release() = 0;
};

// Every event until a final one (EOF, close frame, error) or the deadline (a
// `timeout` event ends the list then).
boost::asio::awaitable<std::vector<ws_event>> events_to_end(ws_client& ws,
                                                            std::chrono::milliseconds within = std::chrono::seconds(15));
// The text and binary messages among `evs`.
std::vector<ws_event> messages_of(const std::vector<ws_event>& evs);
// One line per event, for INFO.
std::string describe(const std::vector<ws_event>& evs);

struct http_reply {
    unsigned status = 0;
    std::string body;
    boost::json::value json() const;
};

// One request on a fresh connection to base URL + `path`, with the API key.
boost::asio::awaitable<http_reply> http_call(const local_server& srv, std::string_view method, std::string_view path,
                                             std::string_view body = {});
// POST /v1/capsules; returns the new capsule's id (REQUIREs 201).
boost::asio::awaitable<std::string> create_capsule(const local_server& srv);

// Runs a coroutine to completion on a fresh io_context; rethrows what it
// threw; fails (throws) when it is not done within `limit`.
void run_io(std::function<boost::asio::awaitable<void>()> body, std::chrono::seconds limit = std::chrono::seconds(60));

} // namespace wrenn_test
