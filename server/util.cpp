// wrenn-local: small helpers (ids, time, JSON answers, strict body decoding).
#include "common.hpp"
#include "api_errors.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <stdexcept>

#include <sys/random.h>
#include <unistd.h>

namespace wl {

void log(const char* fmt, ...) {
    char buf[64];
    auto t = sys_clock::to_time_t(sys_clock::now());
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
    std::fprintf(stderr, "wrenn-local %s ", buf);
    va_list ap;
    va_start(ap, fmt);
    std::vfprintf(stderr, fmt, ap);
    va_end(ap);
    std::fputc('\n', stderr);
}

namespace {
// Go prints integral floats without an exponent (0, 12); Boost.JSON writes 0E0.
void integralise(json::value& v) {
    if (v.is_double()) {
        double d = v.get_double();
        if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15) v = static_cast<std::int64_t>(d);
    } else if (v.is_array()) {
        for (auto& e : v.get_array()) integralise(e);
    } else if (v.is_object()) {
        for (auto& kv : v.get_object()) integralise(kv.value());
    }
}
} // namespace

std::string json_text(const json::value& in) {
    json::value v = in;
    integralise(v);
    std::string raw = json::serialize(v);
    std::string out;
    out.reserve(raw.size() + 1);
    // '<', '>' and '&' can only occur inside strings in JSON text.
    for (char ch : raw) {
        if (ch == '<') out += "\\u003c";
        else if (ch == '>') out += "\\u003e";
        else if (ch == '&') out += "\\u0026";
        else out += ch;
    }
    out += '\n';
    return out;
}

answer json_answer(unsigned status, const json::value& v) {
    answer a;
    a.status = status;
    a.body = json_text(v);
    return a;
}

answer error_answer(unsigned status, std::string_view code, std::string_view message) {
    if (api_04()) {
        // the old codes that 0.4.0 renamed (WIRE-0.4 §1.6.2); the rest are the same
        if (code == "invalid_state" || code == "name_reserved" || code == "template_name_taken") code = "conflict";
        else if (code == "too_large") code = "payload_too_large";
        else if (code == "unauthorized") code = "auth_invalid_api_key";
        else if (code == "agent_error") {
            code = "internal_error";
            status = 500;
        }
        return error_04(status, code, message);
    }
    json::object err{{"code", code}, {"message", utf8_replace_invalid(message)}};
    return json_answer(status, json::object{{"error", std::move(err)}});
}

file_body::~file_body() {
    if (fd >= 0) ::close(fd);
}

answer empty_answer(unsigned status) {
    answer a;
    a.status = status;
    a.content_type.clear();
    return a;
}

std::string random_bytes(std::size_t n) {
    std::string out(n, '\0');
    std::size_t got = 0;
    while (got < n) {
        auto r = getrandom(out.data() + got, n - got, 0);
        if (r < 0) throw std::runtime_error("getrandom failed");
        got += static_cast<std::size_t>(r);
    }
    return out;
}

std::string random_hex(std::size_t nbytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string raw = random_bytes(nbytes), out;
    for (unsigned char ch : raw) {
        out += digits[ch >> 4];
        out += digits[ch & 15];
    }
    return out;
}

std::string new_capsule_id() {
    std::string raw = random_bytes(16);
    unsigned __int128 v = 0;
    for (unsigned char ch : raw) v = (v << 8) | ch;
    std::string digits(25, '0');
    for (int i = 24; i >= 0 && v != 0; --i) {
        auto d = static_cast<unsigned>(v % 36);
        digits[static_cast<std::size_t>(i)] = static_cast<char>(d < 10 ? '0' + d : 'a' + (d - 10));
        v /= 36;
    }
    return "cl-" + digits;
}

bool valid_capsule_id(std::string_view s) {
    if (s.size() != 28 || s.substr(0, 3) != "cl-") return false;
    unsigned __int128 v = 0;
    const unsigned __int128 max = ~static_cast<unsigned __int128>(0);
    for (char ch : s.substr(3)) {
        unsigned d;
        if (ch >= '0' && ch <= '9') d = static_cast<unsigned>(ch - '0');
        else if (ch >= 'a' && ch <= 'z') d = static_cast<unsigned>(ch - 'a') + 10;
        else return false;
        if (v > (max - d) / 36) return false;  // does not fit 128 bits
        v = v * 36 + d;
    }
    return true;
}

bool valid_name(std::string_view s) {
    if (s.empty() || s.size() > 64) return false;
    auto alnum = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    };
    if (!alnum(s[0])) return false;
    for (char c : s.substr(1))
        if (!alnum(c) && c != '.' && c != '_' && c != '-') return false;
    return true;
}

bool valid_utf8(std::string_view s) {
    std::size_t i = 0, n = s.size();
    while (i < n) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) { ++i; continue; }
        std::size_t len;
        std::uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; }
        else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; }
        else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; }
        else return false;
        if (i + len > n) return false;
        for (std::size_t k = 1; k < len; ++k) {
            auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (cc & 0x3F);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

// Length of the valid UTF-8 sequence at s[i], 0 if none (Go's utf8.DecodeRune
// rules: no overlongs, no surrogates, nothing above U+10FFFF).
static std::size_t utf8_seq(std::string_view s, std::size_t i) {
    auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const std::size_t n = s.size();
    unsigned char c = b(i);
    if (c < 0x80) return 1;
    std::size_t len;
    unsigned char lo = 0x80, hi = 0xBF;  // bounds of the second byte
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else return 0;
    if (i + len > n) return 0;
    if (b(i + 1) < lo || b(i + 1) > hi) return 0;
    for (std::size_t k = 2; k < len; ++k)
        if ((b(i + k) & 0xC0) != 0x80) return 0;
    return len;
}

std::string utf8_replace_invalid(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        auto len = utf8_seq(s, i);
        if (len == 0) {
            out += "\xEF\xBF\xBD";
            ++i;
        } else {
            out.append(s.data() + i, len);
            i += len;
        }
    }
    return out;
}

bool same_secret(std::string_view given, std::string_view secret) {
    // Every byte of the secret is looked at whatever `given` is (no early
    // exit at the first difference, nor on a length mismatch).
    volatile unsigned char d = given.size() == secret.size() ? 0 : 1;
    for (std::size_t i = 0; i < secret.size(); ++i) {
        unsigned char g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
        d = static_cast<unsigned char>(d | (g ^ static_cast<unsigned char>(secret[i])));
    }
    return d == 0;
}

namespace {
std::string utc_format(sys_clock::time_point t, const char* format) {
    auto tt = sys_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, format, &tm);
    return buf;
}
} // namespace

std::string rfc3339(sys_clock::time_point t) { return utc_format(t, "%Y-%m-%dT%H:%M:%SZ"); }

std::string iso_date(sys_clock::time_point t) { return utc_format(t, "%Y-%m-%d"); }

std::optional<sys_clock::time_point> parse_date(std::string_view s) {
    if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
    for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
        if (s[i] < '0' || s[i] > '9') return std::nullopt;
    auto num = [&](std::size_t pos, std::size_t len) {
        int v = 0;
        for (std::size_t i = pos; i < pos + len; ++i) v = v * 10 + (s[i] - '0');
        return v;
    };
    // A system_clock time point (nanoseconds on libstdc++) holds the years
    // 1678-2261 only: anything outside a sane range is refused, not overflowed
    // (found by fuzz_server_request: "?to=1013-02-01" overflowed).
    const int year = num(0, 4);
    if (year < min_date_year || year > max_date_year) return std::nullopt;
    std::tm tm{};
    tm.tm_year = year - 1900;
    tm.tm_mon = num(5, 2) - 1;
    tm.tm_mday = num(8, 2);
    if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31) return std::nullopt;
    std::tm check = tm;
    auto tt = timegm(&tm);
    if (tm.tm_mday != check.tm_mday || tm.tm_mon != check.tm_mon) return std::nullopt;
    return sys_clock::from_time_t(tt);
}

static bool is_int32(const json::value& v) {
    if (v.is_int64()) return v.get_int64() >= INT32_MIN && v.get_int64() <= INT32_MAX;
    if (v.is_uint64()) return v.get_uint64() <= INT32_MAX;
    return false;
}

std::optional<json::object> parse_object_body(std::string_view body,
                                              std::initializer_list<std::pair<std::string_view, jtype>> fields) {
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec || !v.is_object()) return std::nullopt;
    auto& o = v.get_object();
    for (auto& [name, type] : fields) {
        auto it = o.find(name);
        if (it == o.end() || it->value().is_null()) continue;
        const json::value& f = it->value();
        bool ok = false;
        switch (type) {
        case jtype::string: ok = f.is_string(); break;
        case jtype::int32: ok = is_int32(f); break;
        case jtype::uint32:
            ok = (f.is_int64() && f.get_int64() >= 0 && f.get_int64() <= UINT32_MAX) ||
                 (f.is_uint64() && f.get_uint64() <= UINT32_MAX);
            break;
        case jtype::boolean: ok = f.is_bool(); break;
        case jtype::string_array:
            ok = f.is_array();
            if (ok)
                for (auto& e : f.get_array()) ok = ok && (e.is_string() || e.is_null());
            break;
        case jtype::string_map:
            ok = f.is_object();
            if (ok)
                for (auto& kv : f.get_object()) ok = ok && (kv.value().is_string() || kv.value().is_null());
            break;
        }
        if (!ok) return std::nullopt;
    }
    return std::move(o);
}

} // namespace wl
