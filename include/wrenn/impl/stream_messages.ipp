#pragma once

#include <wrenn/impl/json_read.hpp>
#include <wrenn/impl/parsed_json.hpp>
#include <wrenn/error.hpp>
#include <wrenn/protocol/base64.hpp>
#include <wrenn/protocol/stream_messages.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <bit>
#include <cctype>
#include <cstdint>
#include <cstring>

namespace wrenn::protocol {

namespace json = boost::json;

namespace detail {

inline json::array to_json_array(const std::vector<std::string>& v) {
    json::array a;
    a.reserve(v.size());
    for (auto& s : v) a.emplace_back(s);
    return a;
}

// The "type" of a message, which must be a JSON object with a string "type";
// otherwise protocol_error naming the endpoint and quoting the message.
inline std::string_view message_type(const wrenn::detail::parsed_json& m, std::string_view text, const char* what) {
    auto excerpt = [&] { return std::string(text.substr(0, 120)); };
    if (m.error || !m.value.is_object())
        throw protocol_error("invalid_message", std::string("The server sent a ") + what +
                                                    " message that is not a JSON object: '" + excerpt() + "'");
    auto* t = wrenn::detail::js::find(m.value, "type");
    if (!t || !t->is_string())
        throw protocol_error("invalid_message",
                             std::string("The server sent a ") + what + " message without a type: '" + excerpt() + "'");
    return t->get_string();
}

// Where the run of bytes that a JSON string holds as they are (printable
// ASCII but '"' and '\\') starting at text[i] ends: eight bytes per step.
inline std::size_t plain_run(std::string_view text, std::size_t i) {
    constexpr std::uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    // a byte's high bit set where it is zero; exact in the lowest flagged byte,
    // which is the only one used (a borrow only reaches the bytes above it)
    auto zero_bytes = [](std::uint64_t w) { return (w - ones) & ~w & highs; };
    // (little-endian only: there the lowest flagged byte comes first in memory)
    if constexpr (std::endian::native == std::endian::little) {
        for (; i + 8 <= text.size(); i += 8) {
            std::uint64_t w;
            std::memcpy(&w, text.data() + i, 8);
            std::uint64_t special = ((w - 0x20 * ones) & ~w & highs)  // below 0x20
                                    | (w & highs)                       // 0x80 and above
                                    | zero_bytes(w ^ ('"' * ones)) | zero_bytes(w ^ ('\\' * ones));
            if (special) return i + static_cast<std::size_t>(std::countr_zero(special)) / 8;
        }
    }
    for (; i < text.size(); ++i) {
        auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') break;
    }
    return i;
}

// The common message, `{"type":"stdout","data":"..."}` (or stderr) exactly as
// the server writes it (WIRE.md §8.2), read without building a JSON tree:
// printable ASCII and the short escapes. Anything else (other keys or key
// order, spaces, escaped code points, control characters, non-ASCII,
// malformed JSON) is left to boost::json, so both give the same event.
constexpr std::string_view output_head = R"({"type":"std)", output_mid = R"(","data":")";
constexpr std::size_t output_data_at = output_head.size() + 3 + output_mid.size();

// The kind of such a message, judged from its first bytes; nullopt for any other.
inline std::optional<stream_event_kind> output_kind(std::string_view text) {
    // memcmp of a constant size: inlined, where string_view::compare was a call
    auto at = [&](std::size_t pos, std::string_view s) { return std::memcmp(text.data() + pos, s.data(), s.size()) == 0; };
    if (text.size() <= output_data_at || !at(0, output_head) || !at(output_data_at - output_mid.size(), output_mid))
        return std::nullopt;
    if (at(output_head.size(), "out")) return stream_event_kind::stdout_data;
    if (at(output_head.size(), "err")) return stream_event_kind::stderr_data;
    return std::nullopt;
}

inline char short_escape(char c) {  // the character `\c` stands for; 0 for none of the short ones
    switch (c) {
    case '"': return '"';
    case '\\': return '\\';
    case '/': return '/';
    case 'b': return '\b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    default: return 0;  // a code point (u) or an invalid escape
    }
}

// Reads such a message in place: on success `text` becomes the data (its
// storage reused, no allocation) and true is returned; otherwise `text` is
// left as it was, for boost::json: the whole message is checked before any
// byte of it is rewritten.
inline bool take_output_message(std::string& text, stream_event& e) {
    auto kind = output_kind(text);
    if (!kind) return false;
    std::string_view t(text);
    std::size_t first = plain_run(t, output_data_at), end = first;  // first: the first escape or '"'
    for (;;) {  // find the closing quote, escapes checked
        if (end == t.size()) return false;
        if (t[end] == '"') break;
        if (t[end] != '\\' || end + 1 == t.size() || !short_escape(t[end + 1])) return false;
        end = plain_run(t, end + 2);
    }
    if (end + 1 == t.size() || t[end + 1] != '}') return false;
    for (char c : t.substr(end + 2))
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t') return false;  // what JSON allows after a value
    // decode [output_data_at, end) to the front of the string
    char* p = text.data();
    std::size_t w = first - output_data_at;
    std::memmove(p, p + output_data_at, w);
    for (std::size_t r = first; r < end;) {
        p[w++] = short_escape(p[r + 1]);  // p[r] is a backslash here
        std::size_t run = plain_run(t, r + 2);
        std::memmove(p + w, p + r + 2, run - (r + 2));
        w += run - (r + 2);
        r = run;
    }
    text.resize(w);
    e.kind = *kind;
    e.data = std::move(text);
    return true;
}

inline int int_field(const json::value& v, std::string_view key, int fallback) {
    auto i = wrenn::detail::js::opt_int(v, key);
    if (!i || *i < INT_MIN || *i > INT_MAX) return fallback;
    return static_cast<int>(*i);
}

// Any process-stream message, through boost::json.
inline std::optional<stream_event> parse_stream_json(std::string_view text) {
    wrenn::detail::parsed_json m(text);
    auto type = message_type(m, text, "process stream");
    const auto& v = m.value;
    stream_event e;
    if (type == "start") {
        e.kind = stream_event_kind::start;
        e.pid = int_field(v, "pid", 0);
    } else if (type == "stdout" || type == "stderr") {
        e.kind = type == "stdout" ? stream_event_kind::stdout_data : stream_event_kind::stderr_data;
        e.data = wrenn::detail::js::str(v, "data");
    } else if (type == "exit") {
        e.kind = stream_event_kind::exit;
        e.exit_code = int_field(v, "exit_code", -1);
    } else if (type == "error") {
        e.kind = stream_event_kind::error;
        e.data = wrenn::detail::js::str(v, "data");
    } else {
        return std::nullopt;
    }
    return e;
}

} // namespace detail

WRENN_DECL stream_command make_stream_command(std::string_view command, std::vector<std::string> args,
                                              const std::map<std::string, std::string>& envs,
                                              std::string_view cwd) {
    if (command.empty())
        throw usage_error("empty_command", "commands.stream: the command is empty; pass a shell command or a program");
    for (auto& [k, v] : envs) {
        // a shell-style name: it goes through `env NAME=value`, where "-x" would be an option
        bool ok = !k.empty() && !std::isdigit(static_cast<unsigned char>(k[0]));
        for (char ch : k) ok = ok && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_');
        if (!ok)
            throw usage_error("invalid_env", "commands.stream: environment variable name '" + k +
                                                 "' is not valid (letters, digits and '_', not starting with a digit)");
        if (v.find('\0') != std::string::npos)
            throw usage_error("invalid_env", "commands.stream: the value of " + k + " contains a NUL byte");
    }
    stream_command c;
    if (args.empty()) {
        c.cmd = "/bin/sh";
        c.args = {"-c", std::string(command)};
    } else {
        c.cmd = std::string(command);
        c.args = std::move(args);
    }
    if (envs.empty() && cwd.empty()) return c;
    // The server starts streams in the user's home; "~" and "~/x" are relative to it.
    std::string dir(cwd);
    if (dir == "~") dir = ".";
    else if (dir.rfind("~/", 0) == 0) dir = dir.substr(2).empty() ? "." : dir.substr(2);
    std::vector<std::string> a{"-c", dir.empty() ? "exec env \"$@\"" : "cd -- \"$0\" && exec env \"$@\"",
                               dir.empty() ? "sh" : dir};
    for (auto& [k, v] : envs) a.push_back(k + "=" + v);
    a.push_back(std::move(c.cmd));
    a.insert(a.end(), std::make_move_iterator(c.args.begin()), std::make_move_iterator(c.args.end()));
    return {"/bin/sh", std::move(a)};
}

WRENN_DECL std::string exec_stream_start_message(const stream_command& c) {
    json::object o{{"type", "start"}, {"cmd", c.cmd}};
    if (!c.args.empty()) o["args"] = detail::to_json_array(c.args);
    return json::serialize(o);
}

WRENN_DECL std::string stream_stop_message() { return R"({"type":"stop"})"; }

WRENN_DECL std::optional<stream_event> take_stream_message(std::string&& text) {
    if (stream_event e; detail::take_output_message(text, e)) return e;
    return detail::parse_stream_json(text);
}

WRENN_DECL std::optional<stream_event> parse_stream_message(std::string_view text) {
    if (!detail::output_kind(text)) return detail::parse_stream_json(text);  // no copy for what the fast path leaves
    return take_stream_message(std::string(text));
}

WRENN_DECL std::string pty_start_message(const pty_start& s) {
    json::object o{{"type", "start"},
                   {"cmd", s.cmd.empty() ? std::string("/bin/bash") : s.cmd},
                   {"cols", s.cols == 0 ? 80u : s.cols},
                   {"rows", s.rows == 0 ? 24u : s.rows}};
    if (!s.args.empty()) o["args"] = detail::to_json_array(s.args);
    if (!s.envs.empty()) {
        json::object env;
        for (auto& [k, v] : s.envs) env[k] = v;
        o["envs"] = std::move(env);
    }
    if (!s.cwd.empty()) o["cwd"] = s.cwd;
    return json::serialize(o);
}

WRENN_DECL std::string pty_connect_message(std::string_view tag) {
    return json::serialize(json::object{{"type", "connect"}, {"tag", tag}});
}

WRENN_DECL std::string pty_input_message(std::string_view bytes) {
    return json::serialize(json::object{{"type", "input"}, {"data", base64_encode(bytes)}});
}

WRENN_DECL std::string pty_resize_message(unsigned cols, unsigned rows) {
    return json::serialize(json::object{{"type", "resize"}, {"cols", cols}, {"rows", rows}});
}

WRENN_DECL std::string pty_kill_message() { return R"({"type":"kill"})"; }

WRENN_DECL std::optional<pty_event> parse_pty_message(std::string_view text) {
    wrenn::detail::parsed_json m(text);
    auto type = detail::message_type(m, text, "terminal");
    const auto& v = m.value;
    pty_event e;
    if (type == "started") {
        e.kind = pty_event_kind::started;
        e.tag = wrenn::detail::js::str(v, "tag");
        e.pid = detail::int_field(v, "pid", 0);
    } else if (type == "output") {
        e.kind = pty_event_kind::output;
        auto data = wrenn::detail::js::str(v, "data");
        auto bytes = base64_decode(data);
        if (!bytes)
            throw protocol_error("invalid_message", "The server sent terminal output that is not base64: '" +
                                                        data.substr(0, 120) + "'");
        e.data = std::move(*bytes);
    } else if (type == "exit") {
        e.kind = pty_event_kind::exit;
        e.exit_code = detail::int_field(v, "exit_code", -1);
    } else if (type == "error") {
        e.kind = pty_event_kind::error;
        e.data = wrenn::detail::js::str(v, "data");
        auto* f = wrenn::detail::js::find(v, "fatal");
        e.fatal = f && f->is_bool() && f->get_bool();
    } else {
        return std::nullopt;  // "ping" (keepalive) and types we do not know
    }
    return e;
}

WRENN_DECL std::exception_ptr make_stream_error(std::string_view text, std::string_view operation) {
    std::string message = std::string(operation) + ": " + std::string(text);
    auto starts = [&](std::string_view p) { return text.substr(0, p.size()) == p; };
    if (text == "authentication failed")
        return std::make_exception_ptr(authentication_error(
            "unauthorized", message + " (check the API key: config.api_key or WRENN_API_KEY)"));
    if (text == "sandbox not found") return std::make_exception_ptr(not_found_error("not_found", message));
    if (starts("sandbox is not running"))
        return std::make_exception_ptr(conflict_error("invalid_state", message + " (resume it first)"));
    if (starts("sandbox host is not reachable"))
        return std::make_exception_ptr(host_unavailable_error("host_unavailable", message));
    if (starts("first message must") || starts("connect requires") || starts("failed to read"))
        return std::make_exception_ptr(validation_error("invalid_request", message));
    return std::make_exception_ptr(agent_error("agent_error", message));
}

} // namespace wrenn::protocol
