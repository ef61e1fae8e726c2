#pragma once

// models.hpp before json_read.hpp: header-only, json_read.hpp -> models.hpp ->
// models.ipp needs the readers json_read.hpp has not yet declared.
#include <wrenn/models.hpp>
#include <wrenn/impl/json_read.hpp>
#include <wrenn/error.hpp>
#include <wrenn/protocol/jupyter.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <random>

namespace wrenn::protocol::jupyter {

namespace json = boost::json;

namespace detail {

inline std::string excerpt(std::string_view text) { return std::string(text.substr(0, 120)); }

inline int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// The code unit of a \uXXXX escape starting at text[i] (the backslash), or -1.
inline long utf16_escape_at(std::string_view text, std::size_t i) {
    if (i + 6 > text.size() || text[i] != '\\' || text[i + 1] != 'u') return -1;
    long v = 0;
    for (std::size_t k = i + 2; k < i + 6; ++k) {
        int h = hex_value(text[k]);
        if (h < 0) return -1;
        v = v * 16 + h;
    }
    return v;
}

// Python's json.dumps writes a lone surrogate as a \uD8xx escape, which
// Boost.JSON refuses; such escapes become U+FFFD (\ufffd). Pairs are kept.
inline std::string replace_lone_surrogates(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        if (text[i] != '\\' || i + 1 >= text.size()) {
            out += text[i++];
            continue;
        }
        long u = utf16_escape_at(text, i);
        if (u >= 0xD800 && u <= 0xDBFF) {
            long low = utf16_escape_at(text, i + 6);
            if (low >= 0xDC00 && low <= 0xDFFF) {
                out.append(text.substr(i, 12));
                i += 12;
            } else {
                out += "\\ufffd";
                i += 6;
            }
        } else if (u >= 0xDC00 && u <= 0xDFFF) {
            out += "\\ufffd";
            i += 6;
        } else {
            out.append(text.substr(i, 2));  // any other escape, including "\\"
            i += 2;
        }
    }
    return out;
}

// Parses JSON leniently (deep documents, invalid UTF-8 bytes and lone UTF-16
// surrogate escapes are accepted); nullopt when the text is not JSON.
inline std::optional<json::value> parse_json(std::string_view text) {
    json::parse_options opt;
    opt.max_depth = 1024;
    opt.allow_invalid_utf8 = true;
    json::error_code ec;
    auto v = json::parse(text, ec, {}, opt);
    if (!ec) return v;
    if (text.find("\\u") == std::string_view::npos) return std::nullopt;
    ec = {};
    v = json::parse(replace_lone_surrogates(text), ec, {}, opt);
    if (ec) return std::nullopt;
    return v;
}

// A JSON integer (or an integral double) that fits an int; nullopt otherwise
// (null, as Jupyter sends for silent executions, included).
inline std::optional<int> opt_count(const json::value& v, std::string_view key) {
    auto* f = wrenn::detail::js::find(v, key);
    if (!f) return std::nullopt;
    if (f->is_double()) {
        double d = f->get_double();
        if (!(d >= INT_MIN && d <= INT_MAX) || static_cast<double>(static_cast<int>(d)) != d) return std::nullopt;
        return static_cast<int>(d);
    }
    auto i = wrenn::detail::js::as_int64(*f);
    if (!i || *i < INT_MIN || *i > INT_MAX) return std::nullopt;
    return static_cast<int>(*i);
}

// A string, or a list of strings joined (nbformat's multi-line form).
inline std::optional<std::string> text_of(const json::value& v) {
    if (v.is_string()) return std::string(v.get_string());
    if (!v.is_array()) return std::nullopt;
    std::string out;
    for (auto& e : v.get_array()) {
        if (!e.is_string()) return std::nullopt;
        out += e.get_string();
    }
    return out;
}

// v[key] when it is an object, else an empty object.
inline const json::value& object_field(const json::value& v, std::string_view key) {
    static const json::value empty = json::object();
    auto* f = wrenn::detail::js::find(v, key);
    return f && f->is_object() ? *f : empty;
}

} // namespace detail

WRENN_DECL std::string format_uuid4(const std::array<std::uint8_t, 16>& random_bytes) {
    auto b = random_bytes;
    b[6] = static_cast<std::uint8_t>((b[6] & 0x0F) | 0x40);  // version 4
    b[8] = static_cast<std::uint8_t>((b[8] & 0x3F) | 0x80);  // variant 10xx (RFC 4122)
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(36);
    for (std::size_t i = 0; i < b.size(); ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
        out += digits[b[i] >> 4];
        out += digits[b[i] & 0x0F];
    }
    return out;
}

WRENN_DECL std::string random_uuid4() {
    std::random_device rd;
    std::array<std::uint8_t, 16> bytes{};
    for (std::size_t i = 0; i < bytes.size(); i += 4) {
        auto x = static_cast<std::uint32_t>(rd());
        for (std::size_t k = 0; k < 4; ++k) bytes[i + k] = static_cast<std::uint8_t>(x >> (8 * k));
    }
    return format_uuid4(bytes);
}

WRENN_DECL std::optional<std::string> find_kernel(std::string_view kernels_json, std::string_view name) {
    auto v = detail::parse_json(kernels_json);
    if (!v || !v->is_array())
        throw protocol_error("unexpected_answer", "Jupyter's answer to list kernels is not a JSON array: '" +
                                                      detail::excerpt(kernels_json) + "'");
    for (auto& k : v->get_array()) {
        auto n = wrenn::detail::js::opt_str(k, "name");
        auto id = wrenn::detail::js::opt_str(k, "id");
        if (n && *n == name && id && !id->empty()) return id;
    }
    return std::nullopt;
}

WRENN_DECL std::optional<std::vector<std::string>> kernelspec_names(std::string_view kernelspecs_json) {
    auto v = detail::parse_json(kernelspecs_json);
    const json::value* specs = v && v->is_object() ? v->get_object().if_contains("kernelspecs") : nullptr;
    if (!specs || !specs->is_object()) return std::nullopt;
    std::vector<std::string> names;
    for (auto& kv : specs->get_object()) names.emplace_back(kv.key());
    std::sort(names.begin(), names.end());
    return names;
}

WRENN_DECL std::optional<std::string> kernel_state(std::string_view kernel_model_json) {
    auto v = detail::parse_json(kernel_model_json);
    if (!v || !v->is_object()) return std::nullopt;
    return wrenn::detail::js::opt_str(*v, "execution_state");
}

WRENN_DECL std::string create_kernel_body(std::string_view name) {
    return json::serialize(json::object{{"name", name}});
}

WRENN_DECL std::string parse_kernel_id(std::string_view kernel_model_json) {
    auto v = detail::parse_json(kernel_model_json);
    auto id = v ? wrenn::detail::js::opt_str(*v, "id") : std::nullopt;
    if (!id || id->empty())
        throw protocol_error("unexpected_answer", "Jupyter's answer to start a kernel has no kernel id: '" +
                                                      detail::excerpt(kernel_model_json) + "'");
    return *id;
}

WRENN_DECL std::string execute_request(std::string_view code, std::string_view msg_id, std::string_view session,
                                       std::chrono::system_clock::time_point now) {
    using namespace std::chrono;
    auto secs = floor<seconds>(now);
    auto day = floor<days>(secs);
    year_month_day ymd{day};
    hh_mm_ss hms{secs - day};
    char date[64];
    std::snprintf(date, sizeof date, "%04d-%02u-%02uT%02d:%02d:%02d.000Z", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                  static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                  static_cast<int>(hms.seconds().count()));
    json::object header{{"msg_id", msg_id},   {"msg_type", "execute_request"}, {"username", "wrenn-sdk"},
                        {"session", session}, {"date", date},                  {"version", "5.3"}};
    json::object content{{"code", code},
                         {"silent", false},
                         {"store_history", true},
                         {"user_expressions", json::object{}},
                         {"allow_stdin", false},
                         {"stop_on_error", true}};
    json::object msg{{"header", std::move(header)}, {"parent_header", json::object{}}, {"metadata", json::object{}},
                     {"content", std::move(content)}, {"buffers", json::array{}}, {"channel", "shell"}};
    return json::serialize(msg);
}

WRENN_DECL wrenn::result make_result(const boost::json::object& mime_bundle, bool is_main_result) {
    wrenn::result r;
    r.is_main_result = is_main_result;
    for (auto& kv : mime_bundle) {
        std::string_view mime = kv.key();
        const json::value& v = kv.value();
        if (mime == "application/json") {
            r.json = v;
            continue;
        }
        if (mime == "application/vnd.plotly.v1+json") {
            r.plotly = v;
            continue;
        }
        std::optional<std::string>* field = nullptr;
        if (mime == "text/plain") field = &r.text;
        else if (mime == "text/html") field = &r.html;
        else if (mime == "text/markdown") field = &r.markdown;
        else if (mime == "image/svg+xml") field = &r.svg;
        else if (mime == "image/png") field = &r.png;
        else if (mime == "image/jpeg") field = &r.jpeg;
        else if (mime == "image/gif") field = &r.gif;
        else if (mime == "application/pdf") field = &r.pdf;
        else if (mime == "text/latex") field = &r.latex;
        else if (mime == "application/javascript") field = &r.javascript;
        auto text = field ? detail::text_of(v) : std::nullopt;
        if (text) *field = std::move(text);
        else r.extra[std::string(mime)] = v;
    }
    return r;
}

WRENN_DECL std::optional<kernel_event> parse_kernel_message(std::string_view text, std::string_view msg_id) {
    namespace js = wrenn::detail::js;
    auto parsed = detail::parse_json(text);
    if (!parsed)
        throw protocol_error("invalid_message",
                             "The Jupyter kernel sent a message that is not JSON: '" + detail::excerpt(text) + "'");
    const json::value& v = *parsed;
    if (!v.is_object()) return std::nullopt;
    auto type = js::opt_str(v, "msg_type");
    if (!type) type = js::opt_str(detail::object_field(v, "header"), "msg_type");
    const json::value& content = detail::object_field(v, "content");
    if (type && *type == "status") {
        // Jupyter's own word that the kernel process is gone: no parent.
        auto state = js::str(content, "execution_state");
        if (state == "restarting" || state == "dead") {
            kernel_event died;
            died.type = kernel_event::kind::kernel_died;
            return died;
        }
    }
    auto* parent = js::find(v, "parent_header");
    if (!parent) return std::nullopt;
    auto parent_id = js::opt_str(*parent, "msg_id");
    if (!parent_id || *parent_id != msg_id) return std::nullopt;

    kernel_event ev;
    if (!type) return ev;  // ours, of no known type
    if (*type == "stream") {
        // the name defaults to stdout: only "stderr" is stderr
        ev.type = js::str(content, "name") == "stderr" ? kernel_event::kind::stderr_text : kernel_event::kind::stdout_text;
        ev.text = js::str(content, "text");
    } else if (*type == "execute_result" || *type == "display_data") {
        bool is_main = *type == "execute_result";
        ev.type = kernel_event::kind::result;
        ev.value = make_result(detail::object_field(content, "data").get_object(), is_main);
        if (is_main) ev.execution_count = detail::opt_count(content, "execution_count");
    } else if (*type == "error") {
        ev.type = kernel_event::kind::error;
        wrenn::execution_error err;
        err.name = js::str(content, "ename");
        err.value = js::str(content, "evalue");
        if (auto* tb = js::find(content, "traceback")) {
            if (tb->is_string()) {
                err.traceback = std::string(tb->get_string());
            } else if (tb->is_array()) {
                bool first = true;
                for (auto& line : tb->get_array()) {
                    if (!line.is_string()) continue;
                    if (!first) err.traceback += '\n';
                    err.traceback += line.get_string();
                    first = false;
                }
            }
        }
        ev.error = std::move(err);
    } else if (*type == "status") {
        if (js::str(content, "execution_state") == "idle") ev.type = kernel_event::kind::idle;
    } else if (*type == "execute_input") {
        ev.type = kernel_event::kind::started;
        ev.execution_count = detail::opt_count(content, "execution_count");
    } else if (*type == "execute_reply") {
        ev.type = kernel_event::kind::reply;
        ev.reply_status = js::str(content, "status");
        ev.execution_count = detail::opt_count(content, "execution_count");
    }
    return ev;
}

WRENN_DECL bool apply(wrenn::execution& e, const kernel_event& ev) {
    if (ev.execution_count) e.execution_count = ev.execution_count;
    switch (ev.type) {
    case kernel_event::kind::stdout_text: e.logs.chunks.push_back({log_stream::out, ev.text}); break;
    case kernel_event::kind::stderr_text: e.logs.chunks.push_back({log_stream::err, ev.text}); break;
    case kernel_event::kind::result:
        if (ev.value) e.results.push_back(*ev.value);
        break;
    case kernel_event::kind::error:
        if (ev.error) e.error = ev.error;
        break;
    case kernel_event::kind::idle: return true;
    case kernel_event::kind::kernel_died:
        e.error = wrenn::execution_error{"DeadKernelError",
                                         "the kernel died while running the cell; Jupyter restarts it, and what "
                                         "was defined in it is lost",
                                         ""};
        return true;
    case kernel_event::kind::started:
    case kernel_event::kind::reply:
    case kernel_event::kind::other: break;
    }
    return false;
}

WRENN_DECL cell_step advance(cell_progress& p, const kernel_event& ev) {
    using kind = kernel_event::kind;
    switch (ev.type) {
    case kind::kernel_died: return cell_step::finished;
    case kind::idle: p.idle = true; break;
    case kind::reply:
        if (ev.reply_status == "aborted" && !p.ran) return cell_step::aborted;
        p.replied = true;
        break;
    case kind::other: break;
    default: p.ran = true; break;  // execute_input or an output
    }
    return p.idle && (p.ran || p.replied) ? cell_step::finished : cell_step::more;
}

} // namespace wrenn::protocol::jupyter
