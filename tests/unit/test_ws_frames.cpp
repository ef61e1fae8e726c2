// protocol/ws_frames.hpp, the sans-I/O WebSocket client codec (RFC 6455):
// the upgrade's key, accept and answer check, the masked frames the client
// writes, UTF-8 validation (against a decoder written here), and the reader
// of the server's frames: messages, control frames, every split of the input
// and every violation that must fail it.
#include <catch2/catch.hpp>

#include <wrenn/protocol/base64.hpp>
#include <wrenn/protocol/request_head.hpp>
#include <wrenn/protocol/ws_frames.hpp>

#include "../support/utf8_oracle.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

using namespace wrenn::protocol;
using namespace std::string_literals;

namespace {

// ---- an independent UTF-8 oracle (tests/support/utf8_oracle.hpp) ----

using wrenn_test::utf8_oracle;
bool oracle_utf8(std::string_view s) { return utf8_oracle(s); }

// Known sequences (Markus Kuhn's UTF-8 decoder stress test, RFC 3629), with
// the verdict written down by hand rather than computed.
struct utf8_case {
    std::string bytes;
    bool valid;
};
const std::vector<utf8_case>& utf8_cases() {
    static const std::vector<utf8_case> cases = {
        // valid: the Greek word kosme, first and last code point of each length
        {"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", true},
        {"\x00"s, true},
        {"\xc2\x80", true},
        {"\xe0\xa0\x80", true},
        {"\xf0\x90\x80\x80", true},
        {"\x7f", true},
        {"\xdf\xbf", true},
        {"\xef\xbf\xbf", true},  // U+FFFF: a noncharacter, still well-formed
        {"\xef\xbf\xbe", true},  // U+FFFE
        {"\xf4\x8f\xbf\xbf", true},  // U+10FFFF
        {"\xed\x9f\xbf", true},  // U+D7FF, just below the surrogates
        {"\xee\x80\x80", true},  // U+E000, just above them
        {"\xef\xbf\xbd", true},  // U+FFFD
        {"\xf1\x80\x80\x80", true},
        {"\xf3\xbf\xbf\xbf", true},
        {"\xe2\x82\xac", true},  // the euro sign
        {"\xf0\x9f\x98\x80", true},  // an emoji (4 bytes)
        // lone continuation bytes
        {"\x80", false},
        {"\xbf", false},
        {"\x80\xbf", false},
        {"\x80\xbf\x80\xbf", false},
        // leads never allowed
        {"\xc0\x80", false},
        {"\xc1\xbf", false},
        {"\xf5\x80\x80\x80", false},
        {"\xf7\xbf\xbf\xbf", false},
        {"\xf8\x88\x80\x80\x80", false},
        {"\xfc\x84\x80\x80\x80\x80", false},
        {"\xfe", false},
        {"\xff", false},
        {"\xfe\xfe\xff\xff", false},
        // overlong forms
        {"\xc0\xaf", false},  // '/'
        {"\xe0\x80\xaf", false},
        {"\xf0\x80\x80\xaf", false},
        {"\xe0\x80\x80", false},
        {"\xe0\x9f\xbf", false},  // the largest overlong 3-byte form
        {"\xf0\x80\x80\x80", false},
        {"\xf0\x8f\xbf\xbf", false},  // the largest overlong 4-byte form
        {"\xc1\x81", false},
        // surrogates, alone and paired
        {"\xed\xa0\x80", false},  // U+D800
        {"\xed\xad\xbf", false},  // U+DB7F
        {"\xed\xb0\x80", false},  // U+DC00
        {"\xed\xbf\xbf", false},  // U+DFFF
        {"\xed\xa0\x80\xed\xb0\x80", false},
        // past U+10FFFF
        {"\xf4\x90\x80\x80", false},
        {"\xf4\xbf\xbf\xbf", false},
        // truncated sequences
        {"\xc2", false},
        {"\xdf", false},
        {"\xe0\xa0", false},
        {"\xe2\x82", false},
        {"\xef\xbf", false},
        {"\xf0\x90\x80", false},
        {"\xf4\x8f\xbf", false},
        {"\xf1", false},
        // a continuation byte replaced by something else
        {"\xc2\x41", false},
        {"\xc2\xc2\x80", false},
        {"\xe1\x80\x41", false},
        {"\xe1\x41\x80", false},
        {"\xf1\x80\x80\x41", false},
        {"\xf1\x80\x41\x80", false},
        {"\xe2\x82\xac\xe2\x82", false},  // a whole one then a cut one
    };
    return cases;
}

// ---- frames as a server would send them ----

struct frame_opts {
    bool fin = true;
    unsigned rsv = 0;       // the bits 0x70 of the first byte
    int length_form = 0;    // 0: the shortest; 126 or 127: that form whatever the length
    bool masked = false;    // a server must not, so it is a failure to test
    std::optional<std::uint64_t> claimed;  // a length to write instead of the payload's
};

std::string frame(unsigned op, std::string_view payload, frame_opts o = {}) {
    std::string f;
    f += static_cast<char>((o.fin ? 0x80 : 0) | (o.rsv & 0x70) | (op & 0x0f));
    const std::uint64_t n = o.claimed ? *o.claimed : payload.size();
    const int form = o.length_form ? o.length_form : n < 126 ? 0 : n <= 0xffff ? 126 : 127;
    const char mask_bit = o.masked ? char(0x80) : 0;
    if (form == 0) {
        f += static_cast<char>(mask_bit | static_cast<char>(n));
    } else if (form == 126) {
        f += static_cast<char>(mask_bit | 126);
        f += static_cast<char>(n >> 8 & 0xff);
        f += static_cast<char>(n & 0xff);
    } else {
        f += static_cast<char>(mask_bit | 127);
        for (int shift = 56; shift >= 0; shift -= 8) f += static_cast<char>(n >> shift & 0xff);
    }
    const unsigned char key[4] = {0x12, 0x34, 0x56, 0x78};
    if (o.masked) f.append(reinterpret_cast<const char*>(key), 4);
    for (std::size_t i = 0; i < payload.size(); ++i)
        f += static_cast<char>(payload[i] ^ (o.masked ? key[i % 4] : 0));
    return f;
}

std::string text(std::string_view p, frame_opts o = {}) { return frame(1, p, o); }
std::string binary(std::string_view p, frame_opts o = {}) { return frame(2, p, o); }
std::string cont(std::string_view p, frame_opts o = {}) { return frame(0, p, o); }
std::string ping(std::string_view p) { return frame(9, p); }
std::string pong(std::string_view p) { return frame(10, p); }
std::string close_frame(std::string_view p) { return frame(8, p); }
frame_opts more() {
    frame_opts o;
    o.fin = false;
    return o;
}

std::string bytes_of(std::size_t n, unsigned seed = 1) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng() & 0xff);
    return s;
}

std::string ascii_of(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 26);
    return s;
}

// ---- reading, the way a transport does ----

// One event, written down so that runs can be compared.
std::string describe(ws_reader::event e, ws_reader& r) {
    switch (e) {
    case ws_reader::event::need_more: return "need_more";
    case ws_reader::event::message: {
        auto m = r.take_message();
        return (r.binary() ? "binary:" : "text:") + m;
    }
    case ws_reader::event::ping: return "ping:" + std::string(r.payload());
    case ws_reader::event::pong: return "pong:" + std::string(r.payload());
    case ws_reader::event::close:
        return "close:" + std::to_string(r.close_code()) + ":" + std::string(r.close_reason());
    case ws_reader::event::failed: return "failed:" + std::to_string(r.failure_code());
    }
    return "?";
}

// Gives `wire` to a reader cut at `cuts` (ascending positions), as a
// transport does: the bytes not used are kept and given again with the next
// ones. Returns the events, then "left:N" for the bytes never used.
std::vector<std::string> read_cut(ws_reader& r, std::string_view wire, const std::vector<std::size_t>& cuts) {
    std::vector<std::string> events;
    std::string buf;
    std::size_t pos = 0, next_cut = 0;
    bool problems = false;
    for (;;) {
        std::size_t used = 12345;
        const auto e = r.read(buf.data(), buf.size(), used);
        if (used > buf.size()) {
            problems = true;
            break;
        }
        buf.erase(0, used);
        if (e == ws_reader::event::need_more) {
            // only a cut header is left over; a header is at most 10 bytes
            if (buf.size() >= 10) problems = true;
            if (pos == wire.size()) break;
            const std::size_t to = next_cut < cuts.size() ? cuts[next_cut++] : wire.size();
            buf.append(wire.substr(pos, to - pos));
            pos = to;
            continue;
        }
        events.push_back(describe(e, r));
        if (e == ws_reader::event::failed) break;
    }
    if (problems) events.push_back("bad used");
    events.push_back("left:" + std::to_string(buf.size() + (wire.size() - pos)));
    return events;
}

std::vector<std::string> read_whole(std::string_view wire, std::size_t max_message = 64 * 1024 * 1024) {
    ws_reader r(max_message);
    return read_cut(r, wire, {});
}

std::vector<std::string> read_in_pieces(std::string_view wire, std::size_t piece) {
    std::vector<std::size_t> cuts;
    for (std::size_t at = piece; at < wire.size(); at += piece) cuts.push_back(at);
    ws_reader r;
    return read_cut(r, wire, cuts);
}

using events = std::vector<std::string>;

// The failure code of a reader given `wire` whole, 0 when it did not fail.
std::uint16_t failure_of(std::string_view wire, std::size_t max_message = 64 * 1024 * 1024) {
    ws_reader r(max_message);
    auto ev = read_cut(r, wire, {});
    for (auto& e : ev)
        if (e.rfind("failed:", 0) == 0) {
            CHECK(r.failure() != nullptr);
            if (r.failure()) CHECK(!std::string_view(r.failure()).empty());
            return r.failure_code();
        }
    return 0;
}

} // namespace

// ======================================================================
// the upgrade

TEST_CASE("ws upgrade: the accept of RFC 6455 section 1.3 and a second known pair", "[ws_frames]") {
    CHECK(ws_accept("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    CHECK(ws_accept("x3JJHMbDL1EzLkh9GBhXDw==") == "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");  // Wikipedia's example
    CHECK(ws_accept("AQIDBAUGBwgJCgsMDQ4PEA==") == "C/0nmHhBztSRGR1CwL6Tf4ZjwpY=");  // Python hashlib
    CHECK(ws_accept("dGhlIHNhbXBsZSBub25jZQ==") != ws_accept("dGhlIHNhbXBsZSBub25jZA=="));
}

TEST_CASE("ws upgrade: the key is the base64 of the 16 nonce bytes", "[ws_frames]") {
    // RFC 6455's sample key is the base64 of the 16 bytes "the sample nonce"
    std::array<unsigned char, 16> sample{};
    const std::string_view words = "the sample nonce";
    for (std::size_t i = 0; i < 16; ++i) sample[i] = static_cast<unsigned char>(words[i]);
    CHECK(ws_key(sample) == "dGhlIHNhbXBsZSBub25jZQ==");

    std::array<unsigned char, 16> counting{};
    for (std::size_t i = 0; i < 16; ++i) counting[i] = static_cast<unsigned char>(i + 1);
    CHECK(ws_key(counting) == "AQIDBAUGBwgJCgsMDQ4PEA==");

    std::mt19937 rng(7);
    for (int round = 0; round < 200; ++round) {
        std::array<unsigned char, 16> nonce{};
        for (auto& b : nonce) b = static_cast<unsigned char>(rng() & 0xff);
        if (round == 0) nonce.fill(0xff);
        if (round == 1) nonce.fill(0x00);
        const auto key = ws_key(nonce);
        INFO(key);
        REQUIRE(key.size() == 24);
        CHECK(key.substr(22) == "==");
        auto back = base64_decode(key);
        REQUIRE(back);
        CHECK(*back == std::string(reinterpret_cast<const char*>(nonce.data()), 16));
    }
}

TEST_CASE("ws upgrade: the header lines, and where the request head puts them", "[ws_frames]") {
    const auto lines = ws_upgrade_headers("dGhlIHNhbXBsZSBub25jZQ==");
    CHECK(lines ==
          "Upgrade: websocket\r\n"
          "Connection: Upgrade\r\n"
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
          "Sec-WebSocket-Version: 13\r\n");

    request_head h;
    h.method = "GET";
    h.target = "/api/v1/capsules/cl-1/exec/stream";
    h.host = "127.0.0.1:8080";
    h.user_agent = "wrenn-cpp/9.9.9";
    h.api_key = "wrn_k";
    h.extra_headers = lines;
    std::string out = "earlier|";
    append_request_head(out, h);
    CHECK(out ==
          "earlier|"
          "GET /api/v1/capsules/cl-1/exec/stream HTTP/1.1\r\n"
          "Host: 127.0.0.1:8080\r\n"
          "User-Agent: wrenn-cpp/9.9.9\r\n"
          "Accept: application/json\r\n"
          "X-API-Key: wrn_k\r\n"
          "Upgrade: websocket\r\n"
          "Connection: Upgrade\r\n"
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
          "Sec-WebSocket-Version: 13\r\n"
          "\r\n");
    // one blank line, at the very end
    CHECK(out.find("\r\n\r\n") == out.size() - 4);

    // after the body headers too
    h.method = "POST";
    h.content_type = "application/json";
    h.body_size = 3;
    out.clear();
    append_request_head(out, h);
    CHECK(out.find("Content-Length: 3\r\nUpgrade: websocket\r\n") != std::string::npos);
    CHECK(out.find("\r\n\r\n") == out.size() - 4);

    // none: the head as before
    h.extra_headers = {};
    out.clear();
    append_request_head(out, h);
    CHECK(out.find("Upgrade") == std::string::npos);
    CHECK(out.substr(out.size() - 21) == "Content-Length: 3\r\n\r\n");
}

TEST_CASE("ws upgrade: a right answer opens, in any case and spacing the RFC allows", "[ws_frames]") {
    const std::string key = "dGhlIHNhbXBsZSBub25jZQ==";
    const std::string accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
    for (std::string_view upgrade : {"websocket", "WebSocket", "WEBSOCKET", " websocket ", "websocket, foo/1"}) {
        for (std::string_view connection :
             {"Upgrade", "upgrade", "UPGRADE", "keep-alive, Upgrade", "Upgrade, keep-alive", "keep-alive,upgrade",
              "  Upgrade\t", "a, b ,  upgrade  , c"}) {
            for (std::string ac : {accept, " " + accept, accept + "  ", "\t" + accept + "\t"}) {
                ws_upgrade_answer a;
                a.upgrade = upgrade;
                a.connection = connection;
                a.accept = ac;
                INFO(upgrade << " | " << connection << " | '" << ac << "'");
                CHECK_FALSE(ws_upgrade_problem(a, key).has_value());
            }
        }
    }
    // an empty extensions or protocol header chose nothing
    ws_upgrade_answer a;
    a.upgrade = "websocket";
    a.connection = "Upgrade";
    a.accept = accept;
    a.extensions = "";
    a.protocol = " ";
    CHECK_FALSE(ws_upgrade_problem(a, key).has_value());
}

TEST_CASE("ws upgrade: each wrong field of the answer is named", "[ws_frames]") {
    const std::string key = "dGhlIHNhbXBsZSBub25jZQ==";
    auto good = [] {
        ws_upgrade_answer a;
        a.upgrade = "websocket";
        a.connection = "Upgrade";
        a.accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
        return a;
    };
    auto problem_with = [&](const ws_upgrade_answer& a, std::string_view word) {
        auto p = ws_upgrade_problem(a, key);
        REQUIRE(p.has_value());
        INFO(*p);
        CHECK(p->find(word) != std::string::npos);
    };

    auto a = good();
    a.upgrade.reset();
    problem_with(a, "Upgrade");
    for (std::string_view bad : {"", "h2c", "websockets", "web socket", "websocket2", "upgrade"}) {
        INFO(bad);
        a = good();
        a.upgrade = bad;
        problem_with(a, "Upgrade");
    }

    a = good();
    a.connection.reset();
    problem_with(a, "Connection");
    for (std::string_view bad : {"", "keep-alive", "close", "Upgraded", "websocket", "keep-alive; upgrade"}) {
        INFO(bad);
        a = good();
        a.connection = bad;
        problem_with(a, "Connection");
    }

    a = good();
    a.accept.reset();
    problem_with(a, "Sec-WebSocket-Accept");
    for (std::string_view bad : {"", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo", "S3PPLMBITXAQ9KYGZZHZRBK+XOO=",
                                 "HSmrc0sMlYUkAGmm5OPpG2HaGWk=", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=x",
                                 "s3pPLMBi TxaQ9kYGzzhZRbK+xOo="}) {
        INFO(bad);
        a = good();
        a.accept = bad;
        problem_with(a, "Sec-WebSocket-Accept");
    }
    // the accept of another key
    a = good();
    CHECK(ws_upgrade_problem(a, "x3JJHMbDL1EzLkh9GBhXDw==").has_value());

    a = good();
    a.extensions = "permessage-deflate";
    problem_with(a, "extension");
    problem_with(a, "permessage-deflate");

    a = good();
    a.protocol = "chat";
    problem_with(a, "subprotocol");
    problem_with(a, "chat");
}

// ======================================================================
// frames out

TEST_CASE("ws frames out: header, shortest length, mask and masked payload for every size and opcode",
          "[ws_frames]") {
    struct size_case {
        std::size_t n;
        std::string length_bytes;  // the second byte on, as RFC 6455 §5.2 spells them (mask bit set)
    };
    const std::vector<size_case> sizes = {
        {0, "\x80"s},
        {1, "\x81"},
        {125, "\xfd"},
        {126, "\xfe\x00\x7e"s},
        {127, "\xfe\x00\x7f"s},
        {65535, "\xfe\xff\xff"},
        {65536, "\xff\x00\x00\x00\x00\x00\x01\x00\x00"s},
        {70000, "\xff\x00\x00\x00\x00\x00\x01\x11\x70"s},
    };
    const std::vector<std::pair<ws_opcode, unsigned char>> opcodes = {
        {ws_opcode::continuation, 0x80}, {ws_opcode::text, 0x81}, {ws_opcode::binary, 0x82},
        {ws_opcode::close, 0x88},        {ws_opcode::ping, 0x89}, {ws_opcode::pong, 0x8a},
    };
    const std::array<unsigned char, 4> mask = {0xa1, 0x00, 0x5c, 0xff};
    for (auto& [n, length_bytes] : sizes) {
        const auto payload = bytes_of(n, static_cast<unsigned>(n));
        for (auto [op, first] : opcodes) {
            INFO("size " << n << " opcode " << static_cast<int>(op));
            std::string out = "prefix";
            append_ws_frame(out, op, payload, mask);
            REQUIRE(out.rfind("prefix", 0) == 0);
            const std::string_view f = std::string_view(out).substr(6);
            const std::size_t header = 1 + length_bytes.size() + 4;
            REQUIRE(f.size() == header + n);
            CHECK(static_cast<unsigned char>(f[0]) == first);  // FIN, no RSV, the opcode
            CHECK(f.substr(1, length_bytes.size()) == length_bytes);
            CHECK(f.substr(1 + length_bytes.size(), 4) == std::string_view(reinterpret_cast<const char*>(mask.data()), 4));
            // unmasking gives the payload back
            std::string unmasked(f.substr(header));
            for (std::size_t i = 0; i < unmasked.size(); ++i)
                unmasked[i] = static_cast<char>(unmasked[i] ^ mask[i % 4]);
            CHECK(unmasked == payload);
            // and it was masked: the bytes under non-zero mask bytes changed
            bool changed_where_masked = true;
            for (std::size_t i = 0; i < n; ++i)
                if ((mask[i % 4] != 0) == (f[header + i] == payload[i])) changed_where_masked = false;
            CHECK(changed_where_masked);
        }
    }
}

TEST_CASE("ws frames out: a zero mask leaves the payload as it is, and frames append one after another",
          "[ws_frames]") {
    std::string out;
    append_ws_frame(out, ws_opcode::text, "Hello", {0, 0, 0, 0});
    append_ws_frame(out, ws_opcode::pong, "", {1, 2, 3, 4});
    CHECK(out == "\x81\x85\x00\x00\x00\x00Hello\x8a\x80\x01\x02\x03\x04"s);

    // RFC 6455 §5.7: a masked "Hello" with the key 37 fa 21 3d
    out.clear();
    append_ws_frame(out, ws_opcode::text, "Hello", {0x37, 0xfa, 0x21, 0x3d});
    CHECK(out == "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58");
}

TEST_CASE("ws frames out: what the client writes reads back once unmasked", "[ws_frames]") {
    // the reader refuses masked frames, so strip the mask as a server would
    auto unmask = [](std::string_view f) {
        std::size_t at = 2;
        const unsigned len7 = static_cast<unsigned char>(f[1]) & 0x7f;
        at += len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
        std::string s(f.substr(0, at));
        s[1] = static_cast<char>(s[1] & 0x7f);
        const std::string_view key = f.substr(at, 4);
        for (std::size_t i = at + 4; i < f.size(); ++i) s += static_cast<char>(f[i] ^ key[(i - at - 4) % 4]);
        return s;
    };
    for (std::size_t n : {0u, 1u, 125u, 126u, 65535u, 65536u, 70000u}) {
        INFO(n);
        const auto t = ascii_of(n);
        const auto b = bytes_of(n, 3);
        std::string wire;
        std::string f;
        append_ws_frame(f, ws_opcode::text, t, {9, 8, 7, 6});
        wire += unmask(f);
        f.clear();
        append_ws_frame(f, ws_opcode::binary, b, {0xff, 0xfe, 0xfd, 0xfc});
        wire += unmask(f);
        CHECK(read_whole(wire) == events{"text:" + t, "binary:" + b, "left:0"});
    }
    std::string f;
    append_ws_frame(f, ws_opcode::close, ws_close_payload(1001, "going away"), {1, 2, 3, 4});
    CHECK(read_whole(unmask(f)) == events{"close:1001:going away", "left:0"});
}

TEST_CASE("ws frames out: the close payload is the code big-endian, then the reason", "[ws_frames]") {
    CHECK(ws_close_payload(1000) == "\x03\xe8");
    CHECK(ws_close_payload(1000, "bye") == "\x03\xe8" "bye");
    CHECK(ws_close_payload(ws_close_protocol_error) == "\x03\xea");
    CHECK(ws_close_payload(ws_close_invalid_data, "bad utf-8") == "\x03\xef" "bad utf-8");
    CHECK(ws_close_payload(ws_close_too_big) == "\x03\xf1");
    CHECK(ws_close_payload(4999, "\xc3\xa9") == "\x13\x87\xc3\xa9");
    CHECK(ws_close_payload(0) == "\x00\x00"s);
    CHECK(ws_close_payload(0xffff) == "\xff\xff");
    CHECK(ws_close_normal == 1000);
    CHECK(ws_close_protocol_error == 1002);
    CHECK(ws_close_invalid_data == 1007);
    CHECK(ws_close_too_big == 1009);
}

// ======================================================================
// UTF-8

TEST_CASE("utf-8: the oracle agrees with the hand-written verdicts", "[ws_frames][utf8]") {
    for (auto& c : utf8_cases()) {
        INFO(base64_encode(c.bytes));
        CHECK(oracle_utf8(c.bytes) == c.valid);
    }
}

TEST_CASE("utf-8: known sequences at every offset inside ASCII, for the 8-byte scan and the tail",
          "[ws_frames][utf8]") {
    CHECK(is_valid_utf8(""));
    CHECK(is_valid_utf8("plain ascii"));
    CHECK(is_valid_utf8(std::string(1000, 'x')));
    for (auto& c : utf8_cases()) {
        for (std::size_t before = 0; before <= 17; ++before) {
            for (std::size_t after : {0u, 1u, 3u, 7u, 8u, 9u, 17u}) {
                const auto s = std::string(before, 'a') + c.bytes + std::string(after, 'z');
                INFO(base64_encode(c.bytes) << " after " << before << " bytes, before " << after);
                CHECK(is_valid_utf8(s) == c.valid);
            }
        }
    }
    // two sequences in one string: with ASCII between them it is valid only
    // if both are; joined directly, a cut one may be completed by the next
    std::size_t mismatches = 0;
    for (auto& a : utf8_cases())
        for (auto& b : utf8_cases())
            for (std::size_t gap : {0u, 5u, 9u}) {
                const auto s = a.bytes + std::string(gap, '-') + b.bytes;
                const bool expected = gap > 0 ? a.valid && b.valid : oracle_utf8(s);
                if (is_valid_utf8(s) != expected) ++mismatches;
            }
    CHECK(mismatches == 0);
}

TEST_CASE("utf-8: a character cut by the end of the view is invalid though the bytes after it would complete it",
          "[ws_frames][utf8]") {
    // the view ends inside the character; the memory after it holds the rest
    for (std::string_view whole : {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf"}) {
        for (std::size_t pad : {0u, 5u, 8u, 13u}) {
            const std::string buf = std::string(pad, 'p') + std::string(whole) + "tail";
            for (std::size_t keep = 1; keep < whole.size(); ++keep) {
                INFO(base64_encode(whole) << " cut to " << keep << " after " << pad);
                CHECK_FALSE(is_valid_utf8(std::string_view(buf).substr(0, pad + keep)));
            }
            CHECK(is_valid_utf8(std::string_view(buf).substr(0, pad + whole.size())));
        }
    }
}

TEST_CASE("utf-8: every 1- and 2-byte string, at every offset 0 to 17, against the oracle", "[ws_frames][utf8]") {
    std::size_t mismatches = 0;
    std::string first_mismatch;
    for (unsigned a = 0; a < 256; ++a) {
        for (unsigned b = 0; b < 257; ++b) {  // 256: the 1-byte string
            std::string seq(1, static_cast<char>(a));
            if (b < 256) seq += static_cast<char>(b);
            const bool expected = oracle_utf8(seq);
            for (std::size_t off = 0; off <= 17; ++off) {
                const auto s = std::string(off, 'a') + seq + std::string(off % 3 == 0 ? 0 : 8, 'b');
                if (is_valid_utf8(s) != expected) {
                    if (mismatches++ == 0) first_mismatch = base64_encode(s);
                }
            }
        }
    }
    INFO("first mismatch (base64): " << first_mismatch);
    CHECK(mismatches == 0);
}

TEST_CASE("utf-8: every 3-byte string with a lead E0 to EF, and every 3-byte string, against the oracle",
          "[ws_frames][utf8]") {
    std::size_t mismatches = 0, valid = 0;
    std::string first_mismatch;
    std::string s = "12345678x..";  // the 3 bytes at offset 8: the tail, after one 8-byte step
    for (unsigned a = 0; a < 256; ++a) {
        for (unsigned b = 0; b < 256; ++b) {
            for (unsigned c = 0; c < 256; ++c) {
                s[8] = static_cast<char>(a);
                s[9] = static_cast<char>(b);
                s[10] = static_cast<char>(c);
                const std::string_view seq = std::string_view(s).substr(8);
                const bool expected = oracle_utf8(seq);
                valid += (a >= 0xe0 && a <= 0xef && expected);
                if (is_valid_utf8(s) != expected || is_valid_utf8(seq) != expected) {
                    if (mismatches++ == 0) first_mismatch = base64_encode(seq);
                }
            }
        }
    }
    INFO("first mismatch (base64): " << first_mismatch);
    CHECK(mismatches == 0);
    // the 3-byte code points U+0800..U+FFFF less the 2048 surrogates
    CHECK(valid == 0x10000 - 0x800 - 0x800);
}

TEST_CASE("utf-8: 4-byte strings (every lead and second byte, boundary values after) against the oracle",
          "[ws_frames][utf8]") {
    const unsigned char tails[] = {0x00, 0x41, 0x7f, 0x80, 0x81, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xf0, 0xff};
    std::size_t mismatches = 0;
    std::string first_mismatch;
    std::string s = "0123456789abcdef";  // the 4 bytes at offset 6: they straddle the 8-byte step
    for (unsigned a = 0x80; a < 256; ++a)
        for (unsigned b = 0; b < 256; ++b)
            for (unsigned char c : tails)
                for (unsigned char d : tails) {
                    s[6] = static_cast<char>(a);
                    s[7] = static_cast<char>(b);
                    s[8] = static_cast<char>(c);
                    s[9] = static_cast<char>(d);
                    const std::string_view seq = std::string_view(s).substr(6, 4);
                    const bool expected = oracle_utf8(seq);
                    if (is_valid_utf8(s) != expected || is_valid_utf8(seq) != expected) {
                        if (mismatches++ == 0) first_mismatch = base64_encode(seq);
                    }
                }
    INFO("first mismatch (base64): " << first_mismatch);
    CHECK(mismatches == 0);
}

TEST_CASE("utf-8: random strings of mostly valid pieces against the oracle", "[ws_frames][utf8]") {
    std::mt19937 rng(2024);
    const std::vector<std::string> pieces = {
        "a", "0123456789", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf", "\xed\x9f\xbf",
        "\x80", "\xc0", "\xed\xa0", "\xf4\x90", "\xff", "\xe0\x9f", "\xf0\x8f", "\xc2", "\xe1\x80",
    };
    std::size_t mismatches = 0, valid = 0;
    std::string first_mismatch;
    for (int round = 0; round < 100000; ++round) {
        std::string s;
        const auto n = rng() % 12;
        for (unsigned k = 0; k < n; ++k) {
            if (rng() % 8 == 0) s += static_cast<char>(rng() & 0xff);
            else s += pieces[rng() % (rng() % 3 == 0 ? pieces.size() : 7)];
        }
        const bool expected = oracle_utf8(s);
        valid += expected;
        if (is_valid_utf8(s) != expected && mismatches++ == 0) first_mismatch = base64_encode(s);
    }
    INFO("first mismatch (base64): " << first_mismatch);
    CHECK(mismatches == 0);
    CHECK(valid > 10000);  // both verdicts were tried often
    CHECK(valid < 90000);
}

// ======================================================================
// frames in

TEST_CASE("ws reader: a text message, a binary one, and empty ones", "[ws_frames][reader]") {
    CHECK(read_whole(text("Hello")) == events{"text:Hello", "left:0"});
    CHECK(read_whole(text("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80")) ==
          events{"text:caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "left:0"});
    // binary: any bytes, no UTF-8 check
    const std::string raw = "\xff\xfe\xc0\x80\xed\xa0\x80\x00\x01"s;
    CHECK(read_whole(binary(raw)) == events{"binary:" + raw, "left:0"});
    CHECK(read_whole(text("")) == events{"text:", "left:0"});
    CHECK(read_whole(binary("")) == events{"binary:", "left:0"});
    CHECK(read_whole(text("", more()) + cont("", more()) + cont("")) == events{"text:", "left:0"});

    ws_reader r;
    std::size_t used = 0;
    const auto b = binary("\x01\x02");
    REQUIRE(r.read(b.data(), b.size(), used) == ws_reader::event::message);
    CHECK(used == b.size());
    CHECK(r.binary());
    CHECK(r.take_message() == "\x01\x02");
    const auto t = text("x");
    REQUIRE(r.read(t.data(), t.size(), used) == ws_reader::event::message);
    CHECK_FALSE(r.binary());
    CHECK(r.take_message() == "x");
    CHECK(r.read(t.data(), 0, used) == ws_reader::event::need_more);
    CHECK(used == 0);
}

TEST_CASE("ws reader: a fragmented message with pings and pongs between its fragments", "[ws_frames][reader]") {
    const auto wire = text("Hel", more()) + ping("p1") + pong("p2") + cont("lo ", more()) + ping("") +
                      cont("", more()) + cont("world");
    CHECK(read_whole(wire) == events{"ping:p1", "pong:p2", "ping:", "text:Hello world", "left:0"});

    // binary stays binary across the control frames
    const auto bin = binary("\xff", more()) + ping("x") + cont("\xfe");
    CHECK(read_whole(bin) == events{"ping:x", "binary:\xff\xfe", "left:0"});

    // a close between fragments is reported as it comes
    CHECK(read_whole(text("a", more()) + close_frame(ws_close_payload(1001))) == events{"close:1001:", "left:0"});

    // control payloads up to the 125-byte limit
    const auto big = ascii_of(125);
    CHECK(read_whole(ping(big) + pong(big)) == events{"ping:" + big, "pong:" + big, "left:0"});
}

TEST_CASE("ws reader: many messages in one buffer come one at a time, each with its bytes used",
          "[ws_frames][reader]") {
    std::string wire;
    std::vector<std::size_t> sizes;
    std::vector<std::string> expected;
    for (std::size_t i = 0; i < 60; ++i) {
        const std::size_t n = i % 5 == 4 ? 126 + i * 37 : i % 7 == 6 ? 65536 + i : i;
        std::string f;
        if (i % 3 == 0) {
            f = binary(bytes_of(n, static_cast<unsigned>(i)));
            expected.push_back("binary:" + bytes_of(n, static_cast<unsigned>(i)));
        } else if (i % 11 == 10) {
            f = ping(ascii_of(i));
            expected.push_back("ping:" + ascii_of(i));
        } else {
            f = text(ascii_of(n));
            expected.push_back("text:" + ascii_of(n));
        }
        sizes.push_back(f.size());
        wire += f;
    }
    ws_reader r;
    std::size_t at = 0;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        INFO("frame " << i);
        std::size_t used = 0;
        const auto e = r.read(wire.data() + at, wire.size() - at, used);
        CHECK(used == sizes[i]);
        CHECK(describe(e, r) == expected[i]);
        at += used;
    }
    std::size_t used = 99;
    CHECK(r.read(wire.data() + at, wire.size() - at, used) == ws_reader::event::need_more);
    CHECK(used == 0);
    CHECK(at == wire.size());
}

TEST_CASE("ws reader: the 16-bit and 64-bit length forms", "[ws_frames][reader]") {
    for (std::size_t n : {125u, 126u, 127u, 1000u, 65535u}) {
        INFO(n);
        const auto t = ascii_of(n);
        CHECK(read_whole(text(t)) == events{"text:" + t, "left:0"});
    }
    for (std::size_t n : {65536u, 70000u, 200000u}) {
        INFO(n);
        const auto b = bytes_of(n);
        CHECK(read_whole(binary(b)) == events{"binary:" + b, "left:0"});
    }
    // the shortest forms at their lower edges are taken
    frame_opts o16;
    o16.length_form = 126;
    CHECK(read_whole(text(ascii_of(126), o16)) == events{"text:" + ascii_of(126), "left:0"});
    frame_opts o64;
    o64.length_form = 127;
    CHECK(read_whole(text(ascii_of(65536), o64)) == events{"text:" + ascii_of(65536), "left:0"});
}

TEST_CASE("ws reader: a cut header is not used and is read again with the bytes that follow",
          "[ws_frames][reader]") {
    ws_reader r;
    std::size_t used = 99;
    const auto f16 = text(ascii_of(300));
    const auto f64 = binary(bytes_of(70000));
    // every cut inside the 2-, 4- and 10-byte headers
    for (std::size_t cut = 0; cut < 4; ++cut) {
        INFO("16-bit header cut at " << cut);
        CHECK(r.read(f16.data(), cut, used) == ws_reader::event::need_more);
        CHECK(used == 0);
    }
    for (std::size_t cut = 0; cut < 10; ++cut) {
        INFO("64-bit header cut at " << cut);
        CHECK(r.read(f64.data(), cut, used) == ws_reader::event::need_more);
        CHECK(used == 0);
    }
    // a whole header and part of the payload: all used
    CHECK(r.read(f16.data(), 100, used) == ws_reader::event::need_more);
    CHECK(used == 100);
    CHECK(r.read(f16.data() + 100, f16.size() - 100 - 1, used) == ws_reader::event::need_more);
    CHECK(used == f16.size() - 100 - 1);
    CHECK(r.read(f16.data() + f16.size() - 1, 1, used) == ws_reader::event::message);
    CHECK(used == 1);
    CHECK(r.take_message() == ascii_of(300));
    // a message, then the first byte of the next: the message, then need_more with that byte unused
    const auto two = text("ab") + text("cd");
    CHECK(r.read(two.data(), 5, used) == ws_reader::event::message);
    CHECK(used == 4);
    CHECK(r.take_message() == "ab");
    CHECK(r.read(two.data() + 4, 1, used) == ws_reader::event::need_more);
    CHECK(used == 0);
}

TEST_CASE("ws reader: the same events whatever the cuts in the input", "[ws_frames][reader]") {
    const auto wire = text("Hel", more()) + ping("p1") + cont("lo \xe2\x82", more()) + pong("") +
                      cont("\xac!") + binary(bytes_of(300, 5)) + text("") + ping(ascii_of(125)) +
                      text(ascii_of(200), more()) + cont("z") + close_frame(ws_close_payload(1000, "done \xc3\xa9"));
    const auto expected = read_whole(wire);
    REQUIRE(expected == events{"ping:p1", "pong:", "text:Hello \xe2\x82\xac!", "binary:" + bytes_of(300, 5), "text:",
                               "ping:" + ascii_of(125), "text:" + ascii_of(200) + "z", "close:1000:done \xc3\xa9",
                               "left:0"});
    // pieces of every size, one byte at a time first
    for (std::size_t piece = 1; piece <= wire.size(); ++piece) {
        INFO("pieces of " << piece);
        CHECK(read_in_pieces(wire, piece) == expected);
    }
    // one cut at every place
    for (std::size_t cut = 0; cut <= wire.size(); ++cut) {
        INFO("cut at " << cut);
        ws_reader r;
        CHECK(read_cut(r, wire, {cut}) == expected);
    }
    // two cuts at every pair of places in the first 60 bytes (several headers)
    std::size_t mismatches = 0;
    for (std::size_t a = 0; a <= 60; ++a)
        for (std::size_t b = a; b <= 60; ++b) {
            ws_reader r;
            if (read_cut(r, wire, {a, b}) != expected) ++mismatches;
        }
    CHECK(mismatches == 0);
}

TEST_CASE("ws reader: a 64-bit-length message read a byte at a time and cut around its header",
          "[ws_frames][reader]") {
    const auto payload = ascii_of(70000);
    const auto wire = ping("a") + text(payload) + pong("b");
    const events expected{"ping:a", "text:" + payload, "pong:b", "left:0"};
    CHECK(read_whole(wire) == expected);
    CHECK(read_in_pieces(wire, 1) == expected);
    CHECK(read_in_pieces(wire, 7) == expected);
    CHECK(read_in_pieces(wire, 4096) == expected);
    for (std::size_t cut = 0; cut < 20; ++cut) {
        INFO(cut);
        ws_reader r;
        CHECK(read_cut(r, wire, {cut}) == expected);
        ws_reader r2;
        CHECK(read_cut(r2, wire, {wire.size() - cut}) == expected);
    }
}

TEST_CASE("ws reader: close frames with and without a code", "[ws_frames][reader]") {
    ws_reader r;
    std::size_t used = 0;
    const auto c = close_frame(ws_close_payload(1001, "going away"));
    REQUIRE(r.read(c.data(), c.size(), used) == ws_reader::event::close);
    CHECK(used == c.size());
    CHECK(r.close_code() == 1001);
    CHECK(r.close_reason() == "going away");
    CHECK(r.payload() == ws_close_payload(1001, "going away"));

    const auto bare = close_frame("");
    REQUIRE(r.read(bare.data(), bare.size(), used) == ws_reader::event::close);
    CHECK(r.close_code() == 1005);
    CHECK(r.close_reason().empty());
    CHECK(r.payload().empty());

    const auto code_only = close_frame(ws_close_payload(1000));
    REQUIRE(r.read(code_only.data(), code_only.size(), used) == ws_reader::event::close);
    CHECK(r.close_code() == 1000);
    CHECK(r.close_reason().empty());

    // a reason with multi-byte characters, up to the 125-byte limit
    const auto reason = "\xc3\xa9" + ascii_of(121);
    CHECK(read_whole(close_frame(ws_close_payload(4000, reason))) == events{"close:4000:" + reason, "left:0"});
}

TEST_CASE("ws reader: the close codes a server may send", "[ws_frames][reader]") {
    for (std::uint16_t code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999,
                               4000, 4999}) {
        INFO(code);
        CHECK(read_whole(close_frame(ws_close_payload(code, "r"))) ==
              events{"close:" + std::to_string(code) + ":r", "left:0"});
    }
    for (std::uint16_t code : {0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535}) {
        INFO(code);
        CHECK(failure_of(close_frame(ws_close_payload(code))) == ws_close_protocol_error);
    }
}

TEST_CASE("ws reader: each frame a server must not send fails it with 1002", "[ws_frames][reader]") {
    frame_opts masked;
    masked.masked = true;
    CHECK(failure_of(text("Hello", masked)) == 1002);
    CHECK(failure_of(text("Hello")) == 0);  // the same frame unmasked passes
    CHECK(failure_of(frame(9, "x", masked)) == 1002);
    CHECK(failure_of(text("ok") + binary("", masked)) == 1002);

    for (unsigned rsv : {0x40u, 0x20u, 0x10u, 0x70u}) {
        INFO("rsv " << rsv);
        frame_opts o;
        o.rsv = rsv;
        CHECK(failure_of(text("x", o)) == 1002);
        CHECK(failure_of(frame(9, "", o)) == 1002);
        CHECK(failure_of(text("a", more()) + cont("b", o)) == 1002);
    }

    for (unsigned op : {3u, 4u, 5u, 6u, 7u, 11u, 12u, 13u, 14u, 15u}) {
        INFO("opcode " << op);
        CHECK(failure_of(frame(op, "")) == 1002);
        CHECK(failure_of(frame(op, "data")) == 1002);
        CHECK(failure_of(text("a", more()) + frame(op, "")) == 1002);
    }

    // fragmented control frames
    for (unsigned op : {8u, 9u, 10u}) {
        INFO("control opcode " << op);
        CHECK(failure_of(frame(op, "", more())) == 1002);
        // over 125 bytes, in either long form
        frame_opts o16;
        o16.length_form = 126;
        frame_opts o64;
        o64.length_form = 127;
        CHECK(failure_of(frame(op, ascii_of(126))) == 1002);
        CHECK(failure_of(frame(op, ascii_of(10), o16)) == 1002);
        CHECK(failure_of(frame(op, ascii_of(10), o64)) == 1002);
    }

    // continuation with no message
    CHECK(failure_of(cont("x")) == 1002);
    CHECK(failure_of(cont("x", more())) == 1002);
    CHECK(failure_of(text("whole") + cont("x")) == 1002);
    CHECK(failure_of(text("a", more()) + cont("b") + cont("c")) == 1002);

    // a new data frame inside a fragmented message
    CHECK(failure_of(text("a", more()) + text("b")) == 1002);
    CHECK(failure_of(text("a", more()) + binary("b")) == 1002);
    CHECK(failure_of(binary("a", more()) + ping("") + text("b", more())) == 1002);

    // lengths not in their shortest form
    for (std::uint64_t n : {0u, 1u, 125u}) {
        INFO("16-bit form of " << n);
        frame_opts o;
        o.length_form = 126;
        CHECK(failure_of(text(ascii_of(n), o)) == 1002);
    }
    for (std::uint64_t n : {0u, 125u, 126u, 65535u}) {
        INFO("64-bit form of " << n);
        frame_opts o;
        o.length_form = 127;
        CHECK(failure_of(binary(bytes_of(n), o)) == 1002);
    }
    // a 64-bit length with its most significant bit set
    for (std::uint64_t n : {0x8000000000000000ull, 0xffffffffffffffffull, 0x8000000000010000ull}) {
        INFO("64-bit length " << n);
        frame_opts o;
        o.claimed = n;
        CHECK(failure_of(binary("", o)) == 1002);
    }
}

TEST_CASE("ws reader: the failure is known from the header alone, before the payload", "[ws_frames][reader]") {
    ws_reader r(1000);
    std::size_t used = 0;
    frame_opts o;
    o.claimed = 1u << 30;
    const auto header = binary("", o);  // only the 10-byte header of a 1 GiB frame
    CHECK(r.read(header.data(), header.size(), used) == ws_reader::event::failed);
    CHECK(r.failure_code() == ws_close_too_big);

    ws_reader big;  // the default limit, 64 MiB
    o.claimed = 1ull << 40;
    const auto huge = text("", o);
    CHECK(big.read(huge.data(), huge.size(), used) == ws_reader::event::failed);
    CHECK(big.failure_code() == ws_close_too_big);
}

TEST_CASE("ws reader: the message size limit, whole and across fragments", "[ws_frames][reader]") {
    const std::size_t limit = 10;
    CHECK(read_whole(text(ascii_of(10)), limit) == events{"text:" + ascii_of(10), "left:0"});
    CHECK(failure_of(text(ascii_of(11)), limit) == ws_close_too_big);
    CHECK(failure_of(binary(bytes_of(11)), limit) == ws_close_too_big);
    CHECK(read_whole(text("abcde", more()) + cont("fghij"), limit) == events{"text:abcdefghij", "left:0"});
    CHECK(failure_of(text("abcdef", more()) + cont("ghijk"), limit) == ws_close_too_big);
    CHECK(failure_of(text("abc", more()) + cont("def", more()) + cont("ghi", more()) + cont("jk"), limit) ==
          ws_close_too_big);
    CHECK(failure_of(text(ascii_of(10), more()) + cont("x"), limit) == ws_close_too_big);
    CHECK(read_whole(text(ascii_of(10), more()) + cont(""), limit) == events{"text:" + ascii_of(10), "left:0"});
    // the limit is per message: ten 10-byte messages in a row are fine
    std::string ten;
    for (int i = 0; i < 10; ++i) ten += text(ascii_of(10));
    CHECK(read_whole(ten, limit).size() == 11);
    CHECK(failure_of(ten, limit) == 0);
    // control frames are not messages: a 100-byte ping passes, and it does not count toward the message
    CHECK(read_whole(text("abcde", more()) + ping(ascii_of(100)) + cont("fghij"), limit) ==
          events{"ping:" + ascii_of(100), "text:abcdefghij", "left:0"});
    // a limit of 0: only empty messages
    CHECK(read_whole(text("") + binary(""), 0) == events{"text:", "binary:", "left:0"});
    CHECK(failure_of(text("x"), 0) == ws_close_too_big);
}

TEST_CASE("ws reader: text must be valid UTF-8 as a whole message, binary need not", "[ws_frames][reader]") {
    for (auto& c : utf8_cases()) {
        INFO(base64_encode(c.bytes));
        const auto message = "ab" + c.bytes + "cd";
        if (c.valid) {
            CHECK(read_whole(text(message)) == events{"text:" + message, "left:0"});
        } else {
            CHECK(failure_of(text(message)) == ws_close_invalid_data);
        }
        CHECK(read_whole(binary(message)) == events{"binary:" + message, "left:0"});
    }
    // a character split across fragments is whole in the message
    CHECK(read_whole(text("\xe2\x82", more()) + cont("\xac")) == events{"text:\xe2\x82\xac", "left:0"});
    CHECK(read_whole(text("\xf0", more()) + ping("") + cont("\x9f", more()) + cont("\x98\x80")) ==
          events{"ping:", "text:\xf0\x9f\x98\x80", "left:0"});
    CHECK(read_whole(text("", more()) + cont("\xc3", more()) + cont("\xa9")) == events{"text:\xc3\xa9", "left:0"});
    // invalid only once joined, or cut short by the end of the message
    CHECK(failure_of(text("a\xc3", more()) + cont("\x28")) == ws_close_invalid_data);
    CHECK(failure_of(text("\xed", more()) + cont("\xa0\x80")) == ws_close_invalid_data);
    CHECK(failure_of(text("ok\xe2\x82", more()) + cont("")) == ws_close_invalid_data);
    CHECK(failure_of(text("\xc3\xa9", more()) + cont("\xa9")) == ws_close_invalid_data);
    // every place a 4-byte character may be cut into fragments
    const std::string emoji = "x\xf0\x9f\x98\x80y";
    for (std::size_t a = 0; a <= emoji.size(); ++a)
        for (std::size_t b = a; b <= emoji.size(); ++b) {
            INFO(a << " " << b);
            CHECK(read_whole(text(emoji.substr(0, a), more()) + cont(emoji.substr(a, b - a), more()) +
                             cont(emoji.substr(b))) == events{"text:" + emoji, "left:0"});
        }
}

TEST_CASE("ws reader: bad close frames", "[ws_frames][reader]") {
    CHECK(failure_of(close_frame("\x03")) == ws_close_protocol_error);
    CHECK(failure_of(close_frame(ws_close_payload(1000, "\xff"))) == ws_close_invalid_data);
    CHECK(failure_of(close_frame(ws_close_payload(1000, "ab\xc0\x80"))) == ws_close_invalid_data);
    CHECK(failure_of(close_frame(ws_close_payload(1000, "\xed\xa0\x80"))) == ws_close_invalid_data);
    CHECK(failure_of(close_frame(ws_close_payload(1000, "\xe2\x82"))) == ws_close_invalid_data);
}

TEST_CASE("ws reader: once failed it stays failed, with a reason", "[ws_frames][reader]") {
    struct bad {
        std::string wire;
        std::uint16_t code;
    };
    frame_opts masked;
    masked.masked = true;
    const std::vector<bad> bads = {
        {text("x", masked), 1002},
        {cont("x"), 1002},
        {frame(3, ""), 1002},
        {text("\xff"), 1007},
        {close_frame("\x03"), 1002},
        {close_frame(ws_close_payload(1005)), 1002},
    };
    for (auto& b : bads) {
        INFO(base64_encode(b.wire));
        ws_reader r(64);
        std::size_t used = 0;
        REQUIRE(r.read(b.wire.data(), b.wire.size(), used) == ws_reader::event::failed);
        REQUIRE(r.failure() != nullptr);
        CHECK(!std::string_view(r.failure()).empty());
        CHECK(r.failure_code() == b.code);
        const std::string failure = r.failure();
        // valid frames after it are not read
        const auto good = text("fine") + ping("p");
        for (int again = 0; again < 3; ++again) {
            used = 77;
            CHECK(r.read(good.data(), good.size(), used) == ws_reader::event::failed);
            CHECK(used == 0);
            CHECK(r.read(good.data(), 0, used) == ws_reader::event::failed);
            CHECK(r.failure() == failure);
            CHECK(r.failure_code() == b.code);
        }
    }
    // the failures differ in their text
    ws_reader a, b;
    std::size_t used = 0;
    const auto fa = text("x", masked);
    const auto fb = cont("x");
    a.read(fa.data(), fa.size(), used);
    b.read(fb.data(), fb.size(), used);
    REQUIRE(a.failure());
    REQUIRE(b.failure());
    CHECK(std::string_view(a.failure()) != std::string_view(b.failure()));
}

TEST_CASE("ws reader: a failure after good frames comes after their events", "[ws_frames][reader]") {
    const auto wire = text("one") + ping("p") + text("two", more()) + text("bad") + text("never");
    // whole and cut anywhere: the same events before the failure, none after
    for (std::size_t piece = 1; piece <= wire.size(); ++piece) {
        INFO(piece);
        auto ev = read_in_pieces(wire, piece);
        REQUIRE(ev.size() == 4);
        CHECK(ev[0] == "text:one");
        CHECK(ev[1] == "ping:p");
        CHECK(ev[2] == "failed:1002");
    }
}
