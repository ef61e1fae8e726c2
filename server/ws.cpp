// wrenn-local: the WebSocket routes (WIRE.md §7): exec stream (§8), attach to
// a running process (§9), PTY (§11). They run over ws_conn (ws_transport.cpp)
// and get process output from the process hubs (procs.cpp).
#include "common.hpp"
#include "proc_control.hpp"
#include "pty.hpp"
#include "ws.hpp"

#include <wrenn/protocol/base64.hpp>

#include <boost/json/parse.hpp>

#include <csignal>

#include <unistd.h>

namespace wl {

namespace {

using steady = std::chrono::steady_clock;
constexpr auto auth_window = std::chrono::seconds(5);
constexpr std::string_view too_slow = "the client does not read fast enough: stream closed";

std::string error_text(std::string_view text, bool fatal) {
    json::object o{{"type", "error"}, {"data", text}};
    if (fatal) o["fatal"] = true;
    return json_text(o);
}

// An in-band error as the last message, then the end of the connection.
void fail(ws_conn& ws, std::string_view text, bool fatal) {
    ws.send(error_text(text, fatal), true);
    ws.finish();
}

std::string str_field(const json::object& o, std::string_view k) {
    auto* v = o.if_contains(k);
    return v && v->is_string() ? std::string(v->get_string()) : std::string{};
}

std::vector<std::string> strings_field(const json::object& o, std::string_view k) {
    std::vector<std::string> out;
    if (auto* v = o.if_contains(k); v && v->is_array())
        for (auto& e : v->get_array()) out.push_back(e.is_string() ? std::string(e.get_string()) : std::string{});
    return out;
}

unsigned uint_field(const json::object& o, std::string_view k) {
    auto* v = o.if_contains(k);
    if (!v) return 0;
    if (v->is_int64() && v->get_int64() >= 0 && v->get_int64() <= 0xffffffffLL) return static_cast<unsigned>(v->get_int64());
    if (v->is_uint64() && v->get_uint64() <= 0xffffffffULL) return static_cast<unsigned>(v->get_uint64());
    return 0;
}

// A client message decoded like Go's json.Unmarshal into a struct: a JSON
// object whose known fields have the right types. nullopt and `err` otherwise.
std::optional<json::object> decode(std::string_view text,
                                   std::initializer_list<std::pair<std::string_view, jtype>> fields,
                                   std::string& err) {
    boost::system::error_code ec;
    auto v = json::parse(text, ec);
    if (ec) {
        err = "invalid JSON: " + ec.message();
        return std::nullopt;
    }
    if (!v.is_object()) {
        err = "json: cannot unmarshal a non-object into the message";
        return std::nullopt;
    }
    auto o = parse_object_body(text, fields);
    if (!o) err = "json: cannot unmarshal the message: a field has the wrong type";
    return o;
}

// Header credentials (X-API-Key, or Bearer with the API key as the token, as
// we have no JWTs), else a first message {"type":"auth","token":...} within 5 s.
asio::awaitable<bool> authenticate(app_state& app, ws_conn& ws, const request& req, bool fatal) {
    if (req.api_key && same_secret(*req.api_key, app.api_key)) co_return true;
    if (req.authorization && req.authorization->rfind("Bearer ", 0) == 0 &&
        same_secret(std::string_view(*req.authorization).substr(7), app.api_key))
        co_return true;
    auto m = co_await ws.receive_until(steady::now() + auth_window);
    if (m.status == ws_message::message) {
        boost::system::error_code ec;
        auto v = json::parse(m.data, ec);
        if (!ec && v.is_object()) {
            auto& o = v.get_object();
            if (str_field(o, "type") == "auth" && same_secret(str_field(o, "token"), app.api_key) &&
                !str_field(o, "token").empty())
                co_return true;
        }
    }
    fail(ws, "authentication failed", fatal);
    co_return false;
}

std::string not_running_text(const capsule& c) { return "sandbox is not running (status: " + c.status + ")"; }

std::shared_ptr<capsule> usable_capsule(app_state& app, ws_conn& ws, const std::string& id, bool fatal) {
    auto c = find_capsule(app, id);
    if (!c) {
        fail(ws, "sandbox not found", fatal);
        return nullptr;
    }
    if (c->status != "running") {
        fail(ws, not_running_text(*c), fatal);
        return nullptr;
    }
    return c;
}

std::string start_text(pid_t pid) {
    json::object o{{"type", "start"}};
    if (pid != 0) o["pid"] = pid;
    return json_text(o);
}

std::string exit_text(int code) { return json_text(json::object{{"type", "exit"}, {"exit_code", code}}); }

// Exec stream and process stream: stdout/stderr as JSON strings (invalid
// UTF-8 -> U+FFFD), the exit last, then the connection ends.
proc_hub::sink stream_sink(std::shared_ptr<ws_conn> ws) {
    return [ws](const proc_event& e) {
        if (ws->closing()) return;
        if (e.kind == proc_event::exit) {
            ws->send(exit_text(e.exit_code), true);
            ws->finish();
            return;
        }
        json::object o{{"type", e.kind == proc_event::out ? "stdout" : "stderr"}};
        if (!e.data.empty()) o["data"] = utf8_replace_invalid(e.data);
        if (!ws->send(json_text(o))) fail(*ws, too_slow, false);
    };
}

// Drops client messages until the client goes (or we finish).
asio::awaitable<void> drain(ws_conn& ws) {
    for (;;) {
        auto m = co_await ws.receive();
        if (m.status != ws_message::message) co_return;
    }
}

bool is_type(std::string_view text, std::string_view type) {
    boost::system::error_code ec;
    auto v = json::parse(text, ec);
    return !ec && v.is_object() && str_field(v.get_object(), "type") == type;
}

bool has_nul(const std::vector<std::string>& v) {
    for (auto& s : v)
        if (s.find('\0') != std::string::npos) return true;
    return false;
}

// ---------------------------------------------------------------- exec stream (§8)
asio::awaitable<void> exec_stream(app_state& app, std::shared_ptr<ws_conn> ws, const ws_route& route,
                                  const request& req) {
    bool authed = co_await authenticate(app, *ws, req, false);
    if (!authed) co_return;
    auto c = usable_capsule(app, *ws, route.capsule_id, false);
    if (!c) co_return;
    auto first = co_await ws->receive();
    if (first.status != ws_message::message) co_return;
    std::string err;
    auto msg = decode(first.data, {{"type", jtype::string}, {"cmd", jtype::string}, {"args", jtype::string_array}},
                      err);
    if (!msg) {
        fail(*ws, "failed to read start message: " + err, false);
        co_return;
    }
    std::string cmd = str_field(*msg, "cmd");
    if (str_field(*msg, "type") != "start" || cmd.empty()) {
        fail(*ws, "first message must be type 'start' with a 'cmd' field", false);
        co_return;
    }
    auto args = strings_field(*msg, "args");
    if (c->status != "running") {  // paused or destroyed while we waited for the message
        fail(*ws, not_running_text(*c), false);
        co_return;
    }
    std::vector<std::string> argv{cmd};
    argv.insert(argv.end(), args.begin(), args.end());
    spawned sp;
    try {
        if (has_nul(argv)) throw std::system_error(EINVAL, std::generic_category(), "exec " + cmd);
        auto spec = capsule_spec(*c, argv, capsule_env(nullptr), resolve_cwd(c->root, "").value_or("/"));
        sp = co_await spawn_in_capsule(app, c, std::move(spec));
    } catch (const std::exception& e) {
        fail(*ws, std::string("failed to start exec stream: ") + e.what(), false);
        co_return;
    }
    c->last_active_at = sys_clock::now();
    // Listed like a foreground command (no tag) while it runs.
    auto hub = start_hub(app, c, sp, proc_entry{sp.pid, {}, cmd, args, false, nullptr});
    ws->send(start_text(sp.pid));
    auto sub = hub->subscribe(stream_sink(ws));
    // Until the exit (the sink finishes the connection), a stop, or the
    // client's departure; the process keeps running in the last two cases.
    for (;;) {
        auto m = co_await ws->receive();
        if (m.status != ws_message::message || is_type(m.data, "stop")) break;
    }
    sub.reset();
    ws->finish();
    c->last_active_at = sys_clock::now();
}

// ---------------------------------------------------------------- process stream (§9)
asio::awaitable<void> process_stream(app_state& app, std::shared_ptr<ws_conn> ws, const ws_route& route,
                                     const request& req) {
    bool authed = co_await authenticate(app, *ws, req, false);
    if (!authed) co_return;
    auto c = usable_capsule(app, *ws, route.capsule_id, false);
    if (!c) co_return;
    const std::string& sel = route.selector;
    bool numeric = !sel.empty() && sel.size() <= 10 && sel.find_first_not_of("0123456789") == std::string::npos &&
                   std::stoull(sel) <= 0xffffffffULL;
    std::shared_ptr<proc_hub> hub;
    for (auto& [pid, e] : c->procs)
        if ((numeric ? static_cast<unsigned long long>(pid) == std::stoull(sel) : e.tag == sel) && e.hub &&
            !e.hub->finished()) {
            hub = e.hub;
            break;
        }
    if (!hub) {  // unknown or finished: closed without any message
        ws->finish();
        co_return;
    }
    ws->send(start_text(hub->pid()));
    auto sub = hub->subscribe(stream_sink(ws));
    co_await drain(*ws);  // client messages are read and dropped
    sub.reset();
    ws->finish();
    c->last_active_at = sys_clock::now();
}

// ---------------------------------------------------------------- PTY (§11)
struct pty_state {
    bool exited = false;
};

void pty_client_message(proc_hub& hub, std::string_view text) {
    boost::system::error_code ec;
    auto v = json::parse(text, ec);
    if (ec || !v.is_object()) return;  // ignored
    auto& o = v.get_object();
    auto type = str_field(o, "type");
    if (type == "input") {
        std::string data = str_field(o, "data");
        std::erase_if(data, [](char ch) { return ch == '\r' || ch == '\n'; });  // Go's decoder skips them
        if (auto bytes = wrenn::protocol::base64_decode(data)) hub.write_input(std::move(*bytes));
    } else if (type == "resize") {
        unsigned cols = uint_field(o, "cols"), rows = uint_field(o, "rows");
        if (cols > 0 && rows > 0) hub.resize(cols, rows);
    } else if (type == "kill") {
        if (!hub.finished()) signal_tree(hub.pid(), SIGKILL, false);  // the PTY's process tree
    }
}

asio::awaitable<void> pty_session(app_state& app, std::shared_ptr<ws_conn> ws, const ws_route& route,
                                  const request& req) {
    bool authed = co_await authenticate(app, *ws, req, true);
    if (!authed) co_return;
    auto c = usable_capsule(app, *ws, route.capsule_id, true);
    if (!c) co_return;
    auto first = co_await ws->receive();
    if (first.status != ws_message::message) co_return;
    std::string err;
    auto msg = decode(first.data,
                      {{"type", jtype::string},
                       {"cmd", jtype::string},
                       {"args", jtype::string_array},
                       {"cols", jtype::uint32},
                       {"rows", jtype::uint32},
                       {"envs", jtype::string_map},
                       {"cwd", jtype::string},
                       {"user", jtype::string},
                       {"tag", jtype::string}},
                      err);
    if (!msg) {
        fail(*ws, "failed to read first message: " + err, true);
        co_return;
    }
    const std::string type = str_field(*msg, "type");
    std::shared_ptr<proc_hub> hub;
    std::string tag;
    if (type == "connect") {
        tag = str_field(*msg, "tag");
        if (tag.empty()) {
            fail(*ws, "connect requires a 'tag' field", true);
            co_return;
        }
        for (auto& [pid, e] : c->procs)
            if (e.tag == tag && e.hub && e.hub->is_pty() && !e.hub->finished()) {
                hub = e.hub;
                break;
            }
        if (!hub) {  // unknown or finished: no message at all, open until the client closes
            co_await drain(*ws);
            co_return;
        }
    } else if (type == "start") {
        if (c->status != "running") {
            fail(*ws, not_running_text(*c), true);
            co_return;
        }
        std::string cmd = str_field(*msg, "cmd");
        if (cmd.empty()) cmd = "/bin/bash";
        auto args = strings_field(*msg, "args");
        unsigned cols = uint_field(*msg, "cols"), rows = uint_field(*msg, "rows");
        if (cols == 0 || cols > 0xffff) cols = 80;
        if (rows == 0 || rows > 0xffff) rows = 24;
        std::map<std::string, std::string> envs;
        if (auto* e = msg->if_contains("envs"); e && e->is_object())
            for (auto& kv : e->get_object())
                envs[std::string(kv.key())] = kv.value().is_string() ? std::string(kv.value().get_string()) : "";
        auto cwd = resolve_cwd(c->root, str_field(*msg, "cwd"));
        if (!cwd) {  // like the real server: the PTY cannot start, no message
            ws->finish();
            co_return;
        }
        std::vector<std::string> argv{cmd};
        argv.insert(argv.end(), args.begin(), args.end());
        pty_fds p;
        spawned sp;
        try {
            if (has_nul(argv)) throw std::system_error(EINVAL, std::generic_category(), "exec " + cmd);
            auto spec = capsule_spec(*c, argv, capsule_env(&envs), *cwd);
            co_await ensure_init(app, c);
            spec.ns_pid = c->ns_pid;
            p = open_pty(c->ns_pid, cols, rows);
            spec.tty_fd = std::exchange(p.slave, -1);  // spawn_process_async closes it
            sp = co_await spawn_process_async(spec);
        } catch (const std::exception& e) {
            if (p.master >= 0) ::close(p.master);
            if (p.slave >= 0) ::close(p.slave);
            fail(*ws, std::string("failed to start pty: ") + e.what(), true);
            co_return;
        }
        tag = "pty-" + random_hex(4);
        c->last_active_at = sys_clock::now();
        hub = start_hub(app, c, sp, proc_entry{sp.pid, tag, cmd, args, false, nullptr}, p.master);
        log("capsule %s: pty %s pid %d (%s, %ux%u, %s devpts)", c->id.c_str(), tag.c_str(), sp.pid, cmd.c_str(), cols,
            rows, p.in_capsule ? "capsule" : "host");
        ws->send(json_text(json::object{{"type", "started"}, {"tag", tag}, {"pid", sp.pid}}));
    } else {
        fail(*ws, "first message must be type 'start' or 'connect'", true);
        co_return;
    }

    auto st = std::make_shared<pty_state>();
    auto sub = hub->subscribe([ws, st](const proc_event& e) {
        if (ws->closing()) return;
        if (e.kind == proc_event::exit) {
            // The last data message; the socket stays open until the client closes.
            st->exited = true;
            ws->send(exit_text(e.exit_code), true);
            return;
        }
        json::object o{{"type", "output"}};
        if (!e.data.empty()) o["data"] = wrenn::protocol::base64_encode(e.data);
        if (!ws->send(json_text(o))) fail(*ws, too_slow, true);
    });
    const auto interval = app.pty_ping_interval;
    auto next_ping = steady::now() + interval;
    const std::string ping = json_text(json::object{{"type", "ping"}});
    for (;;) {
        auto deadline = st->exited ? steady::time_point::max() : next_ping;
        auto m = co_await ws->receive_until(deadline);
        if (m.status == ws_message::ended) break;
        if (m.status == ws_message::timeout) {
            if (!st->exited) ws->send(ping);
            next_ping += interval;
            if (next_ping < steady::now()) next_ping = steady::now() + interval;
            continue;
        }
        if (!st->exited) pty_client_message(*hub, m.data);
    }
    // Without a kill the PTY keeps running (output read and dropped); `connect` re-attaches.
    sub.reset();
    ws->finish();
    c->last_active_at = sys_clock::now();
}

} // namespace

asio::awaitable<void> ws_session(app_state& app, std::shared_ptr<ws_conn> ws, ws_route route, request req) {
    switch (route.kind) {
    case ws_route::exec_stream:
        co_await exec_stream(app, ws, route, req);
        break;
    case ws_route::process_stream:
        co_await process_stream(app, ws, route, req);
        break;
    case ws_route::pty:
        co_await pty_session(app, ws, route, req);
        break;
    }
    ws->finish();
}

} // namespace wl
