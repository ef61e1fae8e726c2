// Fuzz target: the sans-I/O reader of HTTP/1.1 answers
// (protocol/http_answer.hpp).
//
// Input: byte 0 chooses how the rest is cut into pieces, byte 1 the limits
// (bit 0: a body limit of (byte & 0x7e) * 2 bytes instead of none; bit 7: a
// 200-byte head limit instead of 64 KiB); the rest is the server's bytes. The
// reader is run on them whole and in pieces (the bytes it leaves unused given
// again with the next piece, as the transport does), then finish(): both runs
// must give the same events, body, status and verdict, and every event must
// keep the reader's promises. A reset() reader must then read them as a new
// one does.
#include "fuzz_common.hpp"

#include <wrenn/protocol/http_answer.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

using namespace wrenn::protocol;

namespace {

using event = answer_reader::event;

struct result {
    // "h<status>", "b" (pieces in a row count once: their number depends on
    // the cuts), "d", "f"; after the last byte what finish() said: "e:d", "e:f"
    std::vector<std::string> events;
    std::string body;
    std::size_t left = 0;  // bytes after a done answer, never taken
    bool failed = false;
    std::string failure;
    unsigned status = 0;
    bool keep_alive = false;
    std::optional<std::uint64_t> content_length;
};

// What may be said of a reader whose head is read and that has not failed.
void check_head(const answer_reader& r) {
    const unsigned s = r.status();
    fuzz::check(s == 101 || (s >= 200 && s <= 999), "a head with an interim or impossible status");
    if (r.content_length()) fuzz::check(r.body_bytes() <= *r.content_length(), "more body than Content-Length");
}

// A failed reader stays failed: no byte taken, the same reason.
void check_stays_failed(answer_reader& r, std::string_view rest) {
    const std::string why = r.failure();
    fuzz::check(!why.empty(), "failed without a failure()");
    const std::string good = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    for (std::string_view again : {rest, std::string_view(good), std::string_view()}) {
        std::size_t used = 99;
        fuzz::check(r.read(again.data(), again.size(), used) == event::failed, "a read after failed is not failed");
        fuzz::check(used == 0, "bytes taken after failed");
        fuzz::check(r.body().empty(), "a body piece after failed");
    }
    fuzz::check(r.finish() == event::failed, "finish() after failed is not failed");
    fuzz::check(r.failure() == why, "the failure changed");
    fuzz::check(!r.is_done(), "failed and done");
}

// A done reader stays done: no byte taken, the same body count.
void check_stays_done(answer_reader& r, std::string_view rest) {
    const auto seen = r.body_bytes();
    for (std::string_view again : {rest, std::string_view("HTTP/1.1 200 OK\r\n\r\n"), std::string_view()}) {
        std::size_t used = 99;
        fuzz::check(r.read(again.data(), again.size(), used) == event::done, "a read after done is not done");
        fuzz::check(used == 0, "bytes taken after done");
        fuzz::check(r.body().empty(), "a body piece after done");
    }
    fuzz::check(r.finish() == event::done, "finish() after done is not done");
    fuzz::check(r.body_bytes() == seen && r.failure().empty(), "done changed");
    if (r.content_length())
        fuzz::check(r.body_bytes() == *r.content_length(), "a done answer without its Content-Length bytes");
    const unsigned s = r.status();
    if (s == 101 || s == 204 || s == 304) fuzz::check(r.body_bytes() == 0, "a body in a 101, 204 or 304");
}

// Gives `wire` to `r` in pieces of sizes from `piece_seed` (0: whole), as
// the transport does, then finish().
result run(answer_reader& r, std::string_view wire, const answer_limits& limits, unsigned piece_seed) {
    result out;
    std::string buf;
    std::size_t pos = 0;
    std::uint32_t lcg = piece_seed;
    std::size_t calls = 0;
    for (;;) {
        fuzz::check(++calls <= 4 * wire.size() + 16, "no progress");
        std::size_t used = 12345;
        const auto e = r.read(buf.data(), buf.size(), used);
        fuzz::check(used <= buf.size(), "used more bytes than given");
        if (pos > 0) fuzz::check(r.started(), "bytes given but not started()");
        if (e == event::body) {
            const auto b = r.body();
            fuzz::check(!b.empty(), "an empty body piece");
            fuzz::check(b.data() >= buf.data() && b.data() + b.size() <= buf.data() + used,
                        "a body piece outside the bytes taken");
            out.body.append(b);
            fuzz::check(r.body_bytes() == out.body.size(), "body_bytes() is not the length of the pieces");
            fuzz::check(r.body_bytes() <= limits.body, "a body over the limit");
            fuzz::check(r.head_done(), "a body before the head");
            if (r.content_length())
                fuzz::check(r.is_done() == (r.body_bytes() == *r.content_length()), "a length body done at the wrong byte");
            check_head(r);
            if (out.events.empty() || out.events.back() != "b") out.events.push_back("b");
        } else {
            fuzz::check(r.body().empty(), "body() set after an event that is not body");
        }
        if (e == event::head || e == event::body) fuzz::check(used >= 1, "an event with no byte taken");
        buf.erase(0, used);
        if (e == event::head) {
            fuzz::check(r.head_done(), "a head event but not head_done()");
            fuzz::check(r.body_bytes() == 0, "body bytes before the head");
            check_head(r);
            out.events.push_back("h" + std::to_string(r.status()));
            continue;
        }
        if (e == event::body) continue;
        if (e == event::done) {
            fuzz::check(r.is_done() && r.head_done(), "a done event but not is_done()");
            check_head(r);
            out.events.push_back("d");
            out.left = buf.size() + (wire.size() - pos);
            check_stays_done(r, buf);
            break;
        }
        if (e == event::failed) {
            out.events.push_back("f");
            check_stays_failed(r, buf);
            break;
        }
        fuzz::check(e == event::need_more, "an event that is none of the enum's");
        fuzz::check(buf.empty(), "need_more with bytes not taken");
        fuzz::check(!r.is_done(), "need_more but is_done()");
        if (pos == wire.size()) {
            const bool head_was_done = r.head_done();
            const auto f = r.finish();
            if (f == event::done) {
                // only a body that runs to the end of the connection ends with it
                fuzz::check(head_was_done && r.is_done(), "done at the end without a head");
                fuzz::check(!r.keep_alive() && !r.content_length(), "an answer ended by the connection kept alive");
                check_head(r);
                out.events.push_back("e:d");
                check_stays_done(r, {});
            } else {
                fuzz::check(f == event::failed, "finish() neither done nor failed");
                out.events.push_back("e:f");
                check_stays_failed(r, {});
            }
            break;
        }
        const std::size_t n = fuzz::next_piece(piece_seed, lcg, wire.size() - pos);
        buf.append(wire.substr(pos, n));
        pos += n;
    }
    out.failed = out.events.back() == "f" || out.events.back() == "e:f";
    out.failure = r.failure();
    out.status = r.status();
    out.keep_alive = r.keep_alive();
    out.content_length = r.content_length();
    return out;
}

// The events without the body pieces just before a failure: a body that runs
// to the end of the connection fails on the first read that takes it over the
// limit, so how much came before depends on the cuts.
std::vector<std::string> without_body_before_failure(std::vector<std::string> ev) {
    if (ev.size() >= 2 && (ev.back() == "f" || ev.back() == "e:f") && ev[ev.size() - 2] == "b")
        ev.erase(ev.end() - 2);
    return ev;
}

void check_same(const result& a, const result& b, const char* what) {
    fuzz::check(a.failed == b.failed, what);
    fuzz::check(a.failure == b.failure, what);
    if (!a.failed) {
        fuzz::check(a.events == b.events, what);
        fuzz::check(a.body == b.body, what);
        fuzz::check(a.left == b.left, what);
        fuzz::check(a.status == b.status && a.keep_alive == b.keep_alive && a.content_length == b.content_length,
                    what);
    } else {
        fuzz::check(without_body_before_failure(a.events) == without_body_before_failure(b.events), what);
        // the larger reads see the limit first: the whole run's body is a prefix of the other's
        const auto& shorter = a.body.size() <= b.body.size() ? a.body : b.body;
        const auto& longer = a.body.size() <= b.body.size() ? b.body : a.body;
        fuzz::check(longer.compare(0, shorter.size(), shorter) == 0, what);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const unsigned piece_seed = data[0];
    answer_limits limits;
    if (data[1] & 1) limits.body = static_cast<std::uint64_t>(data[1] & 0x7e) * 2;
    if (data[1] & 0x80) limits.head = 200;
    const std::string_view wire = fuzz::as_text(data, size).substr(2);

    answer_reader whole_reader(limits);
    const auto whole = run(whole_reader, wire, limits, 0);
    answer_reader pieces_reader(limits);
    const auto pieces = run(pieces_reader, wire, limits, piece_seed == 0 ? 1 : piece_seed);
    check_same(whole, pieces, "the answer depends on how the input was cut");
    fuzz::check(whole.body.size() <= wire.size(), "more body than input");

    // reset(): the same reader, after whatever state the input left it in, reads it as a new one
    whole_reader.reset(limits);
    fuzz::check(!whole_reader.started() && !whole_reader.head_done() && !whole_reader.is_done() &&
                    whole_reader.body_bytes() == 0 && whole_reader.failure().empty() &&
                    !whole_reader.content_length() && whole_reader.keep_alive(),
                "reset() kept state");
    const auto again = run(whole_reader, wire, limits, piece_seed);
    check_same(whole, again, "a reset() reader reads the input differently");
    whole_reader.reset();
    const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    const auto known = run(whole_reader, ok, {}, 0);
    fuzz::check(known.events == std::vector<std::string>{"h200", "b", "d"} && known.body == "ok" &&
                    known.keep_alive && known.content_length == 2u,
                "a reset() reader misreads a plain answer");
    return 0;
}
