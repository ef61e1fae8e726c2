#pragma once

// Capsule answers (GET /v1/capsules/{id} and the list) decoded straight from
// the bytes by Boost.JSON's SAX parser, with no DOM in between. These are the
// answers an orchestrator polls most, and building, then searching, a DOM
// for them was a third of a small request's cost (bench/NOTES.md). The
// result equals json::value_to<capsule_info> of the parsed DOM (a unit test
// compares the two on many inputs): a missing key or a value of the wrong
// type reads as absent, and the last of duplicate keys decides.

#include <wrenn/impl/json_read.hpp>
#include <wrenn/models.hpp>

#include <boost/json/array.hpp>
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wrenn::protocol::detail {

class capsule_handler {
public:
    // the DOM's limits, so that the same answers are refused
    static constexpr std::size_t max_object_size = boost::json::object::max_size();
    static constexpr std::size_t max_array_size = boost::json::array::max_size();
    static constexpr std::size_t max_key_size = boost::json::string::max_size();
    static constexpr std::size_t max_string_size = boost::json::string::max_size();

    // Decodes one capsule into *one, or (one null) a list of them into *list.
    // The caller's storage: nothing is moved out afterwards.
    capsule_handler(capsule_info* one, std::vector<capsule_info>* list)
        : one_(one), list_out_(list), cap_depth_(one ? 1 : 2) {}

    bool wrong_shape = false;  // the document is not an object (one) or an array (list)
    bool found = false;        // one: the document's object was seen

    using ec_t = boost::json::error_code;
    using sv = boost::json::string_view;

    bool on_document_begin(ec_t&) { return true; }
    bool on_document_end(ec_t&) { return true; }

    bool on_object_begin(ec_t&) {
        if (depth_ == cap_depth_ - 1 && (depth_ == 1 || !list())) {  // a capsule
            begin_capsule();
        } else if (depth_ == 0) {
            wrong_shape = true;  // an object where the list's array should be
        } else if (in_capsule()) {
            if (field_ == field::metadata) {
                cur().metadata.clear();
                in_meta_ = true;
            } else {
                wrong_type();
            }
        } else if (in_meta_value()) {
            cur().metadata.erase(meta_key_);  // not a string
        }
        ++depth_;
        return true;
    }
    bool on_object_end(std::size_t, ec_t&) {
        --depth_;
        if (depth_ == cap_depth_ - 1 && capsule_open_) end_capsule();
        else if (depth_ == cap_depth_ && in_meta_) in_meta_ = false;
        return true;
    }
    bool on_array_begin(ec_t&) {
        if (depth_ == 0) {
            if (!list()) wrong_shape = true;
        } else {
            other_value();
        }
        ++depth_;
        return true;
    }
    bool on_array_end(std::size_t, ec_t&) {
        --depth_;
        return true;
    }

    bool on_key_part(sv s, std::size_t, ec_t&) {
        if (in_capsule() || in_meta_value()) key_.append(s.data(), s.size());
        return true;
    }
    bool on_key(sv s, std::size_t, ec_t&) {
        std::string_view k(s.data(), s.size());
        if (!key_.empty()) k = key_.append(k);  // it came in parts
        if (in_meta_value()) meta_key_ = k;
        else if (in_capsule()) field_ = field_of(k);
        key_.clear();
        return true;
    }

    bool on_string_part(sv s, std::size_t, ec_t&) {
        if (wants_string()) str_.append(s.data(), s.size());
        return true;
    }
    bool on_string(sv s, std::size_t, ec_t&) {
        if (!wants_string()) {
            other_value();
            return true;
        }
        // a string in one piece (the usual case) is not copied twice
        std::string_view v(s.data(), s.size());
        if (!str_.empty()) v = str_.append(v);
        if (in_meta_value()) {
            cur().metadata[meta_key_] = v;
        } else {
            auto& c = cur();
            switch (field_) {
            case field::id: c.id = v; break;
            case field::status: status_ = v; break;
            case field::template_name: c.template_name = v; break;
            case field::created_at: c.created_at = v; break;
            case field::last_updated: c.last_updated = v; break;
            case field::guest_ip: c.guest_ip = std::string(v); break;
            case field::host_ip: c.host_ip = std::string(v); break;
            case field::started_at: c.started_at = std::string(v); break;
            case field::last_active_at: c.last_active_at = std::string(v); break;
            default: wrong_type(); break;
            }
        }
        str_.clear();
        return true;
    }

    bool on_number_part(sv, ec_t&) { return true; }
    bool on_int64(std::int64_t i, sv, ec_t&) { return number(i); }
    bool on_uint64(std::uint64_t u, sv, ec_t&) { return number(wrenn::detail::js::int64_of(u)); }
    bool on_double(double d, sv, ec_t&) { return number(wrenn::detail::js::int64_of(d)); }
    bool on_bool(bool, ec_t&) {
        other_value();
        return true;
    }
    bool on_null(ec_t&) {
        other_value();
        return true;
    }
    bool on_comment_part(sv, ec_t&) { return true; }
    bool on_comment(sv, ec_t&) { return true; }

private:
    enum class field : unsigned char {
        none, id, status, template_name, vcpus, memory_mb, timeout_sec, guest_ip, host_ip,
        created_at, started_at, last_active_at, last_updated, metadata, disk_size_mb, disk_used_mb,
    };

    // k == lit, compiled to a few integer compares (lit's length is known)
    template <std::size_t N>
    static bool is(std::string_view k, const char (&lit)[N]) {
        return k.size() == N - 1 && std::memcmp(k.data(), lit, N - 1) == 0;
    }

    static field field_of(std::string_view k) {
        switch (k.size()) {
        case 2: return is(k, "id") ? field::id : field::none;
        case 5: return is(k, "vcpus") ? field::vcpus : field::none;
        case 6: return is(k, "status") ? field::status : field::none;
        case 7: return is(k, "host_ip") ? field::host_ip : field::none;
        case 8:
            return is(k, "template") ? field::template_name
                   : is(k, "guest_ip") ? field::guest_ip
                   : is(k, "metadata") ? field::metadata
                                       : field::none;
        case 9: return is(k, "memory_mb") ? field::memory_mb : field::none;
        case 10: return is(k, "created_at") ? field::created_at : is(k, "started_at") ? field::started_at : field::none;
        case 11: return is(k, "timeout_sec") ? field::timeout_sec : field::none;
        case 12:
            return is(k, "last_updated") ? field::last_updated
                   : is(k, "disk_size_mb") ? field::disk_size_mb
                   : is(k, "disk_used_mb") ? field::disk_used_mb
                                           : field::none;
        case 14: return is(k, "last_active_at") ? field::last_active_at : field::none;
        default: return field::none;
        }
    }

    bool list() const { return !one_; }
    capsule_info& cur() { return one_ ? *one_ : list_out_->back(); }
    // a value of the capsule object itself is next
    bool in_capsule() const { return capsule_open_ && depth_ == cap_depth_; }
    // a value (or key) of its metadata object is next
    bool in_meta_value() const { return in_meta_ && depth_ == cap_depth_ + 1; }
    bool wants_string() const { return (in_capsule() && field_ != field::none) || in_meta_value(); }

    void begin_capsule() {
        if (list()) list_out_->emplace_back();
        found = true;
        capsule_open_ = true;
        in_meta_ = false;
        field_ = field::none;
        status_.clear();
    }
    void end_capsule() {
        cur().status = capsule_status(status_);
        capsule_open_ = false;
    }

    // A value that is neither the expected string nor number: the field reads as absent.
    void wrong_type() {
        auto& c = cur();
        switch (field_) {
        case field::id: c.id.clear(); break;
        case field::status: status_.clear(); break;
        case field::template_name: c.template_name.clear(); break;
        case field::created_at: c.created_at.clear(); break;
        case field::last_updated: c.last_updated.clear(); break;
        case field::guest_ip: c.guest_ip.reset(); break;
        case field::host_ip: c.host_ip.reset(); break;
        case field::started_at: c.started_at.reset(); break;
        case field::last_active_at: c.last_active_at.reset(); break;
        case field::vcpus: c.vcpus = 0; break;
        case field::memory_mb: c.memory_mb = 0; break;
        case field::timeout_sec: c.timeout_sec = 0; break;
        case field::disk_size_mb: c.disk_size_mb.reset(); break;
        case field::disk_used_mb: c.disk_used_mb.reset(); break;
        case field::metadata: c.metadata.clear(); break;
        case field::none: break;
        }
    }

    // A scalar, array or string where it was not wanted.
    void other_value() {
        if (depth_ == 0) {
            wrong_shape = true;
        } else if (list() && depth_ == 1) {
            list_out_->emplace_back();  // an element that is not an object: a capsule with nothing set
        } else if (in_capsule()) {
            wrong_type();
        } else if (in_meta_value()) {
            cur().metadata.erase(meta_key_);
        }
    }

    // A number, as js::as_int64 reads it.
    bool number(std::optional<std::int64_t> n) {
        if (!in_capsule()) {
            other_value();
            return true;
        }
        auto& c = cur();
        auto as_i32 = [&] { return n && *n >= INT32_MIN && *n <= INT32_MAX ? static_cast<int>(*n) : 0; };
        switch (field_) {
        case field::vcpus: c.vcpus = as_i32(); break;
        case field::memory_mb: c.memory_mb = as_i32(); break;
        case field::timeout_sec: c.timeout_sec = as_i32(); break;
        case field::disk_size_mb: c.disk_size_mb = n; break;
        case field::disk_used_mb: c.disk_used_mb = n; break;
        default: wrong_type(); break;
        }
        return true;
    }

    capsule_info* const one_;
    std::vector<capsule_info>* const list_out_;
    const std::size_t cap_depth_;  // the depth of a capsule's members
    std::size_t depth_ = 0;
    bool capsule_open_ = false, in_meta_ = false;
    field field_ = field::none;
    std::string key_, meta_key_, str_, status_;
};

// Whether every byte is ASCII, eight at a time.
inline bool all_ascii(std::string_view s) {
    std::size_t i = 0;
    std::uint64_t any = 0;
    for (; i + 8 <= s.size(); i += 8) {
        std::uint64_t w;
        std::memcpy(&w, s.data() + i, 8);
        any |= w;
    }
    for (; i < s.size(); ++i) any |= static_cast<unsigned char>(s[i]);
    return (any & 0x8080808080808080ull) == 0;
}

// The capsule in `body` into *one, or (one null) the list's into *list; `ec`
// set when it is not JSON. Returns the handler's verdict on the shape.
struct capsules_shape {
    bool wrong_shape, found;
};
inline capsules_shape parse_capsules(std::string_view body, capsule_info* one, std::vector<capsule_info>* list,
                                     boost::json::error_code& ec) {
    // ASCII is valid UTF-8: the parser's own check of every string (an eighth
    // of the decode) is only needed when some byte is not
    boost::json::parse_options opt;
    opt.allow_invalid_utf8 = all_ascii(body);
    boost::json::basic_parser<capsule_handler> p(opt, one, list);
    auto n = p.write_some(false, body.data(), body.size(), ec);
    if (!ec && n < body.size()) ec = boost::json::error::extra_data;
    return {p.handler().wrong_shape, p.handler().found};
}

} // namespace wrenn::protocol::detail
