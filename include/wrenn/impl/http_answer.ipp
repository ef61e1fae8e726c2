#pragma once

#include <wrenn/protocol/http_answer.hpp>

#include <algorithm>
#include <cstring>

namespace wrenn::protocol {

namespace detail_answer {

// Character classes by table: a head is a few hundred bytes checked one by one.
struct char_classes {
    bool token[256]{};  // RFC 9110 §5.6.2 tchar
    bool value[256]{};  // field-value: HTAB, SP, visible ASCII, obs-text
    unsigned char lower[256]{};  // ASCII letters folded to lower case
    constexpr char_classes() {
        for (int c = 0; c < 256; ++c) {
            bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
            token[c] = alnum;
            value[c] = c == '\t' || (c >= 0x20 && c != 0x7f);
            lower[c] = static_cast<unsigned char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
        }
        for (char c : std::string_view("!#$%&'*+-.^_`|~")) token[static_cast<unsigned char>(c)] = true;
    }
};
inline constexpr char_classes classes{};
inline bool is_token_char(unsigned char c) { return classes.token[c]; }
inline bool is_value_char(unsigned char c) { return classes.value[c]; }

inline bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (classes.lower[static_cast<unsigned char>(a[i])] != classes.lower[static_cast<unsigned char>(b[i])])
            return false;
    return true;
}

inline std::string_view trim(std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return v;
}

// Calls f(token) for each element of a comma-separated list, trimmed, empty ones skipped.
template <class F>
void for_each_token(std::string_view list, F&& f) {
    while (!list.empty()) {
        auto comma = list.find(',');
        auto item = trim(list.substr(0, comma));
        if (!item.empty()) f(item);
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
}

inline std::optional<std::uint64_t> decimal(std::string_view v) {
    if (v.empty() || v.size() > 19) return std::nullopt;  // 19 digits always fit in 64 bits
    std::uint64_t n = 0;
    for (char c : v) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return n;
}

inline std::string shown(std::string_view v) {
    std::string out;
    for (char c : v.substr(0, 40)) {
        auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u < 0x7f) {
            out += c;
        } else {
            static const char hex[] = "0123456789abcdef";
            out += "\\x";
            out += hex[u >> 4];
            out += hex[u & 15];
        }
    }
    if (v.size() > 40) out += "...";
    return "'" + out + "'";
}

} // namespace detail_answer

WRENN_DECL void answer_reader::reset(answer_limits limits) {
    limits_ = limits;
    state_ = state::head;
    started_ = head_done_ = false;
    keep_alive_ = true;
    status_ = 0;
    content_length_.reset();
    left_ = body_seen_ = 0;
    head_.clear();
    line_.clear();
    fields_.clear();
    body_ = {};
    failure_.clear();
}

inline answer_reader::event answer_reader::fail(std::string why) {
    state_ = state::failed;
    failure_ = std::move(why);
    return event::failed;
}

WRENN_DECL std::optional<std::string_view> answer_reader::header(std::string_view name) const {
    for (auto& [n, v] : fields_)
        if (detail_answer::iequals(n, name)) return v;
    return std::nullopt;
}

// head_ holds the status line, the header lines and the blank line.
inline answer_reader::event answer_reader::parse_head() {
    using namespace detail_answer;
    std::string_view h(head_);
    auto eol = h.find("\r\n");
    auto line = h.substr(0, eol);
    // HTTP/1.x SP 3DIGIT [SP reason]
    if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || line[7] < '0' || line[7] > '9' || line[8] != ' ' ||
        line[9] < '1' || line[9] > '9' || line[10] < '0' || line[10] > '9' || line[11] < '0' || line[11] > '9' ||
        (line.size() > 12 && line[12] != ' '))
        return fail("its status line is " + shown(line) + ", not 'HTTP/1.1 <3-digit status> <reason>'");
    for (char c : line.substr(12))
        if (!is_value_char(static_cast<unsigned char>(c)))
            return fail("its status line has a control character: " + shown(line));
    status_ = static_cast<unsigned>((line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0'));
    const bool http10 = line[7] == '0';

    fields_.clear();
    bool chunked = false, has_te = false, conn_close = false, conn_keep = false;
    std::optional<std::uint64_t> length;
    h.remove_prefix(eol + 2);
    // Each line in one pass: the name's characters up to the colon, then the
    // value's up to the CR of its CRLF (head_ ends with the blank line's).
    while (!(h[0] == '\r' && h[1] == '\n')) {
        const char* p = h.data();
        std::size_t i = 0;
        while (is_token_char(static_cast<unsigned char>(p[i]))) ++i;
        if (i == 0 || p[i] != ':') {  // the line is bad: say how
            line = h.substr(0, h.find("\r\n"));
            if (line.front() == ' ' || line.front() == '\t')
                return fail("it folds a header over two lines (obsolete, RFC 9112 §5.2): " + shown(line));
            auto colon = line.find(':');
            if (colon == std::string_view::npos || colon == 0)
                return fail("it has a header line without a name and a colon: " + shown(line));
            return fail("it has a header name that is not a token: " + shown(line.substr(0, colon)));
        }
        auto name = h.substr(0, i);
        ++i;
        while (p[i] == ' ' || p[i] == '\t') ++i;  // leading whitespace
        std::size_t j = i;
        while (is_value_char(static_cast<unsigned char>(p[j]))) ++j;
        if (p[j] != '\r' || p[j + 1] != '\n')
            return fail("its header " + std::string(name) + " has a control character in its value");
        std::size_t k = j;
        while (k > i && (p[k - 1] == ' ' || p[k - 1] == '\t')) --k;  // trailing whitespace
        const std::string_view value(p + i, k - i);
        h.remove_prefix(j + 2);
        // one comparison at most per header: by length first
        const std::size_t len = name.size();
        if (len == 14 && iequals(name, "content-length")) {
            // "n" or a list of equal "n, n" (a proxy's merge); two different lengths are an error
            bool bad = false;
            for (auto rest = value;;) {  // every element a number, none empty
                auto comma = rest.find(',');
                auto n = decimal(trim(rest.substr(0, comma)));
                if (!n || (length && *length != *n)) bad = true;
                else length = n;
                if (bad || comma == std::string_view::npos) break;
                rest.remove_prefix(comma + 1);
            }
            if (bad) return fail("its Content-Length is not one number: " + shown(value));
        } else if (len == 17 && iequals(name, "transfer-encoding")) {
            has_te = true;
            // chunked must be the last coding; any after it (or none) means: up to the end
            for_each_token(value, [&](std::string_view v) { chunked = iequals(v, "chunked"); });
        } else if (len == 10 && iequals(name, "connection")) {
            for_each_token(value, [&](std::string_view v) {
                if (iequals(v, "close")) conn_close = true;
                if (iequals(v, "keep-alive")) conn_keep = true;
            });
        }
        fields_.emplace_back(name, value);
    }
    keep_alive_ = !conn_close && (!http10 || conn_keep);
    head_done_ = true;

    // Interim answers (100 Continue, 103 Early Hints) come before the real one.
    if (status_ < 200 && status_ != 101) {
        head_done_ = false;
        head_.clear();
        fields_.clear();
        return event::need_more;
    }
    if (status_ == 101 || status_ == 204 || status_ == 304) {  // no body, whatever the headers say
        state_ = state::done;
        return event::head;
    }
    if (has_te) {
        if (length) keep_alive_ = false;  // both: Transfer-Encoding wins, and the connection is not reused
        if (chunked) {
            state_ = state::chunk_line;
        } else {
            state_ = state::eof_body;
            keep_alive_ = false;
        }
        return event::head;
    }
    if (length) {
        if (*length > limits_.body)
            return fail("its body of " + std::to_string(*length) + " bytes is over the limit of " +
                        std::to_string(limits_.body));
        content_length_ = length;
        left_ = *length;
        state_ = left_ == 0 ? state::done : state::length_body;
        return event::head;
    }
    state_ = state::eof_body;  // no length: the body runs to the end of the connection
    keep_alive_ = false;
    return event::head;
}

// line_ holds a chunk-size line without its CRLF: 1*HEXDIG [ chunk-ext ]
inline answer_reader::event answer_reader::on_chunk_line() {
    std::uint64_t n = 0;
    std::size_t i = 0;
    for (; i < line_.size(); ++i) {
        char c = line_[i];
        int d = c >= '0' && c <= '9' ? c - '0' : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10 : -1;
        if (d < 0) break;
        if (i >= 15) return fail("a chunk size has too many digits: " + detail_answer::shown(line_));
        n = n * 16 + static_cast<std::uint64_t>(d);
    }
    // after the digits: nothing, or extensions (";name=value", maybe after whitespace), which mean nothing to us
    auto rest = std::string_view(line_).substr(i);
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
    if (i == 0 || (!rest.empty() && rest.front() != ';'))
        return fail("a chunk size line is " + detail_answer::shown(line_) + ", not a hexadecimal size");
    line_.clear();
    if (n == 0) {
        state_ = state::trailers;
        return event::need_more;
    }
    if (n > limits_.body - body_seen_)
        return fail("its chunked body is over the limit of " + std::to_string(limits_.body) + " bytes");
    left_ = n;
    state_ = state::chunk_data;
    return event::need_more;
}

WRENN_DECL answer_reader::event answer_reader::read(const char* data, std::size_t size, std::size_t& used) {
    used = 0;
    body_ = {};
    if (size > 0) started_ = true;
    while (used < size || state_ == state::done || state_ == state::failed) {
        const char* p = data + used;
        const std::size_t n = size - used;
        switch (state_) {
        case state::failed: return event::failed;
        case state::done: return event::done;
        case state::head: {
            // Append, then look for the blank line among the new bytes (it may
            // start up to three bytes back); every LF must follow a CR.
            const std::size_t before = head_.size();
            // up to one byte past the limit, to tell "over it" from "at it"
            const std::size_t room = limits_.head - std::min(before, limits_.head);
            const std::size_t take = n <= room ? n : room + 1;
            head_.append(p, take);
            std::size_t end = 0;
            for (std::size_t i = before; i < head_.size();) {
                auto* lf = static_cast<const char*>(std::memchr(head_.data() + i, '\n', head_.size() - i));
                if (!lf) break;
                std::size_t at = static_cast<std::size_t>(lf - head_.data());
                if (at == 0 || head_[at - 1] != '\r')
                    return fail("a line of its head ends in a bare LF, not CRLF: " +
                                detail_answer::shown(std::string_view(head_).substr(0, at)));
                if (at >= 3 && head_[at - 2] == '\n') {
                    end = at + 1;
                    break;
                }
                i = at + 1;
            }
            if (end == 0) {
                if (head_.size() > limits_.head)
                    return fail("its head is larger than the limit of " + std::to_string(limits_.head) + " bytes");
                used += take;
                break;  // need more
            }
            used += end - before;
            head_.resize(end);
            if (end > limits_.head)
                return fail("its head is larger than the limit of " + std::to_string(limits_.head) + " bytes");
            auto e = parse_head();
            if (e != event::need_more) return e;
            break;  // an interim answer: the real one follows
        }
        case state::length_body:
        case state::chunk_data: {
            auto k = static_cast<std::size_t>(std::min<std::uint64_t>(left_, n));
            body_ = std::string_view(p, k);
            used += k;
            left_ -= k;
            body_seen_ += k;
            if (left_ == 0) state_ = state_ == state::length_body ? state::done : state::chunk_end;
            return event::body;
        }
        case state::eof_body: {
            if (n > limits_.body - body_seen_)
                return fail("its body is over the limit of " + std::to_string(limits_.body) + " bytes");
            body_ = std::string_view(p, n);
            used += n;
            body_seen_ += n;
            return event::body;
        }
        case state::chunk_end: {
            // "\r\n" after the chunk's data; left_ counts which of the two is next
            char want = left_ == 0 ? '\r' : '\n';
            if (*p != want) return fail("a chunk's data is not followed by CRLF");
            ++used;
            if (left_ == 0) {
                left_ = 1;
            } else {
                left_ = 0;
                state_ = state::chunk_line;
            }
            break;
        }
        case state::chunk_line:
        case state::trailers: {
            auto* lf = static_cast<const char*>(std::memchr(p, '\n', n));
            std::size_t k = lf ? static_cast<std::size_t>(lf - p) + 1 : n;
            line_.append(p, k);
            used += k;
            if (line_.size() > limits_.head)
                return fail(state_ == state::chunk_line ? "a chunk size line is longer than the head limit"
                                                        : "its trailers are larger than the head limit");
            if (!lf) break;
            if (line_.size() < 2 || line_[line_.size() - 2] != '\r')
                return fail("a line of its chunked body ends in a bare LF, not CRLF");
            line_.resize(line_.size() - 2);
            if (state_ == state::chunk_line) {
                auto e = on_chunk_line();
                if (e == event::failed) return e;
            } else if (line_.empty()) {  // the blank line after the trailers: the end
                state_ = state::done;
            } else {
                line_.clear();  // a trailer field: nothing here needs one
            }
            break;
        }
        }
    }
    return event::need_more;
}

WRENN_DECL answer_reader::event answer_reader::finish() {
    body_ = {};
    switch (state_) {
    case state::done: return event::done;
    case state::failed: return event::failed;
    case state::eof_body: state_ = state::done; return event::done;
    case state::head:
        return fail(started_ ? "the connection ended in the middle of its head"
                             : "the connection ended before an answer came");
    case state::length_body:
        return fail("the connection ended after " + std::to_string(body_seen_) + " of its " +
                    std::to_string(*content_length_) + " body bytes");
    default: return fail("the connection ended in the middle of its chunked body");
    }
}

} // namespace wrenn::protocol
