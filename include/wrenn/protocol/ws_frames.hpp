// The client side of the WebSocket protocol (RFC 6455), sans-I/O: the
// upgrade's key and the check of the server's answer, client frames out
// (masked), and a reader that turns the server's bytes into messages and
// control frames. impl/websocket.ipp moves the bytes.
//
// Why our own and not Beast's: Beast's read is a composed operation per
// message (a work guard, executor copies, a post) on top of its frame
// parsing; reading a socket's worth of frames and decoding them here costs
// a fraction of that per message (bench/NOTES.md).
#pragma once

#include <wrenn/detail/config.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wrenn::protocol {

// ---- the upgrade (RFC 6455 §4.1) ----

// Sec-WebSocket-Key for 16 random bytes.
WRENN_DECL std::string ws_key(const std::array<unsigned char, 16>& nonce);
// The Sec-WebSocket-Accept a server must answer `key` with.
WRENN_DECL std::string ws_accept(std::string_view key);
// The upgrade's header lines beside the usual request head (request_head::extra_headers).
WRENN_DECL std::string ws_upgrade_headers(std::string_view key);

// The headers of a 101 answer that matter to the client.
struct ws_upgrade_answer {
    std::optional<std::string_view> upgrade, connection, accept, extensions, protocol;
};
// Why a 101 answer to the upgrade sent with `key` does not open a WebSocket
// this client can speak; nullopt when it does.
WRENN_DECL std::optional<std::string> ws_upgrade_problem(const ws_upgrade_answer& a, std::string_view key);

// ---- frames out ----

enum class ws_opcode : std::uint8_t { continuation = 0, text = 1, binary = 2, close = 8, ping = 9, pong = 10 };

// Close codes (RFC 6455 §7.4.1) the client sends.
inline constexpr std::uint16_t ws_close_normal = 1000;
inline constexpr std::uint16_t ws_close_protocol_error = 1002;
inline constexpr std::uint16_t ws_close_invalid_data = 1007;
inline constexpr std::uint16_t ws_close_too_big = 1009;

// Appends one final frame, masked with `mask` as a client must (§5.3).
WRENN_DECL void append_ws_frame(std::string& out, ws_opcode op, std::string_view payload,
                                std::array<unsigned char, 4> mask);
// A close frame's payload: the code, then the reason.
WRENN_DECL std::string ws_close_payload(std::uint16_t code, std::string_view reason = {});

// Whether `s` is well-formed UTF-8 (RFC 3629: no overlong forms, surrogates
// or code points past U+10FFFF), as a text message must be.
WRENN_DECL bool is_valid_utf8(std::string_view s);

// ---- frames in ----

// Reads the server's frames from the bytes given to it, one event at a
// time. Data frames are joined into whole messages; control frames may come
// between the fragments of one. Anything RFC 6455 forbids a server to send
// (a masked frame, reserved bits or opcodes, a fragmented or long control
// frame, a continuation out of place, a non-minimal length, invalid UTF-8
// in a text message or a close reason, a bad close code) or a message over
// the size limit fails the reader for good.
class ws_reader {
public:
    enum class event {
        need_more,  // every byte given was used: give more
        message,    // a whole message: take_message(), binary()
        ping,       // payload(): answer with a pong carrying it
        pong,       // payload()
        close,      // close_code(), close_reason(): the server is closing
        failed,     // failure(), failure_code(): close with that code; no more events
    };

    explicit ws_reader(std::size_t max_message = 64 * 1024 * 1024) : max_message_(max_message) {}

    // Reads from data[0, size) until an event; `used` says how many bytes it
    // took. A frame header cut short is not taken (used stops before it):
    // give those bytes again with the ones that follow. Payload is taken as
    // it comes, so a long message needs no buffer of its own size here.
    WRENN_DECL event read(const char* data, std::size_t size, std::size_t& used);

    // The message of the last `message` event (its storage is given away).
    std::string take_message() { return std::move(message_); }
    bool binary() const { return binary_; }
    // The payload of the last ping, pong or close.
    std::string_view payload() const { return control_; }
    std::uint16_t close_code() const { return close_code_; }  // 1005 (none) when the close had no payload
    std::string_view close_reason() const;
    const char* failure() const { return failure_; }
    std::uint16_t failure_code() const { return failure_code_; }

private:
    event fail(const char* why, std::uint16_t code = ws_close_protocol_error);
    event end_of_frame();

    std::size_t max_message_;
    std::string message_;   // the message being read, fragments joined
    std::string control_;   // the control frame being read
    std::uint64_t left_ = 0;  // payload bytes of the current frame not read yet
    ws_opcode op_ = ws_opcode::continuation;
    bool in_frame_ = false;      // a header was read; its payload is under way
    bool fin_ = false;
    bool in_message_ = false;    // a data message is under way (fragments)
    bool binary_ = false;
    std::uint16_t close_code_ = 1005;
    const char* failure_ = nullptr;
    std::uint16_t failure_code_ = 0;
};

} // namespace wrenn::protocol

#ifdef WRENN_HEADER_ONLY
#include <wrenn/impl/ws_frames.ipp>
#endif
