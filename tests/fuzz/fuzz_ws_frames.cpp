// Fuzz target: the WebSocket client codec (protocol/ws_frames.hpp): the
// reader of the server's frames, UTF-8 validation, the check of the upgrade
// answer and the client's frames.
//
// Input: byte 0 chooses how the rest is cut into pieces, byte 1 the message
// size limit; the rest is the server's bytes. The reader is run on them
// whole and in pieces (the bytes it leaves unused given again with the next
// piece, as the transport does): both runs must give the same events, and
// every event must keep the reader's promises. The same bytes are also
// checked as UTF-8 (against a plain decoder), split into the headers of an
// upgrade answer, and written as a client frame that must read back.
#include "fuzz_common.hpp"
#include "../support/utf8_oracle.hpp"

#include <wrenn/protocol/ws_frames.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

using namespace wrenn::protocol;

namespace {

// The oracle for is_valid_utf8 (tests/support/utf8_oracle.hpp).
bool plain_utf8(std::string_view s) { return wrenn_test::utf8_oracle(s); }

bool valid_close_code(std::uint16_t c) {
    return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999);
}

// Checks one event against the reader's promises and writes it down.
void note(ws_reader& r, ws_reader::event e, std::size_t max_message, std::vector<std::string>& out) {
    using ev = ws_reader::event;
    switch (e) {
    case ev::need_more: return;
    case ev::message: {
        const bool bin = r.binary();
        std::string m = r.take_message();
        fuzz::check(m.size() <= max_message, "a message over the limit");
        if (!bin) fuzz::check(is_valid_utf8(m) && plain_utf8(m), "a text message that is not UTF-8");
        out.push_back((bin ? "b" : "t") + m);
        return;
    }
    case ev::ping:
    case ev::pong:
        fuzz::check(r.payload().size() <= 125, "a control payload over 125 bytes");
        out.push_back((e == ev::ping ? "i" : "o") + std::string(r.payload()));
        return;
    case ev::close: {
        const auto p = r.payload();
        fuzz::check(p.size() <= 125 && p.size() != 1, "a close payload of 1 or over 125 bytes");
        if (p.empty()) {
            fuzz::check(r.close_code() == 1005 && r.close_reason().empty(), "an empty close with a code");
        } else {
            fuzz::check(valid_close_code(r.close_code()), "a close with an invalid code");
            fuzz::check(r.close_reason() == p.substr(2), "the close reason is not the payload after the code");
            fuzz::check(plain_utf8(r.close_reason()), "a close reason that is not UTF-8");
        }
        out.push_back("c" + std::string(p));
        return;
    }
    case ev::failed: {
        fuzz::check(r.failure() != nullptr && *r.failure() != '\0', "a failure without a reason");
        const auto code = r.failure_code();
        fuzz::check(code == ws_close_protocol_error || code == ws_close_invalid_data || code == ws_close_too_big,
                    "a failure code the reader does not send");
        out.push_back("f" + std::to_string(code));
        return;
    }
    }
    fuzz::check(false, "an event that is none of the enum's");
}

// Gives `wire` to a fresh reader in pieces of sizes from `piece` (0: whole),
// as the transport does. Returns the events.
std::vector<std::string> run(std::string_view wire, std::size_t max_message, unsigned piece_seed) {
    ws_reader r(max_message);
    std::vector<std::string> events;
    std::string buf;
    std::size_t pos = 0;
    std::uint32_t lcg = piece_seed;
    for (;;) {
        std::size_t used = 0;
        const auto e = r.read(buf.data(), buf.size(), used);
        fuzz::check(used <= buf.size(), "used more bytes than given");
        note(r, e, max_message, events);
        if (e == ws_reader::event::failed) {
            // failed for good: no bytes used, failed again, the same reason
            const char* why = r.failure();
            const auto code = r.failure_code();
            const std::string more = "\x81\x02ok";
            for (std::string_view again : {std::string_view(buf), std::string_view(more), std::string_view()}) {
                std::size_t u = 99;
                fuzz::check(r.read(again.data(), again.size(), u) == ws_reader::event::failed, "read after failed");
                fuzz::check(u == 0, "bytes used after failed");
                fuzz::check(r.failure() == why && r.failure_code() == code, "the failure changed");
            }
            break;
        }
        buf.erase(0, used);
        if (e != ws_reader::event::need_more) {
            // an event is progress: the last byte of a frame at least
            fuzz::check(used >= 1, "an event with no byte used");
            continue;
        }
        // need_more: all used but a cut header (2 to 10 bytes long)
        fuzz::check(buf.size() < 10, "need_more with more than a cut header unused");
        if (pos == wire.size()) break;
        const std::size_t n = fuzz::next_piece(piece_seed, lcg, wire.size() - pos);
        buf.append(wire.substr(pos, n));
        pos += n;
    }
    return events;
}

std::string_view field(std::string_view& rest) {
    const auto nl = rest.find('\n');
    const auto f = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    return f;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view all = fuzz::as_text(data, size);

    // UTF-8 against the plain decoder, on the input and on each suffix of its
    // first bytes (every alignment of the 8-byte scan)
    fuzz::check(is_valid_utf8(all) == plain_utf8(all), "is_valid_utf8 disagrees with the plain decoder");
    for (std::size_t k = 1; k < 8 && k < size; ++k)
        fuzz::check(is_valid_utf8(all.substr(k)) == plain_utf8(all.substr(k)),
                    "is_valid_utf8 disagrees with the plain decoder (suffix)");

    if (size < 2) return 0;
    const unsigned piece_seed = data[0];
    const std::size_t max_message = data[1] & 1 ? std::size_t(data[1]) * 4 : 64 * 1024 * 1024;
    const std::string_view wire = all.substr(2);

    // the reader: whole and in pieces, the same events
    const auto whole = run(wire, max_message, 0);
    const auto pieces = run(wire, max_message, piece_seed == 0 ? 1 : piece_seed);
    fuzz::check(whole == pieces, "the events depend on how the input was cut");

    // the upgrade answer: five header values, one a line; a line "-" is absent
    std::string_view rest = wire;
    ws_upgrade_answer a;
    std::optional<std::string_view>* fields[] = {&a.upgrade, &a.connection, &a.accept, &a.extensions, &a.protocol};
    for (auto* f : fields) {
        if (rest.empty()) break;
        const auto v = field(rest);
        if (v != "-") *f = v;
    }
    const std::string key = rest.empty() ? "dGhlIHNhbXBsZSBub25jZQ==" : std::string(rest);
    if (const auto problem = ws_upgrade_problem(a, key)) {
        fuzz::check(!problem->empty(), "an empty upgrade problem");
    } else {
        fuzz::check(a.upgrade && a.connection && a.accept, "an answer without its headers accepted");
        auto accept = *a.accept;
        while (!accept.empty() && (accept.front() == ' ' || accept.front() == '\t')) accept.remove_prefix(1);
        while (!accept.empty() && (accept.back() == ' ' || accept.back() == '\t')) accept.remove_suffix(1);
        fuzz::check(accept == ws_accept(key), "an answer with a wrong accept accepted");
    }

    // the client's frame of the input: it unmasks to the input, and the
    // reader reads it back once unmasked as a server would send it
    std::array<unsigned char, 4> mask{data[0], data[1], static_cast<unsigned char>(size), 0x5a};
    const auto op = data[0] & 1 ? ws_opcode::binary : ws_opcode::text;
    std::string frame;
    append_ws_frame(frame, op, wire, mask);
    const std::size_t header = wire.size() < 126 ? 2 : wire.size() <= 0xffff ? 4 : 10;
    fuzz::check(frame.size() == header + 4 + wire.size(), "a client frame of the wrong size");
    fuzz::check(static_cast<unsigned char>(frame[1]) & 0x80, "a client frame without the mask bit");
    std::string server(frame.substr(0, header));
    server[1] = static_cast<char>(server[1] & 0x7f);
    for (std::size_t i = 0; i < wire.size(); ++i)
        server += static_cast<char>(frame[header + 4 + i] ^ mask[i % 4]);
    fuzz::check(std::string_view(server).substr(header) == wire, "a client frame that does not unmask");
    const auto back = run(server, 64 * 1024 * 1024, 0);
    if (op == ws_opcode::binary || plain_utf8(wire))
        fuzz::check(back.size() == 1 && back[0] == (op == ws_opcode::binary ? "b" : "t") + std::string(wire),
                    "a client frame does not read back");
    else
        fuzz::check(back.size() == 1 && back[0] == "f1007", "a client frame of invalid UTF-8 read back as text");
    return 0;
}
