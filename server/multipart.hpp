// wrenn-local: an incremental (sans-I/O) multipart/form-data parser.
//
// Bytes go in through feed() in pieces of any size; events come out: a part
// begins (with its form name and filename), a piece of the part's content,
// the part ends, the closing delimiter was seen. Memory stays bounded by the
// size of one feed plus the boundary and one part's headers, so a body of any
// size can be parsed.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace wl {

// The pieces of a Content-Type header that matter for form uploads.
struct form_content_type {
    bool multipart = false;  // media type multipart/form-data
    std::string boundary;    // empty when absent or invalid (not 1-70 chars)
};
form_content_type parse_form_content_type(std::string_view header);

class multipart_parser {
public:
    struct event {
        enum kind_t { part_begin, data, part_end, done } kind;
        std::string name;        // part_begin: the Content-Disposition name (may be empty)
        std::string filename;    // part_begin: the filename parameter, if any
        std::string_view bytes;  // data: valid until the next call of feed()
    };

    explicit multipart_parser(std::string_view boundary);

    // Consumes `in`, replacing the contents of `out` with the events it
    // completes. Returns false (and keeps returning false) on malformed input.
    bool feed(std::string_view in, std::vector<event>& out);
    // After the last feed: true when the body ended with the closing delimiter.
    bool complete() const { return state_ == state::done; }
    bool failed() const { return state_ == state::failed; }

    static constexpr std::size_t max_header_bytes = 16 * 1024;

private:
    enum class state { preamble, headers, body, done, failed };
    // What follows a "\r\n--boundary" whose last byte is just before `at`:
    // a part delimiter (then `skip` = bytes of padding + CRLF after it), the
    // closing delimiter, data that merely contains the boundary, or not
    // decidable until more input arrives.
    enum class after { need_more, not_delimiter, part, close };
    after classify(std::size_t at, std::size_t& skip) const;
    bool fail();

    std::string delim_;  // "\r\n--" + boundary
    std::string buf_;    // unconsumed input (plus what the last events point into)
    std::size_t pos_ = 0;
    state state_ = state::preamble;
};

} // namespace wl
