// protocol/http_answer.hpp, the sans-I/O reader of an HTTP/1.1 answer (RFC
// 9112): the head and its fields, bodies by Content-Length, in chunks and up
// to the end of the connection, interim answers, keep-alive, the limits, every
// split of the input, and each malformed answer it must refuse.
#include <catch2/catch.hpp>

#include <wrenn/protocol/http_answer.hpp>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

using namespace wrenn::protocol;
using namespace std::string_literals;
using Catch::Matchers::Contains;

namespace {

using event = answer_reader::event;

// ---- answers as a server would send them ----

std::string head(std::string_view status_line, std::initializer_list<std::string_view> fields = {}) {
    std::string h(status_line);
    h += "\r\n";
    for (auto f : fields) {
        h += f;
        h += "\r\n";
    }
    h += "\r\n";
    return h;
}

std::string hex(std::size_t n) {
    static const char digits[] = "0123456789abcdef";
    std::string s;
    do {
        s.insert(s.begin(), digits[n % 16]);
        n /= 16;
    } while (n);
    return s;
}

std::string chunk(std::string_view data) { return hex(data.size()) + "\r\n" + std::string(data) + "\r\n"; }

std::string ascii_of(std::size_t n, char first = 'a') {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(first + i % 26);
    return s;
}

// ---- reading, the way a transport does ----

// What a reader made of some bytes, written down so that runs can be compared.
struct outcome {
    // "head:<status>", "body" (pieces in a row count once: their number
    // depends on the cuts), "done", "failed"; after the last byte, what
    // finish() said: "end:done" or "end:failed"
    std::vector<std::string> events;
    std::string body;  // the pieces, concatenated
    std::size_t left = 0;  // bytes never taken
    std::string failure;
    std::vector<std::string> problems;  // promises of the API that did not hold

    bool operator==(const outcome&) const = default;
};

std::ostream& operator<<(std::ostream& os, const outcome& o) {
    os << "{events:";
    for (auto& e : o.events) os << ' ' << e;
    os << " | body(" << o.body.size() << "): '" << o.body.substr(0, 80) << (o.body.size() > 80 ? "...'" : "'")
       << " | left: " << o.left << " | failure: '" << o.failure << "'";
    for (auto& p : o.problems) os << " | PROBLEM: " << p;
    return os << '}';
}

// Gives `wire` to `r` cut at `cuts` (ascending positions), as a transport
// does: after a head or body event the bytes not taken are given again, with
// more appended only after need_more. After the last byte, finish() (when
// `end`). Checks on the way that used <= size, that need_more took every byte,
// that each body piece is non-empty and inside the bytes it was read from,
// and that body_bytes() counts them.
outcome read_cut(answer_reader& r, std::string_view wire, const std::vector<std::size_t>& cuts, bool end = true) {
    outcome o;
    std::string buf;
    std::size_t pos = 0, next_cut = 0;
    auto problem = [&](std::string p) {
        if (o.problems.size() < 4) o.problems.push_back(std::move(p));
    };
    for (;;) {
        std::size_t used = 12345;
        const auto e = r.read(buf.data(), buf.size(), used);
        if (used > buf.size()) {
            problem("used " + std::to_string(used) + " of " + std::to_string(buf.size()) + " bytes");
            break;
        }
        if (e == event::body) {
            const auto b = r.body();
            if (b.empty()) problem("an empty body piece");
            if (b.data() < buf.data() || b.data() + b.size() > buf.data() + used)
                problem("a body piece outside the bytes taken");
            else
                o.body.append(b);
            if (r.body_bytes() != o.body.size()) problem("body_bytes() is not the length of the pieces");
            if (o.events.empty() || o.events.back() != "body") o.events.push_back("body");
        } else if (!r.body().empty()) {
            problem("body() is set after an event that is not body");
        }
        buf.erase(0, used);
        if (e == event::head) {
            if (!r.head_done()) problem("a head event but not head_done()");
            o.events.push_back("head:" + std::to_string(r.status()));
            continue;
        }
        if (e == event::body) continue;
        if (e == event::done) {
            if (!r.is_done()) problem("a done event but not is_done()");
            o.events.push_back("done");
            break;
        }
        if (e == event::failed) {
            if (r.failure().empty()) problem("failed without a failure()");
            o.events.push_back("failed");
            break;
        }
        if (!buf.empty()) problem("need_more with " + std::to_string(buf.size()) + " bytes not taken");
        if (pos == wire.size()) {
            if (end) {
                const auto f = r.finish();
                o.events.push_back(f == event::done ? "end:done" : f == event::failed ? "end:failed" : "end:?");
            }
            break;
        }
        const std::size_t to = next_cut < cuts.size() ? cuts[next_cut++] : wire.size();
        buf.append(wire.substr(pos, to - pos));
        pos = to;
    }
    o.left = buf.size() + (wire.size() - pos);
    o.failure = r.failure();
    return o;
}

outcome read_whole(std::string_view wire, answer_limits limits = {}) {
    answer_reader r(limits);
    return read_cut(r, wire, {});
}

std::vector<std::size_t> pieces_of(std::size_t size, std::size_t piece) {
    std::vector<std::size_t> cuts;
    for (std::size_t at = piece; at < size; at += piece) cuts.push_back(at);
    return cuts;
}

// The same outcome whole, a byte at a time, in pieces of every size and cut
// once at every place; `also` checks the reader after each run.
template <class F>
void same_at_every_cut(std::string_view wire, const outcome& expected, answer_limits limits, F&& also) {
    {
        answer_reader r(limits);
        CHECK(read_cut(r, wire, {}) == expected);
        also(r);
    }
    for (std::size_t piece = 1; piece < wire.size(); ++piece) {
        INFO("pieces of " << piece);
        answer_reader r(limits);
        CHECK(read_cut(r, wire, pieces_of(wire.size(), piece)) == expected);
        also(r);
    }
    for (std::size_t cut = 0; cut <= wire.size(); ++cut) {
        INFO("cut at " << cut);
        answer_reader r(limits);
        CHECK(read_cut(r, wire, {cut}) == expected);
        also(r);
    }
}

void same_at_every_cut(std::string_view wire, const outcome& expected, answer_limits limits = {}) {
    same_at_every_cut(wire, expected, limits, [](const answer_reader&) {});
}

// Two cuts at every pair of places in the first `span` bytes.
std::size_t mismatches_at_cut_pairs(std::string_view wire, const outcome& expected, std::size_t span,
                                    answer_limits limits = {}) {
    std::size_t mismatches = 0;
    span = std::min(span, wire.size());
    for (std::size_t a = 0; a <= span; ++a)
        for (std::size_t b = a; b <= span; ++b) {
            answer_reader r(limits);
            if (read_cut(r, wire, {a, b}) != expected) ++mismatches;
        }
    return mismatches;
}

outcome expect(std::vector<std::string> events, std::string body = {}, std::size_t left = 0) {
    outcome o;
    o.events = std::move(events);
    o.body = std::move(body);
    o.left = left;
    return o;
}

// The failure of `wire` (fed whole, then finish()); the same text whatever
// the cuts. "(no failure)" when it did not fail.
std::string failure_of(std::string_view wire, answer_limits limits = {}) {
    auto text = [](const answer_reader& r, const outcome& o) {
        const bool failed = !o.events.empty() && (o.events.back() == "failed" || o.events.back() == "end:failed");
        return failed ? r.failure() : "(no failure)"s;
    };
    answer_reader whole(limits);
    const auto o = read_cut(whole, wire, {});
    CHECK(o.problems.empty());
    const auto f = text(whole, o);
    std::size_t differ = 0;
    for (std::size_t cut = 0; cut <= wire.size(); ++cut) {
        answer_reader r(limits);
        const auto oc = read_cut(r, wire, {cut});
        if (text(r, oc) != f || !oc.problems.empty()) ++differ;
    }
    answer_reader bytes(limits);
    const auto ob = read_cut(bytes, wire, pieces_of(wire.size(), 1));
    if (text(bytes, ob) != f || !ob.problems.empty()) ++differ;
    INFO("failure: " << f);
    CHECK(differ == 0);
    return f;
}

// header() as text, "<none>" when absent (Catch prints optionals as {?}).
std::string field(const answer_reader& r, std::string_view name) {
    const auto v = r.header(name);
    return v ? std::string(*v) : "<none>";
}

std::string length_of(const answer_reader& r) {
    const auto n = r.content_length();
    return n ? std::to_string(*n) : "<none>";
}

} // namespace

// ======================================================================
// Content-Length

TEST_CASE("http answer: a Content-Length answer read step by step, its fields, and the bytes after it left",
          "[http_answer]") {
    const auto h = head("HTTP/1.1 200 OK", {"Content-Type: text/plain", "content-length: 11",
                                            "X-Padded: \t a  b \t ", "X-Dup: one", "x-dup: two", "X-Empty:",
                                            "X-Obs: caf\xc3\xa9\tend"});
    const std::string after = "HTTP/1.1 204 No Content\r\n\r\n";  // the next answer on the connection
    const std::string all = h + "hello world" + after;

    answer_reader r;
    CHECK_FALSE(r.started());
    CHECK_FALSE(r.head_done());
    CHECK_FALSE(r.is_done());
    std::size_t used = 99;
    CHECK(r.read(all.data(), 0, used) == event::need_more);  // nothing given: nothing happens
    CHECK(used == 0);
    CHECK_FALSE(r.started());

    REQUIRE(r.read(all.data(), all.size(), used) == event::head);
    CHECK(used == h.size());  // the head, not a byte of the body
    CHECK(r.started());
    CHECK(r.head_done());
    CHECK_FALSE(r.is_done());
    CHECK(r.status() == 200);
    CHECK(r.keep_alive());
    CHECK(length_of(r) == "11");
    CHECK(r.body().empty());
    CHECK(r.body_bytes() == 0);
    CHECK(r.failure().empty());
    // names in any case, values trimmed of spaces and tabs (not inside), the first of duplicates
    CHECK(field(r, "Content-Type") == "text/plain");
    CHECK(field(r, "CONTENT-TYPE") == "text/plain");
    CHECK(field(r, "content-type") == "text/plain");
    CHECK(field(r, "Content-Length") == "11");
    CHECK(field(r, "x-padded") == "a  b");
    CHECK(field(r, "X-DUP") == "one");
    CHECK(field(r, "X-Empty") == "");
    CHECK(field(r, "x-obs") == "caf\xc3\xa9\tend");
    CHECK(field(r, "Content") == "<none>");  // a prefix is not the name
    CHECK(field(r, "Content-Type2") == "<none>");
    CHECK(field(r, "X-Missing") == "<none>");
    CHECK(field(r, "") == "<none>");

    std::size_t at = used;
    REQUIRE(r.read(all.data() + at, all.size() - at, used) == event::body);
    CHECK(used == 11);
    CHECK(r.body() == "hello world");
    CHECK(r.body().data() == all.data() + at);  // a view into the input, not a copy
    CHECK(r.body_bytes() == 11);
    CHECK(r.is_done());
    at += used;

    // done, again and again, without taking the next answer's bytes
    for (int i = 0; i < 3; ++i) {
        used = 99;
        CHECK(r.read(all.data() + at, all.size() - at, used) == event::done);
        CHECK(used == 0);
        CHECK(r.body().empty());
    }
    CHECK(std::string_view(all).substr(at) == after);
    CHECK(r.finish() == event::done);
    // the fields still read right after the body went by
    CHECK(field(r, "x-padded") == "a  b");
    CHECK(r.status() == 200);
}

TEST_CASE("http answer: a Content-Length answer gives the same events whatever the cuts, a byte at a time too",
          "[http_answer]") {
    const std::string body = "{\"id\":\"cl-1\",\"state\":\"running\"}\r\n\r\n";  // a body that looks like a head's end
    const auto wire = head("HTTP/1.1 201 Created", {"Content-Type: application/json",
                                                    "Content-Length:  " + std::to_string(body.size()) + " ",
                                                    "X-Request-Id: r-1", "x-request-id: r-2"}) +
                      body;
    const std::string after = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    const auto expected = expect({"head:201", "body", "done"}, body, after.size());
    const auto all = wire + after;
    CHECK(read_whole(all) == expected);
    same_at_every_cut(all, expected, {}, [&](const answer_reader& r) {
        CHECK(r.status() == 201);
        CHECK(r.keep_alive());
        CHECK(length_of(r) == std::to_string(body.size()));
        CHECK(r.body_bytes() == body.size());
        CHECK(field(r, "X-REQUEST-ID") == "r-1");
        CHECK(field(r, "content-type") == "application/json");
    });
    CHECK(mismatches_at_cut_pairs(all, expected, 90) == 0);

    // without the next answer: the same, with nothing left
    CHECK(read_whole(wire) == expect({"head:201", "body", "done"}, body, 0));
}

TEST_CASE("http answer: header names are tokens of any tchar, values keep obs-text and inner whitespace",
          "[http_answer]") {
    const auto wire = head("HTTP/1.1 200 OK", {"X!#$%&'*+-.^_`|~0z: odd", "X-Hi: \x80\xff\xfe", "X-In: a \t b",
                                               "X-Colon: a: b", "X-Bare:value", "Content-Length: 0"});
    answer_reader r;
    REQUIRE(read_cut(r, wire, {}) == expect({"head:200", "done"}));
    CHECK(field(r, "x!#$%&'*+-.^_`|~0Z") == "odd");
    CHECK(field(r, "x-hi") == "\x80\xff\xfe");
    CHECK(field(r, "x-in") == "a \t b");
    CHECK(field(r, "x-colon") == "a: b");  // the first colon ends the name
    CHECK(field(r, "x-bare") == "value");
}

// ======================================================================
// chunked

TEST_CASE("http answer: a chunked body with extensions, both cases of hex and trailers, at every cut",
          "[http_answer]") {
    const std::string p1 = "hello", p2 = ascii_of(26), p3 = ascii_of(26, 'A'), p4 = ascii_of(188, 'A');
    const std::string p5 = ascii_of(15), p6 = "0\r\n\r\n";  // data that looks like the last chunk
    const auto h = head("HTTP/1.1 200 OK", {"Transfer-Encoding: chunked", "X-Before: 1"});
    const auto chunks = "5\r\n" + p1 + "\r\n" +                         // plain
                        "1A;a=b\r\n" + p2 + "\r\n" +                    // upper-case hex, an extension
                        "1a ; name=\"q v\";flag\r\n" + p3 + "\r\n" +   // lower-case, whitespace, two extensions
                        "bC\t;x\r\n" + p4 + "\r\n" +                    // mixed case, a tab before the extension
                        "0000f\r\n" + p5 + "\r\n" +                     // leading zeros
                        "5\r\n" + p6 + "\r\n" +                         //
                        "0;end=yes\r\nX-Trailer: t\r\nX-Checksum: abc\r\n\r\n";
    const auto wire = h + chunks;
    const auto body = p1 + p2 + p3 + p4 + p5 + p6;
    const std::string after = "HTTP/1.1 200 OK\r\n";
    const auto expected = expect({"head:200", "body", "done"}, body, after.size());
    CHECK(read_whole(wire + after) == expected);
    same_at_every_cut(wire + after, expected, {}, [&](const answer_reader& r) {
        CHECK(r.status() == 200);
        CHECK(r.keep_alive());
        CHECK(length_of(r) == "<none>");  // chunked: no length known up front
        CHECK(r.body_bytes() == body.size());
        CHECK(field(r, "transfer-encoding") == "chunked");
        CHECK(field(r, "x-before") == "1");
    });

    // fed whole: each chunk's data is a piece of its own, in order
    answer_reader r;
    std::size_t used = 0, at = 0;
    const auto all = wire + after;
    REQUIRE(r.read(all.data(), all.size(), used) == event::head);
    at += used;
    std::vector<std::string> pieces;
    for (;;) {
        const auto e = r.read(all.data() + at, all.size() - at, used);
        at += used;
        if (e != event::body) {
            CHECK(e == event::done);
            break;
        }
        pieces.emplace_back(r.body());
    }
    CHECK(pieces == std::vector<std::string>{p1, p2, p3, p4, p5, p6});
    CHECK(all.substr(at) == after);
}

TEST_CASE("http answer: chunked, every pair of cuts across the head and the chunk lines", "[http_answer]") {
    const auto wire = head("HTTP/1.1 200 OK", {"Transfer-Encoding: chunked"}) + "3;x=y\r\nabc\r\nA\r\n0123456789\r\n" +
                      "0\r\nT: 1\r\n\r\n";
    const auto expected = expect({"head:200", "body", "done"}, "abc0123456789");
    CHECK(read_whole(wire) == expected);
    CHECK(mismatches_at_cut_pairs(wire, expected, wire.size()) == 0);
}

TEST_CASE("http answer: chunked without trailers, an empty chunked body, and the codings that make it chunked",
          "[http_answer]") {
    const auto te = [](std::string_view value) {
        return head("HTTP/1.1 200 OK", {"Transfer-Encoding: "s + std::string(value)});
    };
    const std::string two = chunk("ab") + chunk("cd") + "0\r\n\r\n";
    const auto expected = expect({"head:200", "body", "done"}, "abcd");
    same_at_every_cut(te("chunked") + two, expected);
    CHECK(read_whole(te("CHUNKED") + two) == expected);  // a coding's name is case-insensitive
    CHECK(read_whole(te("gzip, chunked") + two) == expected);  // chunked last: chunked
    CHECK(read_whole(head("HTTP/1.1 200 OK", {"Transfer-Encoding: gzip", "Transfer-Encoding: chunked"}) + two) ==
          expected);  // two lines are one list

    // no data at all: head, then done at the last chunk
    same_at_every_cut(te("chunked") + "0\r\n\r\n", expect({"head:200", "done"}));
    answer_reader r;
    REQUIRE(read_cut(r, te("chunked") + "0\r\n\r\n", {}) == expect({"head:200", "done"}));
    CHECK(r.body_bytes() == 0);
    CHECK(length_of(r) == "<none>");
}

// ======================================================================
// to the end of the connection

TEST_CASE("http answer: without a length the body runs to the end of the connection", "[http_answer]") {
    const std::string body = "all of it,\r\n\r\nup to the end";
    const auto wire = head("HTTP/1.1 200 OK", {"Content-Type: text/plain"}) + body;
    const auto expected = expect({"head:200", "body", "end:done"}, body);
    CHECK(read_whole(wire) == expected);
    same_at_every_cut(wire, expected, {}, [&](const answer_reader& r) {
        CHECK_FALSE(r.keep_alive());  // the end of the body is the end of the connection
        CHECK(length_of(r) == "<none>");
        CHECK(r.is_done());
        CHECK(r.body_bytes() == body.size());
    });

    // no more bytes after the head: an empty body
    answer_reader empty;
    CHECK(read_cut(empty, head("HTTP/1.1 200 OK"), {}) == expect({"head:200", "end:done"}));
    CHECK(empty.body_bytes() == 0);
    CHECK_FALSE(empty.keep_alive());

    // the body is not over before finish(): need_more, then done, then done again with nothing taken
    answer_reader r;
    std::size_t used = 0;
    REQUIRE(r.read(wire.data(), wire.size(), used) == event::head);
    const auto at = used;
    REQUIRE(r.read(wire.data() + at, wire.size() - at, used) == event::body);
    CHECK(used == wire.size() - at);
    CHECK(r.read(wire.data(), 0, used) == event::need_more);
    CHECK_FALSE(r.is_done());
    CHECK(r.finish() == event::done);
    CHECK(r.is_done());
    CHECK(r.read(wire.data(), wire.size(), used) == event::done);
    CHECK(used == 0);
    CHECK(r.finish() == event::done);
}

TEST_CASE("http answer: a Transfer-Encoding that does not end in chunked runs to the end of the connection",
          "[http_answer]") {
    for (std::string_view value : {"gzip", "chunked, gzip", "identity", ""}) {
        INFO("Transfer-Encoding: " << value);
        // bytes that would read as chunks if it were taken for chunked
        const auto wire = head("HTTP/1.1 200 OK", {"Transfer-Encoding: "s + std::string(value)}) + "3\r\nabc\r\n0\r\n\r\n";
        answer_reader r;
        CHECK(read_cut(r, wire, {}) == expect({"head:200", "body", "end:done"}, "3\r\nabc\r\n0\r\n\r\n"));
        CHECK_FALSE(r.keep_alive());
        CHECK(length_of(r) == "<none>");
    }
    // HTTP/1.0 without a length, as old servers answer
    answer_reader r;
    CHECK(read_cut(r, head("HTTP/1.0 200 OK", {"Server: old"}) + "<html>", {}) ==
          expect({"head:200", "body", "end:done"}, "<html>"));
    CHECK_FALSE(r.keep_alive());
}

// ======================================================================
// keep-alive

TEST_CASE("http answer: keep-alive by version and Connection tokens", "[http_answer]") {
    struct ka_case {
        std::string_view status_line;
        std::vector<std::string_view> fields;
        bool keep;
    };
    const std::vector<ka_case> cases = {
        {"HTTP/1.1 200 OK", {}, true},  // HTTP/1.1: persistent unless told
        {"HTTP/1.1 200 OK", {"Connection: close"}, false},
        {"HTTP/1.1 200 OK", {"connection: CLOSE"}, false},
        {"HTTP/1.1 200 OK", {"Connection: Upgrade, close"}, false},  // a token of a list
        {"HTTP/1.1 200 OK", {"Connection: close,Upgrade"}, false},
        {"HTTP/1.1 200 OK", {"Connection: foo ,\t close\t, bar"}, false},
        {"HTTP/1.1 200 OK", {"Connection: keep-alive", "Connection: close"}, false},  // two lines, one list
        {"HTTP/1.1 200 OK", {"Connection: close, keep-alive"}, false},  // close wins
        {"HTTP/1.1 200 OK", {"Connection: keep-alive"}, true},
        {"HTTP/1.1 200 OK", {"Connection: closed"}, true},  // not the token close
        {"HTTP/1.1 200 OK", {"Connection: x-close, unclose"}, true},
        {"HTTP/1.1 200 OK", {"X-Connection: close"}, true},
        {"HTTP/1.0 200 OK", {}, false},  // HTTP/1.0: closed unless told
        {"HTTP/1.0 200 OK", {"Connection: keep-alive"}, true},
        {"HTTP/1.0 200 OK", {"Connection: Keep-Alive"}, true},
        {"HTTP/1.0 200 OK", {"Connection: foo, keep-alive"}, true},
        {"HTTP/1.0 200 OK", {"Connection: keep-alive, close"}, false},
        {"HTTP/1.0 200 OK", {"Connection: keep-alived"}, false},
    };
    for (const auto& c : cases) {
        std::string h(c.status_line);
        h += "\r\n";
        for (auto f : c.fields) h += std::string(f) + "\r\n";
        h += "Content-Length: 2\r\n\r\nok";
        INFO(h);
        answer_reader r;
        CHECK(read_cut(r, h, {}) == expect({"head:200", "body", "done"}, "ok"));
        CHECK(r.keep_alive() == c.keep);
    }
}

TEST_CASE("http answer: Transfer-Encoding with Content-Length: chunked wins and the connection is not kept",
          "[http_answer]") {
    const std::string body = chunk("hello") + "0\r\n\r\n";
    for (auto fields : {std::vector<std::string_view>{"Transfer-Encoding: chunked", "Content-Length: 3"},
                        std::vector<std::string_view>{"Content-Length: 3", "Transfer-Encoding: chunked"},
                        std::vector<std::string_view>{"Content-Length: 100", "Transfer-Encoding: chunked"}}) {
        std::string wire = "HTTP/1.1 200 OK\r\n";
        for (auto f : fields) wire += std::string(f) + "\r\n";
        wire += "\r\n" + body;
        INFO(wire);
        answer_reader r;
        CHECK(read_cut(r, wire + "X", {}) == expect({"head:200", "body", "done"}, "hello", 1));
        CHECK_FALSE(r.keep_alive());  // a message framed two ways may be a smuggling attempt
        CHECK(length_of(r) == "<none>");
    }
    // not chunked: to the end, the length ignored
    answer_reader r;
    CHECK(read_cut(r, head("HTTP/1.1 200 OK", {"Content-Length: 2", "Transfer-Encoding: gzip"}) + "abcdef", {}) ==
          expect({"head:200", "body", "end:done"}, "abcdef"));
    CHECK_FALSE(r.keep_alive());
}

// ======================================================================
// no body, interim answers

TEST_CASE("http answer: 204, 304 and 101 have no body whatever their headers say", "[http_answer]") {
    const std::string next = "\x81\x05Hello";  // what follows: a WebSocket frame or the next answer
    for (unsigned status : {204u, 304u, 101u}) {
        for (std::string_view framing : {"Content-Length: 10", "Transfer-Encoding: chunked", "X-None: 1"}) {
            const auto wire = head("HTTP/1.1 " + std::to_string(status) + " X", {framing}) + next;
            INFO(wire);
            const auto expected = expect({"head:" + std::to_string(status), "done"}, "", next.size());
            same_at_every_cut(wire, expected, {}, [&](const answer_reader& r) {
                CHECK(r.status() == status);
                CHECK(r.body_bytes() == 0);
                CHECK(r.is_done());
            });
        }
    }
    answer_reader r;
    REQUIRE(read_cut(r, head("HTTP/1.1 304 Not Modified", {"Content-Length: 10", "ETag: \"x\""}), {}) ==
            expect({"head:304", "done"}));
    CHECK(field(r, "content-length") == "10");  // still readable, just not a body
    CHECK(field(r, "etag") == "\"x\"");
    CHECK(r.keep_alive());
}

TEST_CASE("http answer: Content-Length 0 is head then done, at every cut", "[http_answer]") {
    const auto wire = head("HTTP/1.1 200 OK", {"Content-Length: 0"}) + "HTTP/1.1";
    same_at_every_cut(wire, expect({"head:200", "done"}, "", 8), {}, [](const answer_reader& r) {
        CHECK(length_of(r) == "0");
        CHECK(r.keep_alive());
        CHECK(r.is_done());
    });
    answer_reader r;
    std::size_t used = 0;
    REQUIRE(r.read(wire.data(), wire.size(), used) == event::head);
    CHECK(used == wire.size() - 8);
    CHECK(r.is_done());  // known from the head alone
    CHECK(r.read(wire.data() + used, 8, used) == event::done);
    CHECK(used == 0);
}

TEST_CASE("http answer: interim answers before the real one are skipped, at every cut", "[http_answer]") {
    const auto interim = head("HTTP/1.1 100 Continue") + head("HTTP/1.1 102 Processing", {"Connection: close"}) +
                         head("HTTP/1.1 103 Early Hints", {"Link: </style.css>; rel=preload", "Content-Length: 99"});
    const auto wire = interim + head("HTTP/1.1 200 OK", {"Content-Length: 5"}) + "hello";
    const auto expected = expect({"head:200", "body", "done"}, "hello", 2);
    CHECK(read_whole(wire + "++") == expected);
    same_at_every_cut(wire + "++", expected, {}, [](const answer_reader& r) {
        CHECK(r.status() == 200);
        CHECK(field(r, "link") == "<none>");  // the interim answers' fields are gone
        CHECK(length_of(r) == "5");
        CHECK(r.keep_alive());  // the interim's Connection: close was not the answer's
    });
    CHECK(mismatches_at_cut_pairs(wire + "++", expected, 120) == 0);

    // a 100 Continue alone is not an answer yet
    answer_reader r;
    const auto c = head("HTTP/1.1 100 Continue");
    std::size_t used = 0;
    CHECK(r.read(c.data(), c.size(), used) == event::need_more);
    CHECK(used == c.size());
    CHECK_FALSE(r.head_done());
    CHECK(r.finish() == event::failed);
}

TEST_CASE("http answer: 101 is not an interim answer: head then done, the bytes after it left", "[http_answer]") {
    const std::string frames = "\x81\x02hi\x89\x00"s;
    const auto wire = head("HTTP/1.1 100 Continue") +
                      head("HTTP/1.1 101 Switching Protocols",
                           {"Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="}) +
                      frames;
    same_at_every_cut(wire, expect({"head:101", "done"}, "", frames.size()), {}, [](const answer_reader& r) {
        CHECK(r.status() == 101);
        CHECK(field(r, "sec-websocket-accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
        CHECK(field(r, "upgrade") == "websocket");
    });
}

// ======================================================================
// Content-Length forms

TEST_CASE("http answer: Content-Length forms that are one number", "[http_answer]") {
    for (std::string_view fields : {"Content-Length: 5", "Content-Length: 5, 5", "Content-Length: 5,5",
                                    "Content-Length:\t5 ,  5\t", "Content-Length: 005",
                                    "Content-Length: 5\r\nContent-Length: 5"}) {
        INFO(fields);
        answer_reader r;
        CHECK(read_cut(r, "HTTP/1.1 200 OK\r\n" + std::string(fields) + "\r\n\r\nhelloX", {}) ==
              expect({"head:200", "body", "done"}, "hello", 1));
        CHECK(length_of(r) == "5");
    }
    // 19 digits fit in 64 bits
    answer_reader r;
    const auto big = head("HTTP/1.1 200 OK", {"Content-Length: 9999999999999999999"});
    std::size_t used = 0;
    REQUIRE(r.read(big.data(), big.size(), used) == event::head);
    CHECK(length_of(r) == "9999999999999999999");
}

TEST_CASE("http answer: Content-Length forms that are not one number fail naming it", "[http_answer]") {
    for (std::string_view fields :
         {"Content-Length: 5, 6", "Content-Length: 5,,6", "Content-Length: -1", "Content-Length: +5",
          "Content-Length: abc", "Content-Length: 0x5", "Content-Length: 5.0", "Content-Length: 5 5",
          "Content-Length: ", "Content-Length:", "Content-Length: ,", "Content-Length: 12345678901234567890",
          "Content-Length: 18446744073709551616", "Content-Length: 5\r\nContent-Length: 6",
          "Content-Length: 5\r\ncontent-length: 50"}) {
        INFO(fields);
        CHECK_THAT(failure_of("HTTP/1.1 200 OK\r\n" + std::string(fields) + "\r\n\r\nhello"),
                   Contains("Content-Length"));
    }
}

// ======================================================================
// malformed heads

TEST_CASE("http answer: a bad status line fails naming it", "[http_answer]") {
    for (std::string_view line :
         {"HTTP/2 200 OK", "HTTP/2.0 200 OK", "HTTP/1.1 20 OK", "HTTP/1.1 2000 OK", "HTTP/1.1 200OK", "ICY 200 OK",
          "HTTP/1.1", "HTTP/1.1 ", "HTTP/1.1 OK", "HTTP/1.1 abc OK", "HTTP/1.1 099 Low", "HTTP/1.1 -20 OK",
          "http/1.1 200 OK", "HTTP/1.x 200 OK", "HTTP/11 200 OK", " HTTP/1.1 200 OK", "HTTP/1.1  200 OK",
          "HTTP/1.1\t200 OK", "", "Content-Length: 0", "HTTP/1.1 200 O\x01K", "HTTP/1.1 200 O\x7fK",
          "HTTP/1.1 200 O\rK"}) {
        INFO("'" << line << "'");
        CHECK_THAT(failure_of(std::string(line) + "\r\nContent-Length: 0\r\n\r\n"), Contains("status line"));
    }
}

TEST_CASE("http answer: status lines that are right, with and without a reason", "[http_answer]") {
    struct ok_case {
        std::string_view line;
        unsigned status;
        bool keep;
    };
    for (const auto& c : {ok_case{"HTTP/1.1 200", 200, true}, ok_case{"HTTP/1.1 200 ", 200, true},
                          ok_case{"HTTP/1.0 404 Not Found", 404, false}, ok_case{"HTTP/1.1 999 Odd", 999, true},
                          ok_case{"HTTP/1.1 599 x\ty \x80\xff", 599, true}, ok_case{"HTTP/1.1 200 OK OK OK", 200, true},
                          ok_case{"HTTP/1.1 500 :", 500, true}}) {
        INFO("'" << c.line << "'");
        answer_reader r;
        CHECK(read_cut(r, std::string(c.line) + "\r\nContent-Length: 1\r\n\r\nx", {}) ==
              expect({"head:" + std::to_string(c.status), "body", "done"}, "x"));
        CHECK(r.status() == c.status);
        CHECK(r.keep_alive() == c.keep);
    }
}

TEST_CASE("http answer: malformed header lines fail, each with its reason", "[http_answer]") {
    struct bad {
        std::vector<std::string_view> fields;
        std::string_view word;  // what the failure must name
    };
    const std::vector<bad> cases = {
        {{"X-A: b", " folded"}, "fold"},  // obsolete line folding
        {{"X-A: b", "\tfolded"}, "fold"},
        {{" X-A: b"}, "fold"},  // whitespace before the first header
        {{"NoColon"}, "colon"},
        {{"X-A b"}, "colon"},
        {{": value"}, "colon"},  // an empty name
        {{"Name : v"}, "Name "},  // whitespace before the colon
        {{"Name\t: v"}, "token"},
        {{"Na me: v"}, "token"},
        {{"X(y): z"}, "token"},
        {{"X\x80: y"}, "token"},
        {{"X\x01: y"}, "token"},
        {{"X-A: a\x01z"}, "control"},
        {{"X-A: a\x7fz"}, "control"},
        {{"X-A: a\x1bz"}, "control"},
        {{"X-A: a\rz"}, "control"},  // a CR not before LF
        {{"X-A: a\r"}, "control"},
        {{"X-A: ok", "X-B: a\x02z"}, "X-B"},  // names the header
    };
    for (const auto& c : cases) {
        std::string wire = "HTTP/1.1 200 OK\r\n";
        for (auto f : c.fields) wire += std::string(f) + "\r\n";
        wire += "Content-Length: 0\r\n\r\n";
        INFO(wire);
        const auto f = failure_of(wire);
        CHECK_THAT(f, Contains(std::string(c.word)));
    }
    // a NUL inside a value, spelt out (a string_view literal would end at it)
    const auto nul = "HTTP/1.1 200 OK\r\nX-A: a\0z\r\n\r\n"s;
    CHECK_THAT(failure_of(nul), Contains("control"));
}

TEST_CASE("http answer: a bare LF ends no line, in the head or in a chunked body", "[http_answer]") {
    for (std::string wire : {"HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n"s, "\n"s,
                             "HTTP/1.1 200 OK\r\nX-A: b\nContent-Length: 0\r\n\r\n"s,
                             "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\n"s, "HTTP/1.1 200 OK\n\n"s,
                             "HTTP/1.1 200 OK\r\n\n"s, "HTTP/1.1 100 Continue\r\n\n"s,
                             "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\n\r\n"s}) {
        INFO(wire);
        CHECK_THAT(failure_of(wire), Contains("bare LF"));
    }
    const auto te = head("HTTP/1.1 200 OK", {"Transfer-Encoding: chunked"});
    for (std::string chunks : {"5\nhello\r\n0\r\n\r\n"s, "0\n\r\n"s, "5;ext\nhello\r\n0\r\n\r\n"s,
                               "5\r\nhello\r\n0\r\nX-T: y\n\r\n"s, "0\r\n\n"s, "\n"s}) {
        INFO(chunks);
        CHECK_THAT(failure_of(te + chunks), Contains("bare LF"));
    }
}

// ======================================================================
// limits

TEST_CASE("http answer: the head limit, at its edge and past it", "[http_answer]") {
    const answer_limits small{.head = 100};
    auto head_of_size = [](std::size_t n) {
        const std::string start = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Pad: ";
        return start + std::string(n - start.size() - 4, 'p') + "\r\n\r\n";
    };
    REQUIRE(head_of_size(100).size() == 100);
    // 100 bytes: taken, with the body in the same read
    same_at_every_cut(head_of_size(100) + "ok", expect({"head:200", "body", "done"}, "ok"), small);
    // 101 bytes: refused, whatever the cuts
    CHECK_THAT(failure_of(head_of_size(101) + "ok", small), Contains("head"));
    CHECK_THAT(failure_of(head_of_size(300), small), Contains("head"));

    // a head that never ends fails once past the limit, not when the connection ends
    const std::string endless = "HTTP/1.1 200 OK\r\nX-Pad: " + std::string(200, 'p');
    answer_reader r(small);
    std::size_t used = 0;
    CHECK(r.read(endless.data(), endless.size(), used) == event::failed);
    CHECK(used <= endless.size());
    answer_reader bytes(small);
    std::size_t at = 0;
    for (; at < endless.size(); ++at) {
        const auto e = bytes.read(endless.data() + at, 1, used);
        if (e != event::need_more) {
            CHECK(e == event::failed);
            break;
        }
    }
    CHECK(at == 100);  // the 101st byte is one too many
    CHECK_THAT(bytes.failure(), Contains("head"));

    // the default is 64 KiB
    const auto big = "HTTP/1.1 200 OK\r\nX-Pad: " + std::string(64 * 1024, 'p') + "\r\nContent-Length: 0\r\n\r\n";
    CHECK_THAT(read_whole(big).failure, Contains("head"));
    const auto fits = "HTTP/1.1 200 OK\r\nX-Pad: " + std::string(60 * 1024, 'p') + "\r\nContent-Length: 0\r\n\r\n";
    CHECK(read_whole(fits) == expect({"head:200", "done"}));
}

TEST_CASE("http answer: the head limit's failure names the limit it was given", "[http_answer]") {
    for (std::size_t limit : {100u, 1500u}) {
        INFO("limit " << limit);
        const auto wire = "HTTP/1.1 200 OK\r\nX-Pad: " + std::string(limit, 'p') + "\r\n\r\n";
        const auto f = failure_of(wire, answer_limits{.head = limit});
        CHECK_THAT(f, Contains("head") && Contains(std::to_string(limit)));
    }
}

TEST_CASE("http answer: the head limit also bounds a chunk line and a trailer line", "[http_answer]") {
    const answer_limits small{.head = 100};
    const auto te = head("HTTP/1.1 200 OK", {"Transfer-Encoding: chunked"});
    CHECK_THAT(failure_of(te + "5;" + std::string(200, 'e') + "\r\nhello\r\n0\r\n\r\n", small), Contains("chunk"));
    CHECK_THAT(failure_of(te + "0\r\nX-T: " + std::string(200, 't') + "\r\n\r\n", small), Contains("trailer"));
    // within it: fine
    CHECK(read_whole(te + "5;" + std::string(90, 'e') + "\r\nhello\r\n0\r\nX-T: " + std::string(90, 't') + "\r\n\r\n",
                     small) == expect({"head:200", "body", "done"}, "hello"));
}

TEST_CASE("http answer: the body limit by Content-Length, by chunks and up to the end", "[http_answer]") {
    const answer_limits ten{.body = 10};
    // by Content-Length: known from the head, before any body byte
    same_at_every_cut(head("HTTP/1.1 200 OK", {"Content-Length: 10"}) + "0123456789",
                      expect({"head:200", "body", "done"}, "0123456789"), ten);
    const auto over = head("HTTP/1.1 200 OK", {"Content-Length: 11"});
    answer_reader r(ten);
    std::size_t used = 0;
    CHECK(r.read(over.data(), over.size(), used) == event::failed);
    CHECK_THAT(r.failure(), Contains("limit") && Contains("11"));
    CHECK_THAT(failure_of(over + "0123456789a", ten), Contains("limit"));

    // by chunks: the sum of them
    const auto te = head("HTTP/1.1 200 OK", {"Transfer-Encoding: chunked"});
    same_at_every_cut(te + chunk("abcd") + chunk("efghij") + "0\r\n\r\n",
                      expect({"head:200", "body", "done"}, "abcdefghij"), ten);
    CHECK_THAT(failure_of(te + chunk("abcd") + chunk("efghijk") + "0\r\n\r\n", ten), Contains("limit"));
    CHECK_THAT(failure_of(te + chunk("abcdefghijk") + "0\r\n\r\n", ten), Contains("limit"));
    CHECK_THAT(failure_of(te + "fffffffffffffff\r\n", ten), Contains("limit"));

    // up to the end of the connection: the bytes as they come
    const auto eof = head("HTTP/1.1 200 OK");
    same_at_every_cut(eof + "0123456789", expect({"head:200", "body", "end:done"}, "0123456789"), ten);
    CHECK_THAT(failure_of(eof + "0123456789a", ten), Contains("limit"));
    // and no cut lets more than the limit through
    const auto long_eof = eof + std::string(40, 'z');
    for (std::size_t piece = 1; piece < long_eof.size(); ++piece) {
        INFO("pieces of " << piece);
        answer_reader p(ten);
        const auto o = read_cut(p, long_eof, pieces_of(long_eof.size(), piece));
        CHECK(o.body.size() <= 10);
        CHECK(o.events.back() == "failed");
    }
}

// ======================================================================
// malformed chunked bodies

TEST_CASE("http answer: bad chunk sizes fail naming the chunk size", "[http_answer]") {
    const auto te = head("HTTP/1.1 200 OK", {"Transfer-Encoding: chunked"});
    for (std::string_view line : {"zz", "", "0000000000000001", "fffffffffffffffff", "-1", " 5", "5 x", "5x", "0x5",
                                  ";ext", "+5", "5,6", "g"}) {
        INFO("'" << line << "'");
        CHECK_THAT(failure_of(te + std::string(line) + "\r\nhello\r\n0\r\n\r\n"), Contains("chunk size"));
    }
    // 15 digits are still a size (leading zeros and all)
    CHECK(read_whole(te + "000000000000005\r\nhello\r\n0\r\n\r\n") == expect({"head:200", "body", "done"}, "hello"));
    // a bad size after good chunks: their data came first
    const auto o = read_whole(te + chunk("ok") + "zz\r\n");
    CHECK(o.events == std::vector<std::string>{"head:200", "body", "failed"});
    CHECK(o.body == "ok");
    CHECK_THAT(o.failure, Contains("'zz'"));  // shows what came
}

TEST_CASE("http answer: chunk data not followed by CRLF fails", "[http_answer]") {
    const auto te = head("HTTP/1.1 200 OK", {"Transfer-Encoding: chunked"});
    for (std::string after_data : {"X\r\n0\r\n\r\n"s, "\n0\r\n\r\n"s, "\rX0\r\n\r\n"s, "0\r\n\r\n"s, "\r\r\n"s,
                                   " \r\n0\r\n\r\n"s}) {
        INFO(after_data);
        const auto f = failure_of(te + "5\r\nhello" + after_data);
        CHECK_THAT(f, Contains("chunk") && Contains("CRLF"));
    }
}

// ======================================================================
// the end of the connection

TEST_CASE("http answer: finish() before, inside and after the head", "[http_answer]") {
    {
        answer_reader r;
        CHECK(r.finish() == event::failed);
        CHECK_THAT(r.failure(), Contains("before"));
    }
    {
        answer_reader r;  // a read of no bytes is no answer
        std::size_t used = 0;
        CHECK(r.read("", 0, used) == event::need_more);
        CHECK(r.finish() == event::failed);
        CHECK_THAT(r.failure(), Contains("before"));
    }
    // every cut of a Content-Length answer: only the whole one is done
    const auto h = head("HTTP/1.1 200 OK", {"Content-Length: 11"});
    const auto wire = h + "hello world";
    for (std::size_t n = 1; n <= wire.size(); ++n) {
        INFO("the first " << n << " bytes");
        answer_reader r;
        const auto o = read_cut(r, wire.substr(0, n), {});
        CHECK(o.problems.empty());
        if (n == wire.size()) {
            CHECK(o.events.back() == "done");
            continue;
        }
        REQUIRE(o.events.back() == "end:failed");
        if (n < h.size()) {
            CHECK_THAT(r.failure(), Contains("middle of its head"));
        } else {
            const auto got = std::to_string(n - h.size());
            CHECK_THAT(r.failure(), Contains(got + " of") && Contains("11"));
        }
        CHECK(r.finish() == event::failed);  // and again
    }
}

TEST_CASE("http answer: finish() inside a chunked body fails wherever it comes", "[http_answer]") {
    const auto h = head("HTTP/1.1 200 OK", {"Transfer-Encoding: chunked"});
    // size line, extension, data, CR, LF, last chunk, trailer, blank line: every place
    const auto wire = h + "5;e=1\r\nhello\r\n0\r\nT: 1\r\n\r\n";
    for (std::size_t n = h.size(); n < wire.size(); ++n) {
        INFO("the first " << n << " bytes");
        answer_reader r;
        const auto o = read_cut(r, wire.substr(0, n), {});
        CHECK(o.events.back() == "end:failed");
        CHECK_THAT(r.failure(), Contains("chunked"));
    }
    answer_reader r;
    CHECK(read_cut(r, wire, {}).events.back() == "done");
}

TEST_CASE("http answer: after failed every read is failed, after done every read is done, nothing taken",
          "[http_answer]") {
    const std::string good = head("HTTP/1.1 200 OK", {"Content-Length: 2"}) + "ok";
    answer_reader r;
    const std::string bad = "HTTP/2 200 OK\r\n\r\n";
    std::size_t used = 0;
    REQUIRE(r.read(bad.data(), bad.size(), used) == event::failed);
    const auto why = r.failure();
    CHECK_FALSE(why.empty());
    for (int i = 0; i < 3; ++i) {
        used = 99;
        CHECK(r.read(good.data(), good.size(), used) == event::failed);
        CHECK(used == 0);
        used = 99;
        CHECK(r.read(good.data(), 0, used) == event::failed);
        CHECK(used == 0);
        CHECK(r.finish() == event::failed);
        CHECK(r.failure() == why);
        CHECK_FALSE(r.is_done());
    }

    answer_reader d;
    REQUIRE(read_cut(d, good, {}) == expect({"head:200", "body", "done"}, "ok"));
    for (int i = 0; i < 3; ++i) {
        used = 99;
        CHECK(d.read(good.data(), good.size(), used) == event::done);
        CHECK(used == 0);
        CHECK(d.read(bad.data(), bad.size(), used) == event::done);  // not even bad bytes change it
        CHECK(used == 0);
        CHECK(d.body().empty());
        CHECK(d.finish() == event::done);
        CHECK(d.failure().empty());
        CHECK(d.body_bytes() == 2);
    }
}

// ======================================================================
// reset

TEST_CASE("http answer: reset() reads the next answer as a new reader would", "[http_answer]") {
    answer_reader r;
    // first: HTTP/1.0, a length, a close, fields of its own
    const auto first = head("HTTP/1.0 404 Not Found", {"Content-Length: 3", "X-First: 1", "Connection: close"}) + "abc";
    REQUIRE(read_cut(r, first, {}) == expect({"head:404", "body", "done"}, "abc"));
    CHECK_FALSE(r.keep_alive());

    r.reset();
    CHECK_FALSE(r.started());
    CHECK_FALSE(r.head_done());
    CHECK_FALSE(r.is_done());
    CHECK(r.body_bytes() == 0);
    CHECK(r.body().empty());
    CHECK(r.failure().empty());
    CHECK(field(r, "x-first") == "<none>");
    CHECK(length_of(r) == "<none>");
    CHECK(r.keep_alive());

    // second: HTTP/1.1, chunked, other fields, read at every cut with the same reader
    const auto second = head("HTTP/1.1 200 OK", {"Transfer-Encoding: chunked", "X-Second: 2"}) + chunk("hello") +
                        "0\r\n\r\n";
    const auto expected = expect({"head:200", "body", "done"}, "hello");
    for (std::size_t cut = 0; cut <= second.size(); ++cut) {
        INFO("cut at " << cut);
        r.reset();
        CHECK(read_cut(r, second, {cut}) == expected);
        CHECK(r.status() == 200);
        CHECK(r.keep_alive());
        CHECK(length_of(r) == "<none>");
        CHECK(field(r, "x-first") == "<none>");
        CHECK(field(r, "X-Second") == "2");
        CHECK(r.body_bytes() == 5);
    }

    // after a failure, and in the middle of a head: nothing carried over
    const std::string bad = "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n";
    r.reset();
    REQUIRE(read_cut(r, bad, {}).events.back() == "failed");
    r.reset();
    CHECK(r.failure().empty());
    CHECK(read_cut(r, second, {}) == expected);
    r.reset();
    std::size_t used = 0;
    const std::string partial = "HTTP/1.1 500 Oops\r\nX-Half: 1";
    CHECK(r.read(partial.data(), partial.size(), used) == event::need_more);
    r.reset();
    CHECK_FALSE(r.started());
    CHECK(read_cut(r, second, {}) == expected);
    CHECK(field(r, "x-half") == "<none>");
    // in the middle of a body
    r.reset();
    const auto long_body = head("HTTP/1.1 200 OK", {"Content-Length: 100"}) + "part";
    REQUIRE(read_cut(r, long_body, {}, false) == expect({"head:200", "body"}, "part"));
    r.reset();
    CHECK(read_cut(r, second, {}) == expected);
    CHECK(length_of(r) == "<none>");
}

TEST_CASE("http answer: reset() takes new limits, and the default ones when given none", "[http_answer]") {
    const auto five = head("HTTP/1.1 200 OK", {"Content-Length: 5"}) + "hello";
    answer_reader r;
    CHECK(read_cut(r, five, {}) == expect({"head:200", "body", "done"}, "hello"));
    r.reset({.body = 3});
    CHECK(read_cut(r, five, {}).events == std::vector<std::string>{"failed"});
    CHECK_THAT(r.failure(), Contains("limit"));
    r.reset();
    CHECK(read_cut(r, five, {}) == expect({"head:200", "body", "done"}, "hello"));
    r.reset({.head = 20});
    CHECK(read_cut(r, five, {}).events == std::vector<std::string>{"failed"});
}

// ======================================================================
// known problems

// head_done() says "status(), header() and the rest are set"; a reader that
// failed inside the head has none of them. Today it is true (state failed
// sorts after state head) with status() 0, or the skipped 100's status.
TEST_CASE("http answer: a failure inside the head leaves head_done() false", "[http_answer]") {
    for (std::string wire : {"HTTP/2 200 OK\r\n\r\n"s, "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n"s,
                             "HTTP/1.1 200 OK\nX: y\r\n\r\n"s,
                             "HTTP/1.1 100 Continue\r\n\r\nICY 200 OK\r\n\r\n"s}) {
        INFO(wire);
        answer_reader r;
        std::size_t used = 0;
        REQUIRE(r.read(wire.data(), wire.size(), used) == event::failed);
        CHECK_FALSE(r.head_done());
    }
    answer_reader r;  // the connection ended inside the head
    const std::string cut = "HTTP/1.1 200 OK\r\nX-A";
    std::size_t used = 0;
    REQUIRE(r.read(cut.data(), cut.size(), used) == event::need_more);
    REQUIRE(r.finish() == event::failed);
    CHECK_FALSE(r.head_done());
}

// The largest head limit ("no limit") must not stop the reader (limit + 1,
// the one byte over it that the reader takes, must not wrap to 0).
TEST_CASE("http answer: a head limit of SIZE_MAX reads an answer", "[http_answer]") {
    const auto wire = head("HTTP/1.1 200 OK", {"Content-Length: 2"}) + "ok";
    CHECK(read_whole(wire, {.head = std::numeric_limits<std::size_t>::max()}) ==
          expect({"head:200", "body", "done"}, "ok"));
}
