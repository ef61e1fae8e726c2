// Fuzz target: wrenn-local's multipart/form-data parser (server/multipart.hpp).
//
// Input: a Content-Type header line ("...\n"; its boundary, else
// "fuzzboundary"), four bytes giving the sizes of the feeds (cycled; 0 is an
// empty feed), then the body.
// The body is parsed twice: fed in those chunks and in one piece.
// Properties: events come in a valid order (part_begin, data*, part_end ...,
// done); feed() keeps returning false once it has; the chunked and the
// one-piece parse agree on the verdict and, when both succeed, on the parts.
#include "fuzz_common.hpp"

#include "multipart.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace {

struct part {
    std::string name, filename, content;
    bool ended = false;
    friend bool operator==(const part&, const part&) = default;
};

struct outcome {
    bool ok = true;  // every feed returned true
    bool complete = false;
    std::vector<part> parts;
};

// Collects events, checking their order.
struct collector {
    outcome r;
    bool in_part = false, done = false;

    void take(const std::vector<wl::multipart_parser::event>& events) {
        using ev = wl::multipart_parser::event;
        for (auto& e : events) {
            fuzz::check(!done, "an event after done");
            switch (e.kind) {
            case ev::part_begin:
                fuzz::check(!in_part, "part_begin inside a part");
                in_part = true;
                r.parts.push_back({e.name, e.filename, {}, false});
                break;
            case ev::data:
                fuzz::check(in_part, "data outside a part");
                fuzz::check(!e.bytes.empty(), "an empty data event");
                r.parts.back().content += e.bytes;  // copied now: valid until the next feed
                break;
            case ev::part_end:
                fuzz::check(in_part, "part_end outside a part");
                in_part = false;
                r.parts.back().ended = true;
                break;
            case ev::done:
                fuzz::check(!in_part, "done inside a part");
                done = true;
                break;
            }
        }
    }
};

outcome parse(std::string_view boundary, std::string_view body, std::string_view sizes) {
    wl::multipart_parser p(boundary);
    collector c;
    std::vector<wl::multipart_parser::event> events;
    std::size_t at = 0, k = 0;
    bool last_empty = false;
    do {
        std::size_t n = sizes.empty() ? body.size() : static_cast<unsigned char>(sizes[k++ % sizes.size()]);
        if (n == 0 && last_empty) n = 1;  // an empty feed, but never two in a row (no endless loop)
        n = std::min(n, body.size() - at);
        last_empty = n == 0;
        bool ok = p.feed(body.substr(at, n), events);
        at += n;
        if (!ok) {
            fuzz::check(p.failed(), "feed() false but not failed()");
            c.r.ok = false;
            std::vector<wl::multipart_parser::event> more;
            fuzz::check(!p.feed("--x\r\n", more), "feed() true after false");
            break;
        }
        fuzz::check(!p.failed(), "feed() true but failed()");
        c.take(events);
    } while (at < body.size());
    c.r.complete = c.r.ok && p.complete();
    if (c.r.complete) fuzz::check(c.done, "complete() without a done event");
    return c.r;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in = fuzz::as_text(data, size);
    auto nl = in.find('\n');
    if (nl == std::string_view::npos) return 0;
    auto header = in.substr(0, nl);
    in.remove_prefix(nl + 1);
    if (in.size() < 4) return 0;
    auto sizes = in.substr(0, 4);
    auto body = in.substr(4);

    auto ct = wl::parse_form_content_type(header);
    fuzz::check(ct.boundary.size() <= 70, "a boundary longer than 70 bytes");
    std::string boundary = ct.boundary.empty() ? std::string("fuzzboundary") : ct.boundary;

    auto chunked = parse(boundary, body, sizes);
    auto whole = parse(boundary, body, {});
    fuzz::check(chunked.complete == whole.complete, "chunked and one-piece parses disagree on complete()");
    fuzz::check(chunked.ok == whole.ok, "chunked and one-piece parses disagree on failure");
    if (chunked.complete && whole.complete)
        fuzz::check(chunked.parts == whole.parts, "chunked and one-piece parses disagree on the parts");
    return 0;
}
