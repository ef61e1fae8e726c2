// Lenient JSON readers shared by the model conversions and the answer
// decoders: a missing key or a value of the wrong type reads as "absent".
#pragma once

#include <map>

#include <boost/json/value.hpp>
#include <boost/json/value_to.hpp>

#include <cmath>
#include <climits>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wrenn {
namespace json = boost::json;

namespace detail::js {

// Lenient readers: a missing key or a value of the wrong type reads as "absent".
inline const json::value* find(const json::value& v, std::string_view key) {
    auto* o = v.if_object();
    if (!o) return nullptr;
    auto it = o->find(key);
    return it == o->end() ? nullptr : &it->value();
}

inline std::optional<std::string> opt_str(const json::value& v, std::string_view key) {
    auto* f = find(v, key);
    if (f && f->is_string()) return std::string(f->get_string());
    return std::nullopt;
}

inline std::string str(const json::value& v, std::string_view key) {
    auto* f = find(v, key);  // not through opt_str: no optional to copy out of, per field
    return f && f->is_string() ? std::string(f->get_string()) : std::string();
}

// A JSON number as int64; nullopt when not a number or out of range (never wrapped).
// A JSON number as an int64: unsigned ones above INT64_MAX and doubles out
// of range have none; doubles are truncated.
inline std::optional<std::int64_t> int64_of(std::uint64_t u) {
    if (u > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<std::int64_t>(u);
}
inline std::optional<std::int64_t> int64_of(double d) {
    // [-2^63, 2^63): the range a cast to int64 is defined for
    if (!std::isfinite(d) || d < -9223372036854775808.0 || d >= 9223372036854775808.0) return std::nullopt;
    return static_cast<std::int64_t>(d);
}

inline std::optional<std::int64_t> as_int64(const json::value& f) {
    if (f.is_int64()) return f.get_int64();
    if (f.is_uint64()) return int64_of(f.get_uint64());
    if (f.is_double()) return int64_of(f.get_double());
    return std::nullopt;
}

inline std::optional<std::int64_t> opt_int(const json::value& v, std::string_view key) {
    auto* f = find(v, key);
    return f ? as_int64(*f) : std::nullopt;
}

inline std::int64_t i64(const json::value& v, std::string_view key, std::int64_t def = 0) {
    return opt_int(v, key).value_or(def);
}

inline int i32(const json::value& v, std::string_view key, int def = 0) {
    auto x = opt_int(v, key);
    if (!x || *x < INT32_MIN || *x > INT32_MAX) return def;
    return static_cast<int>(*x);
}

inline double num(const json::value& v, std::string_view key) {
    auto* f = find(v, key);
    if (!f) return 0;
    if (f->is_double()) return f->get_double();
    if (f->is_int64()) return static_cast<double>(f->get_int64());
    if (f->is_uint64()) return static_cast<double>(f->get_uint64());
    return 0;
}

inline bool boolean(const json::value& v, std::string_view key) {
    auto* f = find(v, key);
    return f && f->is_bool() && f->get_bool();
}

inline std::map<std::string, std::string> str_map(const json::value& v, std::string_view key) {
    std::map<std::string, std::string> out;
    auto* f = find(v, key);
    if (f && f->is_object())
        for (auto& kv : f->get_object())
            if (kv.value().is_string()) out.emplace(std::string(kv.key()), std::string(kv.value().get_string()));
    return out;
}

inline std::optional<std::vector<std::string>> opt_str_list(const json::value& v, std::string_view key) {
    auto* f = find(v, key);
    if (!f || !f->is_array()) return std::nullopt;
    std::vector<std::string> out;
    for (auto& e : f->get_array())
        if (e.is_string()) out.emplace_back(e.get_string());
    return out;
}

template <class T>
std::vector<T> list_of(const json::value& v, std::string_view key) {
    std::vector<T> out;
    auto* f = find(v, key);
    if (f && f->is_array())
        for (auto& e : f->get_array()) out.push_back(json::value_to<T>(e));
    return out;
}

inline std::vector<std::int64_t> int_list(const json::value& v, std::string_view key) {
    std::vector<std::int64_t> out;
    auto* f = find(v, key);
    if (f && f->is_array())
        for (auto& e : f->get_array())
            if (auto x = as_int64(e)) out.push_back(*x);
    return out;
}

inline json::object map_to_object(const std::map<std::string, std::string>& m) {
    json::object o;
    for (auto& [k, val] : m) o[k] = val;
    return o;
}

} // namespace detail::js

} // namespace wrenn
