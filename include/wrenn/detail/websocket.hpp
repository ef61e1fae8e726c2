// The WebSocket transport seen from the rest of the SDK (no Beast here; see
// detail/ws_connection.hpp, detail/ws_stream.hpp and impl/websocket.ipp). One connection per stream or terminal, opened through
// the API origin's TLS settings, with the config's idle timeout enforced by
// client pings: a silent or vanished server surfaces as timeout_error.
//
// A connection reads ahead (so waiting for the next message can be
// cancelled without breaking the socket; what the socket had beyond one
// message waits, decoded or not, until the consumer asks) and serialises
// writes (a terminal writes input while another coroutine reads output).
#pragma once

#include <wrenn/detail/config.hpp>
#include <wrenn/detail/http.hpp>

#include <boost/asio/awaitable.hpp>

#include <memory>
#include <optional>
#include <string>

namespace wrenn::detail {

class ws_connection;

// GET `target` with the upgrade headers and X-API-Key. A refused upgrade
// raises the error its HTTP answer maps to; connection failures raise
// transport_error / timeout_error. `operation` names the call in errors.
WRENN_DECL boost::asio::awaitable<std::shared_ptr<ws_connection>> open_websocket(std::shared_ptr<http_transport> t,
                                                                               std::string target,
                                                                               std::string operation);

// The next text message; nullopt once the connection has ended (EOF or a
// close frame: whether that end was expected is the caller's call).
// Throws timeout_error (idle timeout: no data and no pong) or
// transport_error (reset, TLS failure). Cancellable: a cancelled receive
// loses no message and leaves the connection usable. One receive at a time:
// a second one while another waits throws usage_error (concurrent_receive).
WRENN_DECL boost::asio::awaitable<std::optional<std::string>> ws_receive(std::shared_ptr<ws_connection> c);
// The next message if the reader already has it, without suspending; nullopt
// otherwise (also once the connection has ended: ws_receive says how).
WRENN_DECL std::optional<std::string> ws_try_receive(ws_connection& c);

// Sends one text message, after any message sent before it.
WRENN_DECL boost::asio::awaitable<void> ws_send(std::shared_ptr<ws_connection> c, std::string text);

// Ends the connection without waiting: sends `last_message` (if any) and a
// close frame, then closes the socket (at once if the peer does not answer
// within a second). Never throws; safe to call more than once.
WRENN_DECL void ws_close(const std::shared_ptr<ws_connection>& c, std::string last_message = {});

// The same, awaited until the socket is closed.
WRENN_DECL boost::asio::awaitable<void> ws_close_wait(std::shared_ptr<ws_connection> c, std::string last_message = {});

} // namespace wrenn::detail

#ifdef WRENN_HEADER_ONLY
#include <wrenn/impl/websocket.ipp>
#endif
