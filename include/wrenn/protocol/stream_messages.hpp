// The messages of the WebSocket endpoints, sans-I/O (WIRE.md §7–§9, §11):
// what the client sends, built as JSON text, and what the server sends,
// decoded into events. In-band error texts map to the typed exceptions.
#pragma once

#include <wrenn/detail/config.hpp>
#include <wrenn/events.hpp>

#include <exception>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wrenn::protocol {

// ---- exec stream and attach (§8, §9) ----

// The program and arguments a stream starts. The server's exec stream knows
// neither environment nor working directory (§8.1), so when either is asked
// for the command is wrapped: /bin/sh -c 'cd -- "$0" && exec env "$@"'.
struct stream_command {
    std::string cmd;
    std::vector<std::string> args;
};

// `command` with no args runs through /bin/sh -c (the Python SDK's rule);
// with args, `command` is the program. Throws usage_error for an empty
// command or an env name that is empty or holds '='.
WRENN_DECL stream_command make_stream_command(std::string_view command, std::vector<std::string> args,
                                              const std::map<std::string, std::string>& envs,
                                              std::string_view cwd);

WRENN_DECL std::string exec_stream_start_message(const stream_command& c);
WRENN_DECL std::string stream_stop_message();

// A server message of a process stream. nullopt for a type this SDK does not
// know (skipped, for forward compatibility); protocol_error when the text is
// not a JSON object with a string "type".
WRENN_DECL std::optional<stream_event> parse_stream_message(std::string_view text);
// The same for a message the caller gives away: the data of the common
// stdout/stderr message is decoded in its storage, with no allocation.
WRENN_DECL std::optional<stream_event> take_stream_message(std::string&& text);

// ---- terminals (§11) ----

struct pty_start {
    std::string cmd = "/bin/bash";
    std::vector<std::string> args{};
    unsigned cols = 80, rows = 24;
    std::map<std::string, std::string> envs{};
    std::string cwd{};
};

WRENN_DECL std::string pty_start_message(const pty_start& s);
WRENN_DECL std::string pty_connect_message(std::string_view tag);
WRENN_DECL std::string pty_input_message(std::string_view bytes);  // base64 with padding
WRENN_DECL std::string pty_resize_message(unsigned cols, unsigned rows);
WRENN_DECL std::string pty_kill_message();

// A server message of a terminal session. nullopt for the keepalive ping and
// unknown types; protocol_error as above, and for output that is not base64.
WRENN_DECL std::optional<pty_event> parse_pty_message(std::string_view text);

// ---- errors ----

// The exception for an in-band error text that arrived before the stream
// started (authentication, capsule not found or not running, host down, a
// failure to start): the same classes the REST calls raise. The message is
// "<operation>: <text>".
WRENN_DECL std::exception_ptr make_stream_error(std::string_view text, std::string_view operation);

} // namespace wrenn::protocol

#ifdef WRENN_HEADER_ONLY
#include <wrenn/impl/stream_messages.ipp>
#endif
