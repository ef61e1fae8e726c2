// The HTTP transport seen from the rest of the SDK: a request/answer pair of
// plain structs and a keep-alive connection pool per origin. No Beast here;
// the Beast/OpenSSL machinery lives in detail/http_transport.hpp and its .ipp files.
#pragma once

#include <wrenn/config.hpp>
#include <wrenn/detail/config.hpp>
#include <wrenn/protocol/url.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string_view>
#include <memory>
#include <optional>
#include <string>

namespace boost::asio::ssl {
class context;
}

namespace wrenn::detail {

// The TLS client context for (CA file, verification), shared process-wide
// while any transport holds it (setting one up loads the system trust store).
WRENN_DECL std::shared_ptr<boost::asio::ssl::context> shared_tls_context(const std::string& ca_file, bool verify);

enum class http_method { get, post, put, patch, del };

WRENN_DECL const char* to_string(http_method m);

struct http_request {
    http_method method = http_method::get;
    std::string target;           // path + query, already joined onto the base path
    std::string body;
    std::string content_type;     // empty: no body
    bool idempotent = false;      // may be replayed after a stale keep-alive connection
    std::optional<std::chrono::milliseconds> idle_timeout;   // overrides config
    std::optional<std::chrono::milliseconds> total_timeout;  // overrides config
    std::string operation;        // for error messages, e.g. "files.read('/x')"
    bool path_operation = false;  // a 502 "no such file" is a not_found_error
    bool throw_http_errors = false;  // send() raises a status >= 400 (after its retries) as the SDK's error
};

struct http_response {
    unsigned status = 0;
    std::string body;
    std::string content_type;
    std::optional<std::chrono::seconds> retry_after;
    std::string request_id;  // X-Request-ID (API 0.4.0 servers)
};

struct transport_settings {
    protocol::url origin;          // scheme, host, port (path ignored)
    std::string api_key;           // sent as X-API-Key; never logged
    wrenn::timeouts timeouts;
    std::string ca_file;
    bool verify_tls = true;
    std::size_t max_connections = 64;
    std::chrono::milliseconds max_idle_age = std::chrono::seconds(50);
    retry_policy retry{};                                   // send() only: never a streamed body
    std::function<void(const attempt_record&)> on_attempt{};  // send() attempts
};

class http_transport;

// One pool of keep-alive connections to one origin.
WRENN_DECL std::shared_ptr<http_transport> make_http_transport(boost::asio::any_io_executor ex,
                                                              transport_settings settings);

// Sends one request and reads the whole answer. Throws transport_error,
// timeout_error or boost::system::system_error(operation_aborted) on cancel.
WRENN_DECL boost::asio::awaitable<http_response> send(std::shared_ptr<http_transport> t, http_request req);

// A request body produced piece by piece: each call gives the next bytes; an
// empty string ends the body. Sent with chunked transfer-encoding.
using body_chunks = std::function<boost::asio::awaitable<std::string>()>;

// Sends `head` (its body ignored) with the body from `chunks`. Never replayed.
WRENN_DECL boost::asio::awaitable<http_response> send_streaming(std::shared_ptr<http_transport> t, http_request head,
                                                               body_chunks chunks);

// An answer whose body is read piece by piece, in constant memory. Holds its
// connection until the body is complete (then it goes back to the pool) or
// the stream is destroyed (then it is closed).
class http_body_stream {
public:
    struct state;
    http_body_stream();  // empty
    explicit http_body_stream(std::unique_ptr<state> s);
    boost::asio::any_io_executor get_executor() const;  // its transport's
    http_body_stream(http_body_stream&&) noexcept;
    http_body_stream& operator=(http_body_stream&&) noexcept;
    ~http_body_stream();

    unsigned status() const;
    std::optional<std::uint64_t> content_length() const;
    std::optional<std::chrono::seconds> retry_after() const;
    // The next bytes of the body (valid until the next call); empty at the end.
    boost::asio::awaitable<std::string_view> next();

private:
    std::unique_ptr<state> s_;
};

WRENN_DECL boost::asio::awaitable<http_body_stream> open_body_stream(std::shared_ptr<http_transport> t,
                                                                    http_request req);

// Pool statistics, for tests and observability.
struct pool_stats {
    std::size_t open = 0;   // connections that exist (idle + in use)
    std::size_t idle = 0;
    std::size_t waiting = 0;  // requests waiting for a free connection
    std::size_t created = 0;  // connections ever opened
};
WRENN_DECL pool_stats stats(const http_transport& t);

} // namespace wrenn::detail

#ifdef WRENN_HEADER_ONLY
#include <wrenn/impl/tls_context.ipp>
#include <wrenn/impl/http_pool.ipp>
#include <wrenn/impl/http_transport.ipp>
#include <wrenn/impl/http_body_stream.ipp>
#endif
