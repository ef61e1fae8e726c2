// What a client handle points to: the resolved config, the parsed base URL
// and the API origin's connection pool, plus the one helper every REST call
// goes through (send, then map a >= 400 answer to its exception).
#pragma once

#include <wrenn/client.hpp>
#include <wrenn/config.hpp>
#include <wrenn/detail/http.hpp>
#include <wrenn/protocol/url.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <type_traits>

namespace wrenn::detail {

class client_impl {
public:
    client_impl(boost::asio::any_io_executor ex, config resolved);

    boost::asio::any_io_executor executor;
    config cfg;
    protocol::url base;
    std::shared_ptr<http_transport> transport;

    // Sends to BASE + path; returns the answer when status < 400, throws the
    // mapped wrenn::error otherwise.
    boost::asio::awaitable<http_response> call(http_request req);
    // The same with a body streamed from `chunks`.
    boost::asio::awaitable<http_response> call_streaming(http_request head, body_chunks chunks);
    // The same, but the answer's body is left to read piece by piece.
    boost::asio::awaitable<http_body_stream> open(http_request req);

    std::string path(std::string_view p) const { return protocol::join_path(base, p); }
    static std::string capsule_path(std::string_view id, std::string_view rest = {});
};

// The client's shared state, for the SDK's own objects (and its tests); not
// on the client's public surface.
struct client_access {
    static const std::shared_ptr<client_impl>& impl(const client& c) { return c.impl_; }
};

// How a REST operation turns its answer into its result; `context` is what
// the operation passed along for it (an id, a name).
template <class T>
using answer_decoder = T (*)(http_response& answer, std::string_view context);

// The decoder that reads the answer's body with `Decode(body)`.
template <auto Decode>
auto from_body(http_response& answer, std::string_view) {
    return Decode(answer.body);
}

// The answer's body itself, moved out.
inline std::string body_of(http_response& answer, std::string_view) { return std::move(answer.body); }

// The one path of every REST operation: the request, built before, goes out
// through call() and its answer comes back through `decode` (none for an
// operation without a result). One coroutine frame, which holds the client:
// the API object that started the operation may be a temporary.
template <class T>
boost::asio::awaitable<T> rest_call(std::shared_ptr<client_impl> c, http_request req,
                                    answer_decoder<T> decode = nullptr, std::string context = {}) {
    [[maybe_unused]] auto answer = co_await c->call(std::move(req));
    if constexpr (!std::is_void_v<T>) co_return decode(answer, context);
}

} // namespace wrenn::detail
