// The code runner's Jupyter protocol, sans-I/O (WIRE.md §13): ids, kernel
// REST bodies, the execute_request frame, the decoding of every kernel
// message (in the shapes jupyter_server's legacy JSON WebSocket protocol
// sends them) and the execution they build.
#include <catch2/catch.hpp>

#include <wrenn/error.hpp>
#include <wrenn/execution.hpp>
#include <wrenn/protocol/jupyter.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace json = boost::json;
using namespace wrenn;
using namespace wrenn::protocol::jupyter;
using kind = kernel_event::kind;

namespace {

json::value J(const std::string& s) { return json::parse(s); }

const std::string REQ = "5f0c1d2e-3a4b-4c5d-8e6f-708192a3b4c5";
const std::string SESSION = "0b1c2d3e-4f50-4172-8394-a5b6c7d8e9f0";

// The request's header, as the kernel echoes it in parent_header.
std::string request_header(const std::string& msg_id = REQ) {
    return R"({"msg_id":")" + msg_id + R"(","msg_type":"execute_request","username":"wrenn-sdk","session":")" +
           SESSION + R"(","date":"2024-03-05T07:08:09.000000Z","version":"5.3"})";
}

// A message as jupyter_server relays it over the legacy JSON protocol: the
// kernel's header, top-level msg_id and msg_type, the request's header as
// parent_header, metadata, content, buffers and channel.
std::string kernel_msg(const std::string& type, const std::string& content, const std::string& parent = REQ,
                       const std::string& channel = "iopub") {
    static int seq = 0;
    std::string id = "e1f2a3b4-c5d6e7f8a9b0c1d2e3f4a5b6_2741_" + std::to_string(++seq);
    std::string parent_header = parent.empty() ? "{}" : request_header(parent);
    return R"({"header":{"msg_id":")" + id + R"(","msg_type":")" + type +
           R"(","username":"jovyan","session":"e1f2a3b4-c5d6e7f8a9b0c1d2e3f4a5b6","date":"2024-03-05T07:08:09.412345Z","version":"5.3"},)" +
           R"("msg_id":")" + id + R"(","msg_type":")" + type + R"(","parent_header":)" + parent_header +
           R"(,"metadata":{},"content":)" + content + R"(,"buffers":[],"channel":")" + channel + R"("})";
}

kernel_event event_of(const std::string& text) {
    auto ev = parse_kernel_message(text, REQ);
    REQUIRE(ev);
    return *ev;
}

const std::string TRACEBACK_JSON =
    R"(["\u001b[0;31m---------------------------------------------------------------------------\u001b[0m",)"
    R"J("\u001b[0;31mZeroDivisionError\u001b[0m                         Traceback (most recent call last)",)J"
    R"("Cell \u001b[0;32mIn[1], line 1\u001b[0m\n\u001b[0;32m----> 1\u001b[0m \u001b[38;5;241;43m1\u001b[39;49m\u001b[38;5;241;43m/\u001b[39;49m\u001b[38;5;241;43m0\u001b[39;49m\n",)"
    R"("\u001b[0;31mZeroDivisionError\u001b[0m: division by zero"])";

std::string joined_traceback() {
    std::string out;
    bool first = true;
    auto lines = J(TRACEBACK_JSON);
    for (auto& line : lines.get_array()) {
        if (!first) out += "\n";
        out += line.get_string();
        first = false;
    }
    return out;
}

} // namespace

// ---------------------------------------------------------------- ids ----

TEST_CASE("uuid4: fixed bytes give the exact string with version and variant bits", "[jupyter]") {
    std::array<std::uint8_t, 16> zero{};
    CHECK(format_uuid4(zero) == "00000000-0000-4000-8000-000000000000");

    std::array<std::uint8_t, 16> ones;
    ones.fill(0xFF);
    CHECK(format_uuid4(ones) == "ffffffff-ffff-4fff-bfff-ffffffffffff");

    std::array<std::uint8_t, 16> seq{};
    for (std::size_t i = 0; i < seq.size(); ++i) seq[i] = static_cast<std::uint8_t>(i);
    CHECK(format_uuid4(seq) == "00010203-0405-4607-8809-0a0b0c0d0e0f");

    std::array<std::uint8_t, 16> mixed{0xDE, 0xAD, 0xBE, 0xEF, 0x12, 0x34, 0xA6, 0x78,
                                       0x5A, 0xBC, 0xDE, 0xF0, 0x01, 0x23, 0x45, 0x67};
    CHECK(format_uuid4(mixed) == "deadbeef-1234-4678-9abc-def001234567");
}

TEST_CASE("uuid4: random ids are well-formed version 4 and distinct", "[jupyter]") {
    const std::regex shape("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
    std::set<std::string> seen;
    std::set<char> variants;
    for (int i = 0; i < 2000; ++i) {
        auto id = random_uuid4();
        REQUIRE(id.size() == 36);
        REQUIRE(std::regex_match(id, shape));
        variants.insert(id[19]);
        seen.insert(id);
    }
    CHECK(seen.size() == 2000);
    CHECK(variants.size() > 1);  // the variant nibble's low bits are random
}

// --------------------------------------------------------- kernel REST ----

TEST_CASE("find_kernel: the first kernel with the name, or none", "[jupyter]") {
    const std::string kernels = R"([
      {"id":"11111111-aaaa-4aaa-8aaa-111111111111","name":"python3","last_activity":"2024-03-05T07:00:00.000000Z",
       "execution_state":"idle","connections":0},
      {"id":"22222222-bbbb-4bbb-8bbb-222222222222","name":"wrenn","last_activity":"2024-03-05T07:01:00.000000Z",
       "execution_state":"busy","connections":1},
      {"id":"33333333-cccc-4ccc-8ccc-333333333333","name":"wrenn","last_activity":"2024-03-05T07:02:00.000000Z",
       "execution_state":"idle","connections":0}])";
    CHECK(find_kernel(kernels, "wrenn") == "22222222-bbbb-4bbb-8bbb-222222222222");
    CHECK(find_kernel(kernels, "python3") == "11111111-aaaa-4aaa-8aaa-111111111111");
    CHECK(find_kernel(kernels, "ir") == std::nullopt);
    CHECK(find_kernel(kernels, "") == std::nullopt);
    CHECK(find_kernel(kernels, "Wrenn") == std::nullopt);  // names are exact
    CHECK(find_kernel("[]", "wrenn") == std::nullopt);
    CHECK(find_kernel(" [ ] \n", "python3") == std::nullopt);
}

TEST_CASE("kernel_state: the execution_state of a kernel model", "[jupyter]") {
    CHECK(kernel_state(R"({"id":"k","name":"wrenn","execution_state":"restarting","connections":1})") ==
          std::optional<std::string>("restarting"));
    CHECK(kernel_state(R"({"id":"k","execution_state":"idle"})") == std::optional<std::string>("idle"));
    CHECK(kernel_state(R"({"id":"k"})") == std::nullopt);
    CHECK(kernel_state(R"({"execution_state":7})") == std::nullopt);
    CHECK(kernel_state("[]") == std::nullopt);
    CHECK(kernel_state("not json") == std::nullopt);
}

TEST_CASE("kernelspec_names: the installed kernelspecs, sorted, or nullopt for other shapes", "[jupyter]") {
    const std::string specs = R"({"default":"python3","kernelspecs":{
        "wrenn":{"name":"wrenn","spec":{"argv":["python3"],"language":"python"},"resources":{}},
        "python3":{"name":"python3","spec":{},"resources":{}}}})";
    CHECK(kernelspec_names(specs) == std::vector<std::string>{"python3", "wrenn"});
    CHECK(kernelspec_names(R"({"kernelspecs":{}})") == std::vector<std::string>{});
    CHECK(kernelspec_names("[]") == std::nullopt);
    CHECK(kernelspec_names(R"({"kernelspecs":[]})") == std::nullopt);
    CHECK(kernelspec_names(R"({"default":"python3"})") == std::nullopt);
    CHECK(kernelspec_names("<html>502</html>") == std::nullopt);
    CHECK(kernelspec_names("") == std::nullopt);
}

TEST_CASE("find_kernel: malformed entries are skipped, non-arrays are protocol errors", "[jupyter]") {
    const std::string odd = R"([1, "wrenn", null, [], {"name":"wrenn"}, {"name":"wrenn","id":7},
        {"name":"wrenn","id":""}, {"name":3,"id":"x"}, {"id":"no-name"},
        {"name":"wrenn","id":"44444444-dddd-4ddd-8ddd-444444444444"}])";
    CHECK(find_kernel(odd, "wrenn") == "44444444-dddd-4ddd-8ddd-444444444444");

    CHECK_THROWS_AS(find_kernel("", "wrenn"), protocol_error);
    CHECK_THROWS_AS(find_kernel("<html>502 Bad Gateway</html>", "wrenn"), protocol_error);
    CHECK_THROWS_AS(find_kernel(R"({"kernels":[]})", "wrenn"), protocol_error);
    CHECK_THROWS_AS(find_kernel("null", "wrenn"), protocol_error);
    CHECK_THROWS_AS(find_kernel(R"("wrenn")", "wrenn"), protocol_error);
    CHECK_THROWS_AS(find_kernel("[{\"name\":\"wrenn\"", "wrenn"), protocol_error);
    try {
        find_kernel("Not Found", "wrenn");
        FAIL("no exception");
    } catch (const protocol_error& e) {
        CHECK(e.code() == "unexpected_answer");
        CHECK(e.message().find("Not Found") != std::string::npos);
    }
}

TEST_CASE("create_kernel_body and parse_kernel_id", "[jupyter]") {
    CHECK(create_kernel_body("wrenn") == R"({"name":"wrenn"})");
    CHECK(create_kernel_body("python3") == R"({"name":"python3"})");
    CHECK(J(create_kernel_body("a\"b\\c\n")) == J(R"({"name":"a\"b\\c\n"})"));

    const std::string model = R"({"id":"9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d","name":"wrenn",
        "last_activity":"2024-03-05T07:08:09.000000Z","execution_state":"starting","connections":0})";
    CHECK(parse_kernel_id(model) == "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d");
    CHECK(parse_kernel_id(R"({"id":"k"})") == "k");

    CHECK_THROWS_AS(parse_kernel_id(R"({"name":"wrenn"})"), protocol_error);
    CHECK_THROWS_AS(parse_kernel_id(R"({"id":42})"), protocol_error);
    CHECK_THROWS_AS(parse_kernel_id(R"({"id":null})"), protocol_error);
    CHECK_THROWS_AS(parse_kernel_id(R"({"id":""})"), protocol_error);
    CHECK_THROWS_AS(parse_kernel_id(R"([{"id":"k"}])"), protocol_error);
    CHECK_THROWS_AS(parse_kernel_id(""), protocol_error);
    CHECK_THROWS_AS(parse_kernel_id("Internal Server Error"), protocol_error);
}

// ------------------------------------------------------ execute_request ----

TEST_CASE("execute_request: the exact frame of WIRE §13.3", "[jupyter]") {
    using namespace std::chrono;
    auto now = sys_days{year{2024} / 3 / 5} + hours{7} + minutes{8} + seconds{9} + milliseconds{987};
    auto frame = execute_request("print('hi')\n1 + 1", REQ, SESSION, time_point_cast<system_clock::duration>(now));
    auto expected = J(R"({
      "header":{"msg_id":")" + REQ + R"(","msg_type":"execute_request","username":"wrenn-sdk",
                "session":")" + SESSION + R"(","date":"2024-03-05T07:08:09.000Z","version":"5.3"},
      "parent_header":{},"metadata":{},
      "content":{"code":"print('hi')\n1 + 1","silent":false,"store_history":true,
                 "user_expressions":{},"allow_stdin":false,"stop_on_error":true},
      "buffers":[],"channel":"shell"})");
    CHECK(J(frame) == expected);
    // the fields in the order of the spec, compact
    CHECK(frame.rfind(R"({"header":{"msg_id":")" + REQ + R"(","msg_type":"execute_request",)", 0) == 0);
    CHECK(frame.find('\n') == std::string::npos);
    CHECK(frame.find(R"("channel":"shell"})") == frame.size() - 18);
}

TEST_CASE("execute_request: date is UTC with literal .000Z, code is escaped", "[jupyter]") {
    using namespace std::chrono;
    auto date_of = [](system_clock::time_point t) {
        return std::string(J(execute_request("", "m", "s", t)).at("header").at("date").get_string());
    };
    CHECK(date_of(system_clock::time_point{}) == "1970-01-01T00:00:00.000Z");
    CHECK(date_of(system_clock::time_point{} - milliseconds{1}) == "1969-12-31T23:59:59.000Z");
    CHECK(date_of(sys_days{year{2000} / 2 / 29} + hours{23} + minutes{59} + seconds{59} + milliseconds{999}) ==
          "2000-02-29T23:59:59.000Z");
    CHECK(date_of(sys_days{year{2038} / 1 / 19} + hours{3} + minutes{14} + seconds{8}) == "2038-01-19T03:14:08.000Z");
    CHECK(date_of(sys_days{year{2099} / 12 / 31} + hours{12}) == "2099-12-31T12:00:00.000Z");
    const std::regex shape(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000Z$)");
    CHECK(std::regex_match(date_of(system_clock::now()), shape));

    std::string code = "s = \"quote\" + '\\\\' \t\x01 — ünïcode 🎉\n";
    auto v = J(execute_request(code, "m", "s", system_clock::now()));
    CHECK(v.at("content").at("code").get_string() == code);
    CHECK(v.at("header").at("msg_id") == "m");
    CHECK(v.at("header").at("session") == "s");
}

// --------------------------------------------- parse_kernel_message ----

TEST_CASE("stream: stdout, stderr, name defaults to stdout", "[jupyter]") {
    auto ev = event_of(kernel_msg("stream", R"({"name":"stdout","text":"hello\n"})"));
    CHECK(ev.type == kind::stdout_text);
    CHECK(ev.text == "hello\n");
    CHECK_FALSE(ev.value);
    CHECK_FALSE(ev.error);
    CHECK_FALSE(ev.execution_count);

    ev = event_of(kernel_msg("stream", R"({"name":"stderr","text":"warning: x\n"})"));
    CHECK(ev.type == kind::stderr_text);
    CHECK(ev.text == "warning: x\n");

    ev = event_of(kernel_msg("stream", R"({"text":"no name"})"));
    CHECK(ev.type == kind::stdout_text);
    CHECK(ev.text == "no name");

    ev = event_of(kernel_msg("stream", R"({"name":"STDERR","text":"x"})"));  // only "stderr" is stderr
    CHECK(ev.type == kind::stdout_text);
    ev = event_of(kernel_msg("stream", R"({"name":null,"text":"x"})"));
    CHECK(ev.type == kind::stdout_text);

    ev = event_of(kernel_msg("stream", R"({"name":"stderr"})"));  // text defaults to ""
    CHECK(ev.type == kind::stderr_text);
    CHECK(ev.text.empty());
    ev = event_of(kernel_msg("stream", R"({"name":"stdout","text":["a","b"]})"));
    CHECK(ev.text.empty());

    ev = event_of(kernel_msg("stream", R"({"name":"stdout","text":"caf\u00e9 \ud83c\udf89 \u001b[1mbold\u001b[0m\r\n"})"));
    CHECK(ev.text == "café 🎉 \x1b[1mbold\x1b[0m\r\n");
}

TEST_CASE("execute_result: a main result with its execution count", "[jupyter]") {
    auto ev = event_of(kernel_msg("execute_result",
                                  R"({"data":{"text/plain":"'hi'"},"metadata":{},"execution_count":3})"));
    CHECK(ev.type == kind::result);
    REQUIRE(ev.value);
    CHECK(ev.value->is_main_result);
    CHECK(ev.value->text == "'hi'");
    CHECK(ev.value->formats() == std::vector<std::string>{"text"});
    CHECK(ev.execution_count == 3);

    // a pandas DataFrame
    ev = event_of(kernel_msg("execute_result", R"({"data":{"text/plain":"   a\n0  1",
        "text/html":"<div><table class=\"dataframe\"><tr><td>1</td></tr></table></div>"},
        "metadata":{},"execution_count":12,"transient":{}})"));
    REQUIRE(ev.value);
    CHECK(ev.value->text == "   a\n0  1");
    CHECK(ev.value->html == "<div><table class=\"dataframe\"><tr><td>1</td></tr></table></div>");
    CHECK(ev.execution_count == 12);

    // execution_count absent, null or not an int: none
    ev = event_of(kernel_msg("execute_result", R"({"data":{"text/plain":"1"},"metadata":{}})"));
    CHECK_FALSE(ev.execution_count);
    ev = event_of(kernel_msg("execute_result", R"({"data":{"text/plain":"1"},"execution_count":null})"));
    CHECK_FALSE(ev.execution_count);
    ev = event_of(kernel_msg("execute_result", R"({"data":{},"execution_count":"3"})"));
    CHECK_FALSE(ev.execution_count);
    ev = event_of(kernel_msg("execute_result", R"({"data":{},"execution_count":2.5})"));
    CHECK_FALSE(ev.execution_count);
    ev = event_of(kernel_msg("execute_result", R"({"data":{},"execution_count":4.0})"));
    CHECK(ev.execution_count == 4);
    ev = event_of(kernel_msg("execute_result", R"({"data":{},"execution_count":9999999999})"));
    CHECK_FALSE(ev.execution_count);
    ev = event_of(kernel_msg("execute_result", R"({"data":{},"execution_count":-1})"));
    CHECK(ev.execution_count == -1);

    // no data, or data that is not an object: an empty main result
    ev = event_of(kernel_msg("execute_result", R"({"execution_count":1})"));
    REQUIRE(ev.value);
    CHECK(ev.value->is_main_result);
    CHECK(ev.value->formats().empty());
    ev = event_of(kernel_msg("execute_result", R"({"data":"7","execution_count":1})"));
    REQUIRE(ev.value);
    CHECK(ev.value->formats().empty());
}

TEST_CASE("display_data: not the main result, no execution count", "[jupyter]") {
    // a matplotlib figure
    auto ev = event_of(kernel_msg("display_data", R"({"data":{"image/png":"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==\n",
        "text/plain":"<Figure size 640x480 with 1 Axes>"},"metadata":{"image/png":{"width":640,"height":480}},"transient":{}})"));
    CHECK(ev.type == kind::result);
    REQUIRE(ev.value);
    CHECK_FALSE(ev.value->is_main_result);
    CHECK(ev.value->png ==
          "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==\n");
    CHECK(ev.value->text == "<Figure size 640x480 with 1 Axes>");
    CHECK(ev.value->formats() == std::vector<std::string>{"text", "png"});
    CHECK_FALSE(ev.execution_count);

    // display(..., display_id=True) carries a transient display_id: still a plain result
    ev = event_of(kernel_msg("display_data", R"({"data":{"text/markdown":"**bold**"},"metadata":{},
        "transient":{"display_id":"7f3e0c2a9b1d4e5f8a6b7c8d9e0f1a2b"}})"));
    REQUIRE(ev.value);
    CHECK(ev.value->markdown == "**bold**");
    CHECK_FALSE(ev.value->is_main_result);

    // an execution_count on display_data (not in the spec) is not taken
    ev = event_of(kernel_msg("display_data", R"({"data":{},"execution_count":5})"));
    CHECK_FALSE(ev.execution_count);
}

TEST_CASE("error: ename, evalue, traceback joined with newlines (ANSI kept)", "[jupyter]") {
    auto ev = event_of(kernel_msg("error", R"({"ename":"ZeroDivisionError","evalue":"division by zero","traceback":)" +
                                               TRACEBACK_JSON + "}"));
    CHECK(ev.type == kind::error);
    REQUIRE(ev.error);
    CHECK(ev.error->name == "ZeroDivisionError");
    CHECK(ev.error->value == "division by zero");
    CHECK(ev.error->traceback == joined_traceback());
    CHECK(ev.error->traceback.find("\x1b[0;31mZeroDivisionError\x1b[0m: division by zero") != std::string::npos);
    CHECK(ev.error->traceback.find("\n\x1b[0;31mZeroDivisionError\x1b[0m                         Traceback") !=
          std::string::npos);
    CHECK_FALSE(ev.value);

    ev = event_of(kernel_msg("error", R"({"ename":"E","evalue":"v","traceback":["a","b","c"]})"));
    CHECK(ev.error->traceback == "a\nb\nc");
    ev = event_of(kernel_msg("error", R"({"ename":"E","evalue":"v","traceback":[]})"));
    CHECK(ev.error->traceback.empty());
    ev = event_of(kernel_msg("error", R"({"ename":"E","evalue":"v","traceback":["only"]})"));
    CHECK(ev.error->traceback == "only");

    // defaults and odd shapes
    ev = event_of(kernel_msg("error", "{}"));
    CHECK(ev.type == kind::error);
    REQUIRE(ev.error);
    CHECK(*ev.error == execution_error{});
    ev = event_of(kernel_msg("error", R"({"ename":1,"evalue":null,"traceback":"one string"})"));
    CHECK(*ev.error == execution_error{"", "", "one string"});
    ev = event_of(kernel_msg("error", R"({"ename":"E","traceback":["a",1,null,"b"]})"));
    CHECK(ev.error->traceback == "a\nb");
    ev = event_of(kernel_msg("error", R"({"ename":"E","traceback":{"0":"a"}})"));
    CHECK(ev.error->traceback.empty());
}

TEST_CASE("status: idle ends the cell, busy and others do not", "[jupyter]") {
    CHECK(event_of(kernel_msg("status", R"({"execution_state":"idle"})")).type == kind::idle);
    CHECK(event_of(kernel_msg("status", R"({"execution_state":"busy"})")).type == kind::other);
    CHECK(event_of(kernel_msg("status", R"({"execution_state":"starting"})")).type == kind::other);
    CHECK(event_of(kernel_msg("status", "{}")).type == kind::other);
    CHECK(event_of(kernel_msg("status", R"({"execution_state":"IDLE"})")).type == kind::other);
    CHECK(event_of(kernel_msg("status", R"({"execution_state":null})")).type == kind::other);
    // the idle of another request (or of no request) is not ours
    CHECK_FALSE(parse_kernel_message(kernel_msg("status", R"({"execution_state":"idle"})", "other-msg-id"), REQ));
    CHECK_FALSE(parse_kernel_message(kernel_msg("status", R"({"execution_state":"idle"})", ""), REQ));
}

TEST_CASE("status: restarting or dead means the kernel died, whoever's request it is", "[jupyter]") {
    for (const char* state : {"restarting", "dead"}) {
        CAPTURE(state);
        const std::string content = std::string(R"({"execution_state":")") + state + "\"}";
        // Jupyter sends it with an empty parent; any parent (or none) counts
        for (const std::string& parent : {std::string(""), std::string("someone-else"), std::string(REQ)})
            CHECK(event_of(kernel_msg("status", content, parent)).type == kind::kernel_died);
        auto bare = parse_kernel_message(std::string(R"({"msg_type":"status","content":)") + content + "}", REQ);
        REQUIRE(bare);
        CHECK(bare->type == kind::kernel_died);
    }
    wrenn::execution e;
    apply(e, event_of(kernel_msg("stream", R"({"name":"stdout","text":"partial\n"})")));
    CHECK(apply(e, event_of(kernel_msg("status", R"({"execution_state":"restarting"})", ""))));
    REQUIRE(e.error);
    CHECK(e.error->name == "DeadKernelError");
    CHECK(e.error->value.find("died") != std::string::npos);
    CHECK(e.logs.stdout_text() == "partial\n");  // what came before is kept
}

TEST_CASE("execute_input is started, execute_reply is reply with its status, both with their execution count", "[jupyter]") {
    auto ev = event_of(kernel_msg("execute_input", R"({"code":"1/0","execution_count":7})"));
    CHECK(ev.type == kind::started);
    CHECK(ev.execution_count == 7);
    CHECK_FALSE(ev.value);
    CHECK_FALSE(ev.error);

    ev = event_of(kernel_msg("execute_reply", R"({"status":"ok","execution_count":8,"user_expressions":{},
        "payload":[]})", REQ, "shell"));
    CHECK(ev.type == kind::reply);
    CHECK(ev.reply_status == "ok");
    CHECK(ev.execution_count == 8);

    // an error reply repeats the error, which the iopub `error` message already gave: not an error event
    ev = event_of(kernel_msg("execute_reply", R"({"status":"error","execution_count":9,"ename":"NameError",
        "evalue":"name 'x' is not defined","traceback":["t"],
        "engine_info":{"engine_uuid":"u","engine_id":-1,"method":"execute"}})", REQ, "shell"));
    CHECK(ev.type == kind::reply);
    CHECK(ev.reply_status == "error");
    CHECK_FALSE(ev.error);
    CHECK(ev.execution_count == 9);

    ev = event_of(kernel_msg("execute_input", R"({"code":"x"})"));
    CHECK_FALSE(ev.execution_count);
}

TEST_CASE("an aborted execute_reply, as ipykernel sends it, has status aborted and no count", "[jupyter]") {
    auto ev = event_of(kernel_msg("execute_reply", R"({"status":"aborted"})", REQ, "shell"));
    CHECK(ev.type == kind::reply);
    CHECK(ev.reply_status == "aborted");
    CHECK_FALSE(ev.execution_count);
    // a status that is not a string reads as absent
    ev = event_of(kernel_msg("execute_reply", R"({"status":7})", REQ, "shell"));
    CHECK(ev.type == kind::reply);
    CHECK(ev.reply_status.empty());
}

namespace {
// Feeds the messages, in order, to advance(); the step after each.
std::vector<cell_step> steps_of(const std::vector<std::string>& frames) {
    cell_progress p;
    std::vector<cell_step> steps;
    for (auto& f : frames) steps.push_back(advance(p, event_of(f)));
    return steps;
}
const std::string BUSY = R"({"execution_state":"busy"})";
const std::string IDLE = R"({"execution_state":"idle"})";
} // namespace

TEST_CASE("advance: a cell that ran is finished at idle, whether its reply came before or after", "[jupyter]") {
    using enum cell_step;
    auto input = kernel_msg("execute_input", R"({"code":"x","execution_count":3})");
    auto result = kernel_msg("execute_result", R"({"data":{"text/plain":"41"},"metadata":{},"execution_count":3})");
    auto ok = kernel_msg("execute_reply", R"({"status":"ok","execution_count":3})", REQ, "shell");
    // the usual order: iopub's idle first, the shell reply after (not waited for)
    CHECK(steps_of({kernel_msg("status", BUSY), input, result, kernel_msg("status", IDLE), ok}) ==
          std::vector<cell_step>{more, more, more, finished, finished});
    // the reply first: still waits for idle, since output may follow on iopub
    CHECK(steps_of({kernel_msg("status", BUSY), input, ok, result, kernel_msg("status", IDLE)}) ==
          std::vector<cell_step>{more, more, more, more, finished});
    // a kernel that publishes no execute_input: its output says it ran
    CHECK(steps_of({kernel_msg("stream", R"({"name":"stdout","text":"a"})"), kernel_msg("status", IDLE)}) ==
          std::vector<cell_step>{more, finished});
    // ... and with no output at all, its reply does
    CHECK(steps_of({kernel_msg("status", BUSY), kernel_msg("status", IDLE), ok}) ==
          std::vector<cell_step>{more, more, finished});
    // a failed cell (its error reply) is finished, not aborted
    CHECK(steps_of({input, kernel_msg("error", R"({"ename":"E","evalue":"v","traceback":[]})"),
                    kernel_msg("execute_reply", R"({"status":"error"})", REQ, "shell"), kernel_msg("status", IDLE)}) ==
          std::vector<cell_step>{more, more, more, finished});
}

TEST_CASE("advance: a cell the kernel aborted unrun is aborted, in either order of idle and reply", "[jupyter]") {
    using enum cell_step;
    auto abort_reply = kernel_msg("execute_reply", R"({"status":"aborted"})", REQ, "shell");
    // idle before the reply: not finished (the cell did not run), then aborted
    CHECK(steps_of({kernel_msg("status", BUSY), kernel_msg("status", IDLE), abort_reply}) ==
          std::vector<cell_step>{more, more, aborted});
    CHECK(steps_of({kernel_msg("status", BUSY), abort_reply}) == std::vector<cell_step>{more, aborted});
    // an "aborted" reply after the cell visibly ran is only a reply
    CHECK(steps_of({kernel_msg("execute_input", R"({"code":"x"})"), abort_reply, kernel_msg("status", IDLE)}) ==
          std::vector<cell_step>{more, more, finished});
}

TEST_CASE("advance: kernel_died finishes the cell at once", "[jupyter]") {
    cell_progress p;
    CHECK(advance(p, event_of(kernel_msg("status", BUSY))) == cell_step::more);
    CHECK(advance(p, event_of(kernel_msg("status", R"({"execution_state":"dead"})", ""))) == cell_step::finished);
    cell_progress fresh;
    CHECK(advance(fresh, event_of(kernel_msg("status", R"({"execution_state":"restarting"})", ""))) ==
          cell_step::finished);
}

TEST_CASE("clear_output, update_display_data, comm and unknown messages are other", "[jupyter]") {
    const std::vector<std::pair<std::string, std::string>> msgs = {
        {"clear_output", R"({"wait":false})"},
        {"clear_output", R"({"wait":true})"},
        {"update_display_data", R"({"data":{"text/plain":"updated"},"metadata":{},"transient":{"display_id":"d1"}})"},
        {"comm_open", R"({"comm_id":"c1","target_name":"jupyter.widget","data":{"state":{}},"target_module":null})"},
        {"comm_msg", R"({"comm_id":"c1","data":{"method":"update","state":{"value":3}}})"},
        {"comm_close", R"({"comm_id":"c1","data":{}})"},
        {"input_request", R"({"prompt":"name? ","password":false})"},
        {"shutdown_reply", R"({"status":"ok","restart":false})"},
        {"debug_event", R"({"seq":1,"type":"event","event":"stopped","body":{}})"},
        {"some_future_type", R"({"execution_count":1,"text":"x"})"},
    };
    for (auto& [type, content] : msgs) {
        INFO(type);
        auto ev = event_of(kernel_msg(type, content));
        CHECK(ev.type == kind::other);
        CHECK(ev.text.empty());
        CHECK_FALSE(ev.value);
        CHECK_FALSE(ev.error);
        CHECK_FALSE(ev.execution_count);
    }
}

TEST_CASE("messages for another request are ignored", "[jupyter]") {
    const std::vector<std::pair<std::string, std::string>> msgs = {
        {"stream", R"({"name":"stdout","text":"x"})"},
        {"execute_result", R"({"data":{"text/plain":"1"},"execution_count":1})"},
        {"display_data", R"({"data":{"text/plain":"1"}})"},
        {"error", R"({"ename":"E","evalue":"v","traceback":[]})"},
        {"status", R"({"execution_state":"idle"})"},
        {"status", R"({"execution_state":"busy"})"},
        {"execute_input", R"({"code":"","execution_count":1})"},
    };
    for (auto& [type, content] : msgs) {
        INFO(type);
        CHECK(parse_kernel_message(kernel_msg(type, content), REQ));
        CHECK_FALSE(parse_kernel_message(kernel_msg(type, content, "another-request"), REQ));
        CHECK_FALSE(parse_kernel_message(kernel_msg(type, content, REQ + "x"), REQ));
        CHECK_FALSE(parse_kernel_message(kernel_msg(type, content, ""), REQ));  // parent_header {}
        CHECK_FALSE(parse_kernel_message(kernel_msg(type, content), "another-request"));
        CHECK_FALSE(parse_kernel_message(kernel_msg(type, content), ""));
    }
    // the kernel's startup status has an empty parent
    CHECK_FALSE(parse_kernel_message(
        R"({"header":{"msg_id":"a","msg_type":"status"},"msg_id":"a","msg_type":"status","parent_header":{},
            "metadata":{},"content":{"execution_state":"starting"},"buffers":[],"channel":"iopub"})",
        REQ));
    // only parent_header.msg_id counts: not header.msg_id, not the top-level msg_id
    auto own_id = R"({"header":{"msg_id":")" + REQ + R"(","msg_type":"stream"},"msg_id":")" + REQ +
                  R"(","msg_type":"stream","parent_header":{"msg_id":"x"},"content":{"text":"t"}})";
    CHECK_FALSE(parse_kernel_message(own_id, REQ));
}

TEST_CASE("msg_type: top-level field first, header.msg_type as fallback", "[jupyter]") {
    auto ph = R"("parent_header":{"msg_id":")" + REQ + R"("})";
    // only in the header
    auto ev = event_of(R"({"header":{"msg_id":"k1","msg_type":"stream"},)" + ph +
                       R"(,"metadata":{},"content":{"name":"stderr","text":"e"}})");
    CHECK(ev.type == kind::stderr_text);
    CHECK(ev.text == "e");
    ev = event_of(R"({"header":{"msg_type":"status"},)" + ph + R"(,"content":{"execution_state":"idle"}})");
    CHECK(ev.type == kind::idle);
    // only at the top level
    ev = event_of(R"({"msg_type":"status",)" + ph + R"(,"content":{"execution_state":"idle"}})");
    CHECK(ev.type == kind::idle);
    // both: the top level wins
    ev = event_of(R"({"msg_type":"status","header":{"msg_type":"stream"},)" + ph +
                  R"(,"content":{"execution_state":"idle","text":"t"}})");
    CHECK(ev.type == kind::idle);
    // a top-level msg_type that is not a string falls back to the header
    ev = event_of(R"({"msg_type":null,"header":{"msg_type":"stream"},)" + ph + R"(,"content":{"text":"t"}})");
    CHECK(ev.type == kind::stdout_text);
    ev = event_of(R"({"msg_type":5,"header":{"msg_type":"error"},)" + ph + R"(,"content":{"ename":"E"}})");
    CHECK(ev.type == kind::error);
    // neither: ours, but of no known type
    ev = event_of(R"({)" + ph + R"(,"content":{"execution_state":"idle"}})");
    CHECK(ev.type == kind::other);
    ev = event_of(R"({"header":"stream",)" + ph + R"(,"content":{"text":"t"}})");
    CHECK(ev.type == kind::other);
    ev = event_of(R"({"header":{"msg_type":["stream"]},)" + ph + R"(,"content":{"text":"t"}})");
    CHECK(ev.type == kind::other);
}

TEST_CASE("lenient shapes: missing or mistyped content never throws", "[jupyter]") {
    auto ph = R"("parent_header":{"msg_id":")" + REQ + R"("})";
    // no content: every field at its default
    auto ev = event_of(R"({"msg_type":"stream",)" + ph + "}");
    CHECK(ev.type == kind::stdout_text);
    CHECK(ev.text.empty());
    ev = event_of(R"({"msg_type":"execute_result",)" + ph + R"(,"content":[1,2]})");
    CHECK(ev.type == kind::result);
    REQUIRE(ev.value);
    CHECK(ev.value->is_main_result);
    CHECK_FALSE(ev.execution_count);
    ev = event_of(R"({"msg_type":"display_data",)" + ph + R"(,"content":null})");
    CHECK(ev.type == kind::result);
    ev = event_of(R"({"msg_type":"error",)" + ph + R"(,"content":"boom"})");
    CHECK(ev.type == kind::error);
    CHECK(*ev.error == execution_error{});
    ev = event_of(R"({"msg_type":"status",)" + ph + R"(,"content":"idle"})");
    CHECK(ev.type == kind::other);

    // extra fields anywhere are fine
    ev = event_of(R"({"msg_type":"stream","future":{"x":[1,2,3]},"header":{"subshell_id":null},)" + ph +
                  R"(,"content":{"name":"stdout","text":"ok","new_field":true},"buffers":["AAEC"],"channel":"iopub"})");
    CHECK(ev.text == "ok");

    // parent_header present but odd: not ours
    auto pmsg = [](const std::string& parent) {
        return R"({"msg_type":"status","parent_header":)" + parent + R"(,"content":{"execution_state":"idle"}})";
    };
    CHECK_FALSE(parse_kernel_message(pmsg("null"), REQ));
    CHECK_FALSE(parse_kernel_message(pmsg("\"" + REQ + "\""), REQ));
    CHECK_FALSE(parse_kernel_message(pmsg("[\"" + REQ + "\"]"), REQ));
    CHECK_FALSE(parse_kernel_message(pmsg(R"({"msg_id":null})"), REQ));
    CHECK_FALSE(parse_kernel_message(pmsg(R"({"msg_id":5})"), REQ));
    CHECK_FALSE(parse_kernel_message(pmsg(R"({"msg_id":[")" + REQ + R"("]})"), REQ));
    CHECK_FALSE(parse_kernel_message(R"({"msg_type":"status","content":{"execution_state":"idle"}})", REQ));
}

TEST_CASE("JSON of the wrong shape is nullopt, text that is not JSON is a protocol error", "[jupyter]") {
    for (const char* text : {"null", "true", "0", "-1.5e3", "\"status\"", "[]", "{}", "[{\"msg_type\":\"status\"}]",
                             " {} ", "{\"parent_header\":{}}"}) {
        INFO(text);
        CHECK_FALSE(parse_kernel_message(text, REQ));
    }
    for (const char* text : {"", " ", "{", "}", "{\"a\":1", "{\"a\":1} x", "{'a':1}", "not json", "\x01\x02",
                             "{\"a\":1,}", "[1,2", "nul", "{\"a\":\"\\x\"}", "\"unterminated"}) {
        INFO(text);
        CHECK_THROWS_AS(parse_kernel_message(text, REQ), protocol_error);
    }
    try {
        parse_kernel_message("<html>Bad Gateway</html>", REQ);
        FAIL("no exception");
    } catch (const protocol_error& e) {
        CHECK(e.code() == "invalid_message");
        CHECK(e.message().find("Bad Gateway") != std::string::npos);
    }
}

TEST_CASE("JSON that Boost.JSON finds hard: lone surrogates, invalid UTF-8, deep nesting", "[jupyter]") {
    // Python's json.dumps writes a lone surrogate as an escape: it reads as U+FFFD
    auto ev = event_of(kernel_msg("stream", R"({"name":"stdout","text":"a\udce9b\ud800"})"));
    CHECK(ev.text == "a\xEF\xBF\xBD" "b\xEF\xBF\xBD");
    ev = event_of(kernel_msg("stream", R"({"name":"stdout","text":"\ud83c\udf89 \\ud800 \udf89\ud83c"})"));
    CHECK(ev.text == "🎉 \\ud800 \xEF\xBF\xBD\xEF\xBF\xBD");
    // raw bytes that are not UTF-8 are kept
    ev = event_of(kernel_msg("stream", "{\"name\":\"stdout\",\"text\":\"\xff\xfe\"}"));
    CHECK(ev.text == "\xff\xfe");
    // a deeply nested application/json value
    std::string deep;
    for (int i = 0; i < 200; ++i) deep += "[";
    for (int i = 0; i < 200; ++i) deep += "]";
    ev = event_of(kernel_msg("display_data", R"({"data":{"application/json":)" + deep + "}}"));
    REQUIRE(ev.value);
    REQUIRE(ev.value->json);
    CHECK(json::serialize(*ev.value->json) == deep);
}

// ---------------------------------------------------------- make_result ----

TEST_CASE("make_result: every MIME type maps to its field", "[jupyter]") {
    auto bundle = J(R"J({
      "text/plain":"<IPython.core.display.HTML object>",
      "text/html":"<b>hi</b>",
      "text/markdown":"# Title",
      "image/svg+xml":"<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
      "image/png":"iVBORw0KGgo=",
      "image/jpeg":"/9j/4AAQSkZJRg==",
      "image/gif":"R0lGODlhAQABAAAAACw=",
      "application/pdf":"JVBERi0xLjQK",
      "text/latex":"$\\alpha^2$",
      "application/javascript":"console.log(1)",
      "application/json":{"a":[1,2,{"b":null}],"c":"d"},
      "application/vnd.plotly.v1+json":{"data":[{"type":"bar","x":[1,2],"y":[3,4]}],"layout":{}}
    })J");
    auto r = make_result(bundle.get_object(), true);
    CHECK(r.is_main_result);
    CHECK(r.text == "<IPython.core.display.HTML object>");
    CHECK(r.html == "<b>hi</b>");
    CHECK(r.markdown == "# Title");
    CHECK(r.svg == "<svg xmlns=\"http://www.w3.org/2000/svg\"/>");
    CHECK(r.png == "iVBORw0KGgo=");
    CHECK(r.jpeg == "/9j/4AAQSkZJRg==");
    CHECK(r.gif == "R0lGODlhAQABAAAAACw=");
    CHECK(r.pdf == "JVBERi0xLjQK");
    CHECK(r.latex == "$\\alpha^2$");
    CHECK(r.javascript == "console.log(1)");
    CHECK(r.json == J(R"({"a":[1,2,{"b":null}],"c":"d"})"));
    CHECK(r.plotly == J(R"({"data":[{"type":"bar","x":[1,2],"y":[3,4]}],"layout":{}})"));
    CHECK(r.extra.empty());
    CHECK(r.formats() == std::vector<std::string>{"text", "html", "markdown", "svg", "png", "jpeg", "gif", "pdf",
                                                  "latex", "json", "javascript", "plotly"});

    CHECK_FALSE(make_result(bundle.get_object(), false).is_main_result);

    // one at a time: exactly one field set
    for (auto& kv : bundle.get_object()) {
        json::object one;
        one[kv.key()] = kv.value();
        auto single = make_result(one, false);
        INFO(std::string(kv.key()));
        CHECK(single.formats().size() == 1);
        CHECK(single.extra.empty());
    }
}

TEST_CASE("make_result: other MIME types go to extra, formats lists them after the named fields", "[jupyter]") {
    auto bundle = J(R"J({
      "text/plain":"Widget",
      "application/vnd.jupyter.widget-view+json":{"model_id":"abc","version_major":2,"version_minor":0},
      "image/bmp":"Qk0=",
      "application/geo+json":{"type":"Point","coordinates":[1,2]},
      "image/png":"iVBORw0KGgo=",
      "text/x-python":"print(1)"
    })J");
    auto r = make_result(bundle.get_object(), false);
    CHECK(r.text == "Widget");
    CHECK(r.png == "iVBORw0KGgo=");
    REQUIRE(r.extra.size() == 4);
    CHECK(r.extra.at("application/vnd.jupyter.widget-view+json") ==
          J(R"({"model_id":"abc","version_major":2,"version_minor":0})"));
    CHECK(r.extra.at("image/bmp") == "Qk0=");
    CHECK(r.extra.at("application/geo+json") == J(R"({"type":"Point","coordinates":[1,2]})"));
    CHECK(r.extra.at("text/x-python") == "print(1)");
    CHECK(r.formats() == std::vector<std::string>{"text", "png", "application/geo+json",
                                                  "application/vnd.jupyter.widget-view+json", "image/bmp",
                                                  "text/x-python"});
}

TEST_CASE("make_result: value shapes of the text types", "[jupyter]") {
    // nbformat's multi-line form (a list of strings) is joined as is
    auto r = make_result(J(R"({"text/plain":["line 1\n","line 2"],"text/html":[]})").get_object(), true);
    CHECK(r.text == "line 1\nline 2");
    CHECK(r.html == "");
    // a text type whose value is not a string keeps the value in extra
    r = make_result(J(R"({"text/plain":42,"image/png":null,"text/html":["a",1],"text/latex":{"x":1}})").get_object(),
                    false);
    CHECK_FALSE(r.text);
    CHECK_FALSE(r.png);
    CHECK_FALSE(r.html);
    CHECK_FALSE(r.latex);
    CHECK(r.extra.at("text/plain") == 42);
    CHECK(r.extra.at("image/png").is_null());
    CHECK(r.extra.at("text/html") == J(R"(["a",1])"));
    CHECK(r.extra.at("text/latex") == J(R"({"x":1})"));
    CHECK(r.formats() == std::vector<std::string>{"image/png", "text/html", "text/latex", "text/plain"});
    // application/json may be any JSON, even null or a string
    r = make_result(J(R"({"application/json":null,"application/vnd.plotly.v1+json":"x"})").get_object(), false);
    REQUIRE(r.json);
    CHECK(r.json->is_null());
    CHECK(r.plotly == "x");
    CHECK(r.formats() == std::vector<std::string>{"json", "plotly"});
    // an empty string is a set field; MIME names are exact (case, parameters)
    r = make_result(J(R"({"text/plain":"","Text/Plain":"x","text/html; charset=utf-8":"y"})").get_object(), false);
    CHECK(r.text == "");
    CHECK(r.extra.size() == 2);
    CHECK(r.formats() == std::vector<std::string>{"text", "Text/Plain", "text/html; charset=utf-8"});
    // empty bundle
    r = make_result(json::object{}, true);
    CHECK(r.formats().empty());
    CHECK(r.is_main_result);
}

TEST_CASE("result::formats: order of the named fields with extras", "[jupyter]") {
    result r;
    CHECK(r.formats().empty());
    r.plotly = json::object{};
    r.extra["b/b"] = 1;
    r.extra["a/a"] = 2;
    r.gif = "g";
    r.text = "t";
    r.json = json::array{};
    r.jpeg = "j";
    CHECK(r.formats() == std::vector<std::string>{"text", "jpeg", "gif", "json", "plotly", "a/a", "b/b"});
}

// ---------------------------------------------------- apply / execution ----

TEST_CASE("apply: a whole cell builds the execution in arrival order", "[jupyter]") {
    const std::vector<std::string> frames = {
        kernel_msg("status", R"({"execution_state":"busy"})"),
        kernel_msg("execute_input", R"({"code":"import sys\nprint('a')\n...","execution_count":4})"),
        kernel_msg("stream", R"({"name":"stdout","text":"a\n"})"),
        kernel_msg("stream", R"({"name":"stderr","text":"warn 1\n"})"),
        kernel_msg("stream", R"({"name":"stdout","text":"b"})", "someone-else"),  // another client's cell
        kernel_msg("stream", R"({"name":"stdout","text":"b\n"})"),
        kernel_msg("display_data", R"({"data":{"text/plain":"<Figure>","image/png":"iVBOR"},"metadata":{}})"),
        kernel_msg("stream", R"({"name":"stderr","text":"warn 2\n"})"),
        kernel_msg("clear_output", R"({"wait":false})"),
        kernel_msg("execute_result", R"({"data":{"text/plain":"'hi'"},"metadata":{},"execution_count":4})"),
        kernel_msg("status", R"({"execution_state":"idle"})", "someone-else"),
        kernel_msg("status", R"({"execution_state":"idle"})"),
        kernel_msg("stream", R"({"name":"stdout","text":"after idle"})"),
    };
    execution e;
    std::size_t used = 0;
    bool done = false;
    for (auto& f : frames) {
        ++used;
        auto ev = parse_kernel_message(f, REQ);
        if (!ev) continue;
        if ((done = apply(e, *ev))) break;
    }
    CHECK(done);
    CHECK(used == frames.size() - 1);

    CHECK(e.logs.chunks == std::vector<log_chunk>{{log_stream::out, "a\n"},
                                                  {log_stream::err, "warn 1\n"},
                                                  {log_stream::out, "b\n"},
                                                  {log_stream::err, "warn 2\n"}});
    CHECK(e.logs.stdout_chunks() == std::vector<std::string>{"a\n", "b\n"});
    CHECK(e.logs.stderr_chunks() == std::vector<std::string>{"warn 1\n", "warn 2\n"});
    CHECK(e.logs.stdout_text() == "a\nb\n");
    CHECK(e.logs.stderr_text() == "warn 1\nwarn 2\n");
    REQUIRE(e.results.size() == 2);
    CHECK_FALSE(e.results[0].is_main_result);
    CHECK(e.results[0].png == "iVBOR");
    CHECK(e.results[1].is_main_result);
    CHECK(e.text() == "'hi'");  // verbatim: the quotes are kept
    CHECK(e.execution_count == 4);
    CHECK_FALSE(e.error);
    CHECK_FALSE(e.timed_out);
}

TEST_CASE("apply: a failing cell sets the error, not a result", "[jupyter]") {
    execution e;
    CHECK_FALSE(apply(e, event_of(kernel_msg("status", R"({"execution_state":"busy"})"))));
    CHECK_FALSE(apply(e, event_of(kernel_msg("execute_input", R"({"code":"1/0","execution_count":2})"))));
    CHECK(e.execution_count == 2);
    CHECK_FALSE(apply(e, event_of(kernel_msg("stream", R"({"name":"stdout","text":"before\n"})"))));
    CHECK_FALSE(apply(e, event_of(kernel_msg("error", R"({"ename":"ZeroDivisionError","evalue":"division by zero",
        "traceback":)" + TRACEBACK_JSON + "}"))));
    CHECK_FALSE(apply(e, event_of(kernel_msg("execute_reply", R"({"status":"error","execution_count":2,
        "ename":"ZeroDivisionError","evalue":"division by zero","traceback":[]})", REQ, "shell"))));
    CHECK(apply(e, event_of(kernel_msg("status", R"({"execution_state":"idle"})"))));

    REQUIRE(e.error);
    CHECK(e.error->name == "ZeroDivisionError");
    CHECK(e.error->value == "division by zero");
    CHECK(e.error->traceback == joined_traceback());
    CHECK(e.results.empty());
    CHECK(e.text() == std::nullopt);
    CHECK(e.execution_count == 2);
    CHECK(e.logs.stdout_text() == "before\n");
    CHECK(e.logs.stderr_chunks().empty());
}

TEST_CASE("apply: each event kind, one at a time", "[jupyter]") {
    execution e;
    kernel_event ev;
    CHECK_FALSE(apply(e, ev));  // a default event is other
    CHECK(e == execution{});

    ev.type = kind::stdout_text;
    ev.text = "";
    CHECK_FALSE(apply(e, ev));  // chunks are kept as they arrive, empty ones too
    CHECK(e.logs.chunks == std::vector<log_chunk>{{log_stream::out, ""}});

    ev = {};
    ev.type = kind::result;  // a result event without a value adds nothing
    CHECK_FALSE(apply(e, ev));
    CHECK(e.results.empty());

    ev = {};
    ev.type = kind::error;
    CHECK_FALSE(apply(e, ev));
    CHECK_FALSE(e.error);
    ev.error = execution_error{"E", "v", "t"};
    CHECK_FALSE(apply(e, ev));
    CHECK(e.error == execution_error{"E", "v", "t"});
    ev.error = execution_error{"F", "w", "u"};  // a later error replaces the earlier
    CHECK_FALSE(apply(e, ev));
    CHECK(e.error->name == "F");

    ev = {};
    ev.execution_count = 11;  // counts are recorded from any event
    CHECK_FALSE(apply(e, ev));
    CHECK(e.execution_count == 11);
    ev.execution_count.reset();  // and an event without one keeps the last
    CHECK_FALSE(apply(e, ev));
    CHECK(e.execution_count == 11);

    ev = {};
    ev.type = kind::idle;
    CHECK(apply(e, ev));
    CHECK(apply(e, ev));  // idempotent
}

TEST_CASE("execution::text: the main result's text/plain, verbatim", "[jupyter]") {
    execution e;
    CHECK(e.text() == std::nullopt);

    result display;
    display.text = "shown";
    e.results.push_back(display);
    CHECK(e.text() == std::nullopt);  // display_data is not the main result

    result main;
    main.is_main_result = true;
    main.html = "<i>x</i>";
    e.results.push_back(main);
    CHECK(e.text() == std::nullopt);  // a main result without text/plain

    e.results.back().text = "'hi'";
    CHECK(e.text() == "'hi'");
    e.results.back().text = "\"double\"";
    CHECK(e.text() == "\"double\"");
    e.results.back().text = "''";
    CHECK(e.text() == "''");
    e.results.back().text = "";
    CHECK(e.text() == "");

    result second;
    second.is_main_result = true;
    second.text = "later";
    e.results.push_back(second);
    CHECK(e.text() == "");  // the first main result
}

TEST_CASE("execution_logs: accessors over interleaved chunks", "[jupyter]") {
    execution_logs logs;
    CHECK(logs.stdout_chunks().empty());
    CHECK(logs.stderr_text().empty());
    logs.chunks = {{log_stream::err, "e1"}, {log_stream::out, "o1"}, {log_stream::err, "e2"},
                   {log_stream::out, ""},   {log_stream::out, "o2"}};
    CHECK(logs.stdout_chunks() == std::vector<std::string>{"o1", "", "o2"});
    CHECK(logs.stderr_chunks() == std::vector<std::string>{"e1", "e2"});
    CHECK(logs.stdout_text() == "o1o2");
    CHECK(logs.stderr_text() == "e1e2");
}

// --------------------------------------------------------------- fuzz ----

namespace {

// A random JSON value biased towards the keys and values of kernel messages.
json::value random_json(std::mt19937& rng, int depth) {
    static const std::vector<std::string> keys = {
        "header", "parent_header", "msg_id", "msg_type", "content", "metadata", "buffers", "channel", "name", "text",
        "data", "execution_count", "ename", "evalue", "traceback", "execution_state", "text/plain", "image/png",
        "application/json", "application/vnd.plotly.v1+json", "transient", "x"};
    static const std::vector<std::string> strings = {
        REQ, "stream", "execute_result", "display_data", "error", "status", "idle", "busy", "stdout", "stderr",
        "execute_input", "execute_reply", "", "\x1b[0m", "\xff", "é"};
    auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };
    switch (depth > 4 ? pick(6) : pick(8)) {
    case 0: return nullptr;
    case 1: return pick(2) == 0;
    case 2: return static_cast<std::int64_t>(rng()) - (1LL << 31);
    case 3: return std::uniform_real_distribution<double>(-1e12, 1e12)(rng);
    case 4:
    case 5: return json::string(strings[pick(strings.size())]);
    case 6: {
        json::array a;
        for (std::size_t i = pick(4); i > 0; --i) a.push_back(random_json(rng, depth + 1));
        return a;
    }
    default: {
        json::object o;
        for (std::size_t i = pick(6); i > 0; --i) o[keys[pick(keys.size())]] = random_json(rng, depth + 1);
        return o;
    }
    }
}

// parse_kernel_message must either answer or throw protocol_error; the
// answer must be usable by apply.
void check_never_crashes(const std::string& text) {
    try {
        auto ev = parse_kernel_message(text, REQ);
        if (ev) {
            execution e;
            apply(e, *ev);
            if (ev->value) (void)ev->value->formats();
            (void)e.text();
        }
    } catch (const protocol_error&) {
    }
}

} // namespace

TEST_CASE("fuzz: random text, mutated messages and random JSON never crash", "[jupyter]") {
    std::mt19937 rng(20240305);
    auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };

    // random bytes, from a JSON-ish alphabet and from all 256 values
    const std::string alphabet = "{}[]\":,\\u0123456789abcdefnulltrue -.eE\x1b\xff";
    for (int i = 0; i < 3000; ++i) {
        std::string s;
        for (std::size_t n = pick(80); n > 0; --n)
            s += i % 2 ? alphabet[pick(alphabet.size())] : static_cast<char>(pick(256));
        check_never_crashes(s);
    }

    // real messages, truncated and with bytes changed
    const std::vector<std::string> seeds = {
        kernel_msg("stream", R"({"name":"stderr","text":"x\u00e9\n"})"),
        kernel_msg("execute_result", R"({"data":{"text/plain":"'hi'","application/json":{"a":[1]}},
            "execution_count":3})"),
        kernel_msg("display_data", R"({"data":{"image/png":"iVBOR","text/plain":"<Figure>"},"metadata":{}})"),
        kernel_msg("error", R"({"ename":"E","evalue":"v","traceback":)" + TRACEBACK_JSON + "}"),
        kernel_msg("status", R"({"execution_state":"idle"})"),
        kernel_msg("execute_input", R"({"code":"1","execution_count":1})"),
    };
    for (auto& seed : seeds) {
        for (std::size_t cut = 0; cut <= seed.size(); ++cut) check_never_crashes(seed.substr(0, cut));
        for (int i = 0; i < 500; ++i) {
            std::string s = seed;
            for (std::size_t k = 1 + pick(4); k > 0; --k) {
                switch (pick(3)) {
                case 0: s[pick(s.size())] = alphabet[pick(alphabet.size())]; break;
                case 1: s.erase(pick(s.size()), 1 + pick(8)); break;
                default: s.insert(pick(s.size() + 1), 1, alphabet[pick(alphabet.size())]); break;
                }
                if (s.empty()) break;
            }
            check_never_crashes(s);
        }
    }

    // random JSON documents, some addressed to our request
    int ours = 0;
    for (int i = 0; i < 3000; ++i) {
        auto v = random_json(rng, 0);
        if (auto* o = v.if_object(); o && pick(2) == 0) {
            (*o)["parent_header"] = json::object{{"msg_id", REQ}};
            if (pick(2) == 0) (*o)["content"] = random_json(rng, 1);
        }
        auto text = json::serialize(v);
        CHECK_NOTHROW(check_never_crashes(text));
        auto ev = parse_kernel_message(text, REQ);  // valid JSON: never a protocol error
        if (ev) ++ours;
    }
    CHECK(ours > 100);
}
