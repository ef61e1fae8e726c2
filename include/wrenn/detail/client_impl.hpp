// What a client handle points to: the resolved config, the parsed base URL
// and the API origin's connection pool, plus the one helper every REST call
// goes through (send, then map a >= 400 answer to its exception).
#pragma once

#include <wrenn/config.hpp>
#include <wrenn/detail/http.hpp>
#include <wrenn/protocol/url.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

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

} // namespace wrenn::detail
