// The WebSocket messages, sans-I/O: what the client sends and how every
// server message (and every malformed one) is read (WIRE.md §7–§9, §11).
#include <catch2/catch.hpp>

#include <wrenn/arg_list.hpp>
#include <wrenn/error.hpp>
#include <wrenn/output_callback.hpp>
#include <wrenn/protocol/base64.hpp>
#include <wrenn/protocol/stream_messages.hpp>

#include <boost/json/parse.hpp>

#include <cstdio>
#include <string>
#include <vector>

namespace json = boost::json;
using namespace wrenn;
using namespace wrenn::protocol;

namespace {
json::value J(const std::string& s) { return json::parse(s); }

template <class E>
E error_of(std::exception_ptr p) {
    try {
        std::rethrow_exception(p);
    } catch (const E& e) {
        return e;
    } catch (const std::exception& e) {
        FAIL("unexpected exception " << e.what());
    }
    throw std::logic_error("unreachable");
}
} // namespace

TEST_CASE("stream command: shell form, program form, env and cwd wrapping", "[stream]") {
    auto c = make_stream_command("echo hi | wc -c", {}, {}, "");
    CHECK(c.cmd == "/bin/sh");
    CHECK(c.args == std::vector<std::string>{"-c", "echo hi | wc -c"});

    c = make_stream_command("ls", {"-la", "/tmp"}, {}, "");
    CHECK(c.cmd == "ls");
    CHECK(c.args == std::vector<std::string>{"-la", "/tmp"});

    c = make_stream_command("make", {}, {{"A", "1"}, {"B", "x y"}}, "");
    CHECK(c.cmd == "/bin/sh");
    CHECK(c.args == std::vector<std::string>{"-c", "exec env \"$@\"", "sh", "A=1", "B=x y", "/bin/sh", "-c", "make"});

    c = make_stream_command("ls", {"-l"}, {}, "/srv/app");
    CHECK(c.args == std::vector<std::string>{"-c", "cd -- \"$0\" && exec env \"$@\"", "/srv/app", "ls", "-l"});

    // the server starts in the home directory: ~ forms become relative
    CHECK(make_stream_command("x", {}, {}, "~").args[2] == ".");
    CHECK(make_stream_command("x", {}, {}, "~/").args[2] == ".");
    CHECK(make_stream_command("x", {}, {}, "~/src").args[2] == "src");

    CHECK_THROWS_AS(make_stream_command("", {}, {}, ""), usage_error);
    CHECK_THROWS_AS(make_stream_command("x", {}, {{"", "v"}}, ""), usage_error);
    CHECK_THROWS_AS(make_stream_command("x", {}, {{"A=B", "v"}}, ""), usage_error);
    CHECK_THROWS_AS(make_stream_command("x", {}, {{"-i", "v"}}, ""), usage_error);  // would be an env option
    CHECK_THROWS_AS(make_stream_command("x", {}, {{"1A", "v"}}, ""), usage_error);
    CHECK_THROWS_AS(make_stream_command("x", {}, {{"A", std::string("a\0b", 3)}}, ""), usage_error);
    CHECK(make_stream_command("x", {}, {{"_A1", "v"}}, "").args[3] == "_A1=v");
}

TEST_CASE("exec stream client messages", "[stream]") {
    CHECK(J(exec_stream_start_message({"/bin/sh", {"-c", "ls"}})) ==
          J(R"({"type":"start","cmd":"/bin/sh","args":["-c","ls"]})"));
    CHECK(J(exec_stream_start_message({"true", {}})) == J(R"({"type":"start","cmd":"true"})"));
    CHECK(J(stream_stop_message()) == J(R"({"type":"stop"})"));
    // quotes, newlines and non-ASCII survive JSON escaping
    auto odd = std::string("a\"b\\c\nd\xc3\xa9");
    auto m = J(exec_stream_start_message({"x", {odd}}));
    CHECK(m.at("args").at(0).as_string() == odd);
}

TEST_CASE("exec stream server messages", "[stream]") {
    auto e = parse_stream_message(R"({"type":"start","pid":1234})");
    REQUIRE(e);
    CHECK(e->is_start());
    CHECK(e->pid == 1234);
    CHECK(parse_stream_message(R"({"type":"start"})")->pid == 0);  // pid omitted when 0

    e = parse_stream_message("{\"type\":\"stdout\",\"data\":\"hi\\n\"}\n");  // trailing newline
    REQUIRE(e);
    CHECK(e->is_stdout());
    CHECK(e->data == "hi\n");
    e = parse_stream_message(R"({"type":"stderr","data":"oops"})");
    CHECK(e->is_stderr());
    CHECK(e->data == "oops");
    CHECK(parse_stream_message(R"({"type":"stdout"})")->data.empty());  // data omitted when empty
    CHECK(parse_stream_message(R"({"type":"stdout","data":"\ufffd"})")->data == "\xef\xbf\xbd");

    e = parse_stream_message(R"({"type":"exit","exit_code":3})");
    CHECK(e->is_exit());
    CHECK(e->is_final());
    CHECK(e->exit_code == 3);
    CHECK(parse_stream_message(R"({"type":"exit","exit_code":0})")->exit_code == 0);
    CHECK(parse_stream_message(R"({"type":"exit"})")->exit_code == -1);
    CHECK(parse_stream_message(R"({"type":"exit","exit_code":-1})")->exit_code == -1);
    CHECK(parse_stream_message(R"({"type":"exit","exit_code":"7"})")->exit_code == -1);
    CHECK(parse_stream_message(R"({"type":"exit","exit_code":99999999999})")->exit_code == -1);

    e = parse_stream_message(R"({"type":"error","data":"failed to start exec stream: boom"})");
    CHECK(e->is_error());
    CHECK(e->is_final());
    CHECK(e->data == "failed to start exec stream: boom");

    // unknown types are skipped (forward compatible), not an error
    CHECK_FALSE(parse_stream_message(R"({"type":"progress","pct":5})"));
    CHECK_FALSE(parse_stream_message(R"({"type":"ping"})"));
}

TEST_CASE("a message larger than the parse arena's stack buffer is read whole", "[stream]") {
    std::string data(200000, 'x');
    data[0] = 'a';
    data.back() = 'z';
    auto e = parse_stream_message(R"({"type":"stdout","data":")" + data + R"("})");
    REQUIRE(e);
    CHECK(e->is_stdout());
    CHECK(e->data == data);
    // and the next small one after it is unaffected
    CHECK(parse_stream_message(R"({"type":"stderr","data":"ok"})")->data == "ok");
}

TEST_CASE("malformed server messages are protocol errors naming the text", "[stream]") {
    for (std::string bad : {"", "not json", "[1,2]", "\"start\"", "{}", R"({"type":5})", R"({"data":"x"})",
                            "{\"type\":\"stdout\"", "42"}) {
        CAPTURE(bad);
        CHECK_THROWS_AS(parse_stream_message(bad), protocol_error);
        CHECK_THROWS_AS(parse_pty_message(bad), protocol_error);
    }
    try {
        (void)parse_stream_message("garbage!");
        FAIL("no throw");
    } catch (const protocol_error& e) {
        CHECK(std::string(e.what()).find("garbage!") != std::string::npos);
    }
}

TEST_CASE("pty client messages", "[pty]") {
    pty_start s;
    CHECK(J(pty_start_message(s)) == J(R"({"type":"start","cmd":"/bin/bash","cols":80,"rows":24})"));
    s.cmd = "/bin/sh";
    s.args = {"-l"};
    s.cols = 132;
    s.rows = 43;
    s.envs = {{"TERM", "xterm-256color"}};
    s.cwd = "/tmp";
    CHECK(J(pty_start_message(s)) ==
          J(R"({"type":"start","cmd":"/bin/sh","args":["-l"],"cols":132,"rows":43,)"
            R"("envs":{"TERM":"xterm-256color"},"cwd":"/tmp"})"));
    pty_start zero;
    zero.cmd.clear();
    zero.cols = 0;
    zero.rows = 0;
    CHECK(J(pty_start_message(zero)) == J(R"({"type":"start","cmd":"/bin/bash","cols":80,"rows":24})"));

    CHECK(J(pty_connect_message("pty-1a2b3c4d")) == J(R"({"type":"connect","tag":"pty-1a2b3c4d"})"));
    CHECK(J(pty_resize_message(120, 40)) == J(R"({"type":"resize","cols":120,"rows":40})"));
    CHECK(J(pty_kill_message()) == J(R"({"type":"kill"})"));
    // input is standard base64 with padding, any byte value
    std::string all;
    for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
    auto in = J(pty_input_message(all));
    CHECK(in.at("type") == "input");
    auto data = std::string(in.at("data").as_string());
    CHECK(data.size() % 4 == 0);
    CHECK(base64_decode(data) == all);
    CHECK(J(pty_input_message("a")).at("data") == "YQ==");
}

TEST_CASE("pty server messages", "[pty]") {
    auto e = parse_pty_message(R"({"type":"started","tag":"pty-1a2b3c4d","pid":42})");
    REQUIRE(e);
    CHECK(e->is_started());
    CHECK(e->tag == "pty-1a2b3c4d");
    CHECK(e->pid == 42);

    e = parse_pty_message(R"({"type":"output","data":"aGkNCg=="})");
    CHECK(e->is_output());
    CHECK(e->data == "hi\r\n");
    CHECK(parse_pty_message(R"({"type":"output"})")->data.empty());
    std::string binary("\x00\xff\x1b[0m", 6);
    CHECK(parse_pty_message(std::string(R"({"type":"output","data":")") + base64_encode(binary) + "\"}")->data ==
          binary);
    CHECK_THROWS_AS(parse_pty_message(R"({"type":"output","data":"not base64!"})"), protocol_error);

    e = parse_pty_message(R"({"type":"exit","exit_code":130})");
    CHECK(e->is_exit());
    CHECK(e->is_final());
    CHECK(e->exit_code == 130);
    CHECK(parse_pty_message(R"({"type":"exit"})")->exit_code == -1);

    e = parse_pty_message(R"({"type":"error","data":"sandbox not found","fatal":true})");
    CHECK(e->is_error());
    CHECK(e->fatal);
    CHECK(e->is_final());
    e = parse_pty_message(R"({"type":"error","data":"pty stream failed"})");
    CHECK_FALSE(e->fatal);  // fatal omitted when false: the session goes on
    CHECK_FALSE(e->is_final());
    CHECK_FALSE(parse_pty_message(R"({"type":"error","data":"x","fatal":"yes"})")->fatal);

    // keepalive pings and unknown types are consumed silently
    CHECK_FALSE(parse_pty_message(R"({"type":"ping"})"));
    CHECK_FALSE(parse_pty_message(R"({"type":"bell"})"));
}

TEST_CASE("in-band setup errors map to the REST error classes", "[stream]") {
    auto op = "commands.stream('ls') in cl-x";
    auto a = error_of<authentication_error>(make_stream_error("authentication failed", op));
    CHECK(a.code() == "unauthorized");
    CHECK(std::string(a.what()).find("WRENN_API_KEY") != std::string::npos);
    auto n = error_of<not_found_error>(make_stream_error("sandbox not found", op));
    CHECK(n.message() == std::string(op) + ": sandbox not found");
    auto s = error_of<conflict_error>(make_stream_error("sandbox is not running (status: paused)", op));
    CHECK(s.code() == "invalid_state");
    CHECK(std::string(s.what()).find("paused") != std::string::npos);
    error_of<host_unavailable_error>(make_stream_error("sandbox host is not reachable", op));
    error_of<validation_error>(make_stream_error("first message must be type 'start' with a 'cmd' field", op));
    error_of<validation_error>(make_stream_error("connect requires a 'tag' field", op));
    error_of<validation_error>(make_stream_error("failed to read start message: EOF", op));
    auto g = error_of<agent_error>(make_stream_error("failed to start exec stream: exec: no such file", op));
    CHECK(g.code() == "agent_error");
    error_of<agent_error>(make_stream_error("something new", op));
}

TEST_CASE("arg_list and output_callback are views that copy on demand", "[stream]") {
    arg_list none;
    CHECK(none.empty());
    CHECK(none.to_vector().empty());
    arg_list il{"a", "b c"};
    CHECK(il.to_vector() == std::vector<std::string>{"a", "b c"});
    std::vector<std::string> v{"x", "", "z"};
    CHECK(arg_list(v).to_vector() == v);

    output_callback empty;
    CHECK_FALSE(empty);
    CHECK_FALSE(empty.to_function());
    std::string seen;
    auto append = [&seen](std::string_view s) { seen += s; };
    output_callback cb = append;
    REQUIRE(cb);
    auto owned = cb.to_function();  // a copy: works after the view is gone
    owned("ab");
    owned("c");
    CHECK(seen == "abc");
}

namespace {
// What parse_stream_message must give for a stdout/stderr message, from
// boost::json itself: the oracle for the fast path that skips it.
void check_like_boost_json(const std::string& text) {
    CAPTURE(text);
    boost::system::error_code ec;
    auto v = json::parse(text, ec);
    const json::value* type = !ec && v.is_object() ? v.as_object().if_contains("type") : nullptr;
    if (!type || !type->is_string()) {
        CHECK_THROWS_AS(parse_stream_message(text), protocol_error);
        CHECK_THROWS_AS(take_stream_message(std::string(text)), protocol_error);
        return;
    }
    auto e = parse_stream_message(text);
    auto taken = take_stream_message(std::string(text));  // the in-place reading gives the same
    REQUIRE(bool(taken) == bool(e));
    if (e) {
        CHECK(taken->kind == e->kind);
        CHECK(taken->data == e->data);
    }
    std::string_view t = type->get_string();
    if (t != "stdout" && t != "stderr") {
        bool known = t == "start" || t == "exit" || t == "error";
        CHECK(bool(e) == known);
        if (e) CHECK_FALSE((e->is_stdout() || e->is_stderr()));
        return;
    }
    REQUIRE(e);
    CHECK(e->kind == (t == "stdout" ? stream_event_kind::stdout_data : stream_event_kind::stderr_data));
    const json::value* data = v.as_object().if_contains("data");
    CHECK(e->data == (data && data->is_string() ? std::string(data->get_string()) : std::string()));
}
} // namespace

TEST_CASE("stdout and stderr messages read like boost::json reads them, byte by byte and cut anywhere", "[stream]") {
    std::vector<std::string> bodies = {"", "x", "hello world", std::string(300, 'y')};
    // every byte raw, and as each escape JSON has
    for (int b = 0; b < 256; ++b) {
        bodies.push_back("a" + std::string(1, static_cast<char>(b)) + "z");
        char u[8];
        std::snprintf(u, sizeof u, "\\u%04x", b);
        bodies.push_back(std::string("a") + u + "z");
        bodies.push_back(std::string("\\") + static_cast<char>(b));
    }
    for (std::string b : {R"(\"\\\/\b\f\n\r\t)", R"(\ud83d\ude00)", R"(\ud83d)", R"(trailing\)", "\xc3\xa9t\xc3\xa9",
                          "\xff\xfe", R"(\u00e9)", "tab\there"})
        bodies.push_back(b);
    std::vector<std::string> messages;
    for (auto& b : bodies)
        for (std::string type : {"stdout", "stderr"}) {
            std::string m = R"({"type":")" + type + R"(","data":")" + b + R"("})";
            messages.push_back(m);
            messages.push_back(m + "\n");
        }
    // the shapes the fast path leaves to boost::json, and near misses of it
    for (std::string m : {R"({"data":"x","type":"stdout"})", R"({ "type":"stdout","data":"x"})",
                          R"({"type": "stdout", "data": "x"})", R"({"type":"stdout","data":"x","extra":1})",
                          R"({"type":"stdout","data":"a","data":"b"})", R"({"type":"stdout","data":5})",
                          R"({"type":"stdouts","data":"x"})", R"({"type":"stdo","data":"x"})",
                          R"({"type":"stdin","data":"x"})", R"({"type":"stdout","data":"x"} )",
                          R"({"type":"stdout","data":"x"}})", R"({"type":"stdout","data":"x"}x)",
                          R"({"type":"stdout","data":"x"}
 	)", R"({"type":"stdout","datum":"x"})", R"({"type":"stdout","data":"x"]})",
                          R"({"type":"stderr"})", R"({"type":"stdout","data":null})"})
        messages.push_back(m);
    for (auto& m : messages) {
        check_like_boost_json(m);
        for (std::size_t cut = 0; cut < m.size() && cut < 40; ++cut) check_like_boost_json(m.substr(0, cut));
        check_like_boost_json(m.substr(0, m.size() - 1));
    }
    // every byte at every place of the scan's eight-byte steps and of the tail after them
    for (int b = 0; b < 256; ++b)
        for (std::size_t at = 0; at < 40; ++at) {
            std::string body = std::string(at, 'x') + static_cast<char>(b) + std::string(39 - at, 'y');
            check_like_boost_json(R"({"type":"stdout","data":")" + body + R"("})");
        }
    // escapes at every place of the scan's steps, and runs of every length between them
    for (std::string esc : {R"(\n)", R"(\")", R"(\\)", R"(\/)", R"(\t)", R"(\u0041)"})
        for (std::size_t at = 0; at < 40; ++at) {
            std::string body = std::string(at, 'x') + esc + std::string(39 - at, 'y') + esc + esc;
            check_like_boost_json(R"({"type":"stderr","data":")" + body + R"("})");
        }
    // the wire's own shape takes the fast path and still reads every escape
    auto e = parse_stream_message("{\"type\":\"stderr\",\"data\":\"a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti\"}\n");
    REQUIRE(e);
    CHECK(e->is_stderr());
    CHECK(e->data == "a\"b\\c/d\be\ff\ng\rh\ti");
}
