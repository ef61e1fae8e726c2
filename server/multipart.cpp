// wrenn-local: incremental multipart/form-data parsing (RFC 7578 / RFC 2046).
#include "multipart.hpp"

#include <algorithm>
#include <cctype>
#include <utility>

namespace wl {

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// "type/sub; key=value; key=\"quoted \\\" value\"" (keys lowercased).
struct media_type {
    std::string type;
    std::vector<std::pair<std::string, std::string>> params;

    const std::string* param(std::string_view key) const {
        for (auto& kv : params)
            if (kv.first == key) return &kv.second;
        return nullptr;
    }
};

media_type parse_media_type(std::string_view s) {
    media_type m;
    auto semi = s.find(';');
    m.type = lower(trim(s.substr(0, semi)));
    std::size_t i = semi == std::string_view::npos ? s.size() : semi + 1;
    while (i < s.size()) {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == ';')) ++i;
        std::size_t k = i;
        while (i < s.size() && s[i] != '=' && s[i] != ';') ++i;
        std::string key = lower(trim(s.substr(k, i - k)));
        std::string value;
        if (i < s.size() && s[i] == '=') {
            ++i;
            while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
            if (i < s.size() && s[i] == '"') {
                for (++i; i < s.size() && s[i] != '"'; ++i) {
                    if (s[i] == '\\' && i + 1 < s.size()) ++i;
                    value += s[i];
                }
                if (i < s.size()) ++i;  // closing quote
                while (i < s.size() && s[i] != ';') ++i;
            } else {
                std::size_t v = i;
                while (i < s.size() && s[i] != ';') ++i;
                value = std::string(trim(s.substr(v, i - v)));
            }
        }
        if (!key.empty() && !m.param(key)) m.params.emplace_back(std::move(key), std::move(value));
    }
    return m;
}

} // namespace

form_content_type parse_form_content_type(std::string_view header) {
    form_content_type out;
    auto m = parse_media_type(header);
    out.multipart = m.type == "multipart/form-data";
    if (auto* b = m.param("boundary"); b && !b->empty() && b->size() <= 70 &&  // RFC 2046: 1 to 70 characters
                                       b->find_first_of("\r\n") == std::string::npos)
        out.boundary = *b;
    return out;
}

// The leading CRLF lets a body that starts directly with "--boundary" match
// the delimiter "\r\n--boundary" like every later one does.
multipart_parser::multipart_parser(std::string_view boundary)
    : delim_("\r\n--" + std::string(boundary)), buf_("\r\n") {}

bool multipart_parser::fail() {
    state_ = state::failed;
    buf_.clear();
    pos_ = 0;
    return false;
}

multipart_parser::after multipart_parser::classify(std::size_t at, std::size_t& skip) const {
    const std::size_t n = buf_.size();
    if (at >= n) return after::need_more;
    if (buf_[at] == '-') {
        if (at + 1 >= n) return after::need_more;
        return buf_[at + 1] == '-' ? after::close : after::not_delimiter;
    }
    std::size_t i = at;
    while (i < n && (buf_[i] == ' ' || buf_[i] == '\t'))  // transport padding
        if (++i - at > 256) return after::not_delimiter;
    if (i >= n) return after::need_more;
    if (buf_[i] != '\r') return after::not_delimiter;
    if (i + 1 >= n) return after::need_more;
    if (buf_[i + 1] != '\n') return after::not_delimiter;
    skip = i + 2 - at;
    return after::part;
}

bool multipart_parser::feed(std::string_view in, std::vector<event>& out) {
    out.clear();
    if (state_ == state::failed) return false;
    if (state_ == state::done) {  // the epilogue is ignored
        buf_.clear();
        pos_ = 0;
        return true;
    }
    buf_.erase(0, pos_);
    pos_ = 0;
    buf_.append(in);

    auto emit_data = [&](std::size_t from, std::size_t to) {
        if (to > from) out.push_back({event::data, {}, {}, std::string_view(buf_).substr(from, to - from)});
    };

    for (;;) {
        switch (state_) {
        case state::preamble:
        case state::body: {
            const bool body = state_ == state::body;
            std::size_t from = pos_;
            for (;;) {
                std::size_t p = buf_.find(delim_, from);
                if (p == std::string::npos) {
                    // Everything but a possible beginning of the delimiter is content.
                    std::size_t keep = delim_.size() - 1;
                    std::size_t safe = buf_.size() > keep ? buf_.size() - keep : 0;
                    if (safe > pos_) {
                        if (body) emit_data(pos_, safe);
                        pos_ = safe;
                    }
                    return true;
                }
                std::size_t skip = 0;
                auto a = classify(p + delim_.size(), skip);
                if (a == after::not_delimiter) {
                    from = p + 1;
                    continue;
                }
                if (body) emit_data(pos_, p);
                if (a == after::need_more) {
                    pos_ = p;
                    return true;
                }
                if (body) out.push_back({event::part_end, {}, {}, {}});
                if (a == after::close) {
                    out.push_back({event::done, {}, {}, {}});
                    state_ = state::done;
                    pos_ = buf_.size();
                    return true;
                }
                pos_ = p + delim_.size() + skip;
                state_ = state::headers;
                break;
            }
            break;
        }
        case state::headers: {
            if (buf_.size() - pos_ < 2) return true;
            event ev{event::part_begin, {}, {}, {}};
            std::size_t end;
            if (buf_.compare(pos_, 2, "\r\n") == 0) {
                end = pos_;  // no header lines at all
            } else {
                end = buf_.find("\r\n\r\n", pos_);
                if (end == std::string::npos) {
                    // + 3: a terminator split across feeds ("\r\n\r" so far) is not yet header
                    if (buf_.size() - pos_ > max_header_bytes + 3) return fail();
                    return true;
                }
                if (end - pos_ > max_header_bytes) return fail();
                end += 2;  // keep the CRLF of the last header line
            }
            // Header lines "Name: value", with obsolete folding (continuation
            // lines starting with a space or tab) folded into the previous one.
            std::string_view block = std::string_view(buf_).substr(pos_, end - pos_);
            std::vector<std::pair<std::string, std::string>> headers;
            while (!block.empty()) {
                auto eol = block.find("\r\n");
                std::string_view line = block.substr(0, eol);
                block.remove_prefix(eol + 2);
                if (line.empty()) return fail();
                if (line.front() == ' ' || line.front() == '\t') {
                    if (headers.empty()) return fail();
                    headers.back().second += " ";
                    headers.back().second += trim(line);
                    continue;
                }
                auto colon = line.find(':');
                if (colon == std::string_view::npos || colon == 0) return fail();
                auto name = line.substr(0, colon);
                if (name.find_first_of(" \t") != std::string_view::npos) return fail();
                headers.emplace_back(lower(name), std::string(trim(line.substr(colon + 1))));
            }
            for (auto& h : headers)
                if (h.first == "content-disposition") {
                    auto m = parse_media_type(h.second);
                    if (auto* v = m.param("name")) ev.name = *v;
                    if (auto* v = m.param("filename")) ev.filename = *v;
                    break;
                }
            out.push_back(std::move(ev));
            pos_ = end + 2;
            state_ = state::body;
            break;
        }
        case state::done:
            pos_ = buf_.size();
            return true;
        case state::failed:
            return false;
        }
    }
}

} // namespace wl
