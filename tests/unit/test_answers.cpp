// protocol/answers.hpp: success-body decoders, Retry-After, the shell exec
// request (WIRE.md §3, §4.1, §5.1, §6.1).
#include <catch2/catch.hpp>

#include <wrenn/error.hpp>
#include <wrenn/protocol/answers.hpp>
#include <wrenn/protocol/base64.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>

#include <chrono>
#include <functional>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <typeinfo>
#include <vector>

namespace json = boost::json;
namespace wp = wrenn::protocol;
using namespace std::chrono_literals;

namespace {

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

// Runs f and checks it throws exactly wrenn::protocol_error (not a subclass of
// something else, not a Boost exception); returns the what() text.
std::string expect_protocol_error(const std::function<void()>& f) {
    try {
        f();
    } catch (const wrenn::error& e) {
        CHECK(typeid(e) == typeid(wrenn::protocol_error));
        CHECK(e.status() == 0);
        CHECK_FALSE(e.code().empty());
        return e.what();
    } catch (const std::exception& e) {
        FAIL("expected wrenn::protocol_error, got another exception: " << e.what());
    }
    FAIL("expected wrenn::protocol_error, nothing was thrown");
    return {};
}

const std::string capsule_body =
    R"({"id":"cl-abc","status":"running","template":"minimal","vcpus":1,"memory_mb":512,"timeout_sec":0,)"
    R"("created_at":"2026-05-02T22:56:00Z","last_updated":"2026-05-02T22:56:00Z"})"
    "\n";

const std::string template_body =
    R"({"name":"snap-1","type":"snapshot","vcpus":1,"memory_mb":512,"size_bytes":1048576,)"
    R"("created_at":"2026-05-02T22:56:00Z","platform":false})"
    "\n";

} // namespace

// ---------------------------------------------------------------------------
// parse_retry_after

TEST_CASE("answers: parse_retry_after", "[answers]") {
    struct row {
        std::string text;
        std::optional<long long> secs;
    };
    auto r = GENERATE(values<row>({
        {"0", 0},
        {"1", 1},
        {"120", 120},
        {"007", 7},
        {" 7", 7},
        {"7 ", 7},
        {"\t 30 \t", 30},
        {"86400", 86400},
        {"9223372036854775807", std::numeric_limits<long long>::max()},
        {"", std::nullopt},
        {"   ", std::nullopt},
        {"\t", std::nullopt},
        {"-1", std::nullopt},
        {"+5", std::nullopt},
        {"1.5", std::nullopt},
        {"5s", std::nullopt},
        {"s5", std::nullopt},
        {"1 2", std::nullopt},
        {"0x10", std::nullopt},
        {"abc", std::nullopt},
        {"Wed, 21 Oct 2015 07:28:00 GMT", std::nullopt},
        {"99999999999999999999", std::nullopt},
        {"\n5", std::nullopt},
        {"\xef\xbc\x95", std::nullopt},  // a full-width digit five
    }));
    CAPTURE(r.text);
    auto got = wp::parse_retry_after(r.text);
    REQUIRE(got.has_value() == r.secs.has_value());
    if (got) CHECK(got->count() == *r.secs);
}

// ---------------------------------------------------------------------------
// exec

TEST_CASE("answers: decode_exec_result utf-8", "[answers]") {
    auto r = wp::decode_exec_result(
        R"({"sandbox_id":"cl-1","cmd":"/bin/sh","stdout":"hello\n","stderr":"warn \u003cx\u003e \u0026","exit_code":0,"duration_ms":35,"encoding":"utf-8"})"
        "\n");
    CHECK(r.stdout_text == "hello\n");
    CHECK(r.stderr_text == "warn <x> &");
    CHECK(r.exit_code == 0);
    CHECK(r.duration_ms == 35);
}

TEST_CASE("answers: decode_exec_result lenient fields", "[answers]") {
    struct row {
        std::string body;
        int exit_code;
        std::optional<std::int64_t> duration;
    };
    auto r = GENERATE(values<row>({
        {R"({"stdout":"","stderr":""})", -1, std::nullopt},                 // missing exit_code
        {R"({})", -1, std::nullopt},
        {R"({"exit_code":null})", -1, std::nullopt},
        {R"({"exit_code":"0"})", -1, std::nullopt},
        {R"({"exit_code":-1})", -1, std::nullopt},                          // killed by a signal
        {R"({"exit_code":127,"stderr":"sh: nope: not found\n"})", 127, std::nullopt},
        {R"({"exit_code":255,"duration_ms":0})", 255, 0},
        {R"({"exit_code":1,"duration_ms":"5"})", 1, std::nullopt},
        {R"({"exit_code":0,"duration_ms":120000,"future":{"x":1}})", 0, 120000},
    }));
    CAPTURE(r.body);
    auto res = wp::decode_exec_result(r.body);
    CHECK(res.exit_code == r.exit_code);
    CHECK(res.duration_ms == r.duration);
    // missing or wrong-typed output is empty
    if (!contains(r.body, "stderr")) CHECK(res.stderr_text.empty());
    if (!contains(r.body, "stdout")) CHECK(res.stdout_text.empty());
}

TEST_CASE("answers: decode_exec_result without an encoding field is utf-8", "[answers]") {
    auto r = wp::decode_exec_result(R"({"stdout":"Zm9v","stderr":"YmFy","exit_code":0})");
    CHECK(r.stdout_text == "Zm9v");  // not decoded
    CHECK(r.stderr_text == "YmFy");
    auto r2 = wp::decode_exec_result(R"({"stdout":"Zm9v","stderr":"","exit_code":0,"encoding":"utf-8"})");
    CHECK(r2.stdout_text == "Zm9v");
}

TEST_CASE("answers: decode_exec_result base64 gives back the exact bytes", "[answers]") {
    struct row {
        std::string out, err;
    };
    std::string all;
    for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
    auto r = GENERATE_COPY(values<row>({
        {std::string("\xff\xfe\x00\x80", 4), "ok"},
        {"", std::string("\xc3\x28", 2)},             // invalid UTF-8 sequence
        {std::string("a\0b", 3), std::string("\0", 1)},  // NUL bytes survive
        {all, all},
        {"\xed\xa0\x80", "plain ascii"},               // an encoded surrogate
        {"", ""},
    }));
    std::string body = R"({"sandbox_id":"cl-1","cmd":"/bin/sh","stdout":")" + wp::base64_encode(r.out) +
                       R"(","stderr":")" + wp::base64_encode(r.err) +
                       R"(","exit_code":3,"duration_ms":7,"encoding":"base64"})" + "\n";
    auto res = wp::decode_exec_result(body);
    CHECK(res.stdout_text == r.out);
    CHECK(res.stderr_text == r.err);
    CHECK(res.stdout_text.size() == r.out.size());
    CHECK(res.stderr_text.size() == r.err.size());
    CHECK(res.exit_code == 3);
    CHECK(res.duration_ms == 7);
}

TEST_CASE("answers: decode_exec_result base64 with a missing stream is empty", "[answers]") {
    auto r = wp::decode_exec_result(R"({"stdout":"/w==","exit_code":0,"encoding":"base64"})");
    CHECK(r.stdout_text == "\xff");
    CHECK(r.stderr_text.empty());
}

TEST_CASE("answers: decode_exec_result invalid base64 is a protocol_error", "[answers]") {
    auto body = GENERATE(as<std::string>{},
                         R"({"stdout":"not base64!","stderr":"","exit_code":0,"encoding":"base64"})",
                         R"({"stdout":"","stderr":"Zg=","exit_code":0,"encoding":"base64"})",
                         R"({"stdout":"Zm9v","stderr":"Zm9v\n","exit_code":0,"encoding":"base64"})",
                         R"({"stdout":"Zg==Zg==","stderr":"","exit_code":0,"encoding":"base64"})",
                         R"({"stdout":"hello","stderr":"world","exit_code":1,"encoding":"base64"})");
    CAPTURE(body);
    auto what = expect_protocol_error([&] { (void)wp::decode_exec_result(body); });
    CHECK(contains(what, "base64"));
}

TEST_CASE("answers: decode_exec_result of a malformed body is a protocol_error", "[answers]") {
    auto body = GENERATE(as<std::string>{}, "", "\n", "{", "not json", "[]", "null", "\"x\"", "42",
                         R"({"stdout":"a"} {"stdout":"b"})", "<html>502</html>");
    CAPTURE(body);
    (void)expect_protocol_error([&] { (void)wp::decode_exec_result(body); });
}

TEST_CASE("answers: decode_command_handle", "[answers]") {
    auto h = wp::decode_command_handle(
        R"({"sandbox_id":"cl-1","cmd":"/bin/sh","pid":1234,"tag":"proc-1a2b3c4d"})"
        "\n");
    CHECK(h.pid == 1234);
    CHECK(h.tag == "proc-1a2b3c4d");
    CHECK(h.capsule_id == "cl-1");

    auto bare = wp::decode_command_handle("{}");
    CHECK(bare.pid == 0);  // PY: pid or 0, tag or ""
    CHECK(bare.tag.empty());
    CHECK(bare.capsule_id.empty());

    (void)expect_protocol_error([] { (void)wp::decode_command_handle("{\"pid\":"); });
    (void)expect_protocol_error([] { (void)wp::decode_command_handle(""); });
}

TEST_CASE("answers: decode_process_list", "[answers]") {
    auto list = wp::decode_process_list(
        R"({"processes":[{"pid":1234,"tag":"proc-1a2b3c4d","cmd":"/bin/sh","args":["-c","sleep 30"]},)"
        R"({"pid":1,"cmd":"/sbin/init"}]})"
        "\n");
    REQUIRE(list.size() == 2);
    CHECK(list[0].pid == 1234);
    CHECK(list[0].tag == "proc-1a2b3c4d");
    CHECK(list[0].cmd == "/bin/sh");
    CHECK(list[0].args == std::vector<std::string>{"-c", "sleep 30"});
    CHECK(list[1].pid == 1);
    CHECK_FALSE(list[1].tag);
    CHECK_FALSE(list[1].args);

    CHECK(wp::decode_process_list(R"({"processes":[]})").empty());
    CHECK(wp::decode_process_list("{}\n").empty());
    (void)expect_protocol_error([] { (void)wp::decode_process_list("{\"processes\":"); });
    (void)expect_protocol_error([] { (void)wp::decode_process_list(R"({"processes":{"pid":1}})"); });
}

TEST_CASE("answers: shell_exec_request wraps the command in /bin/sh -c", "[answers]") {
    auto cmd = GENERATE(as<std::string>{}, "echo hi", "", "   ", "a'b\"c; rm -rf / && echo $HOME | cat > /dev/null",
                        "line1\nline2", std::string("nul\0inside", 10), "\xc3\xa9\xff", "-c",
                        "echo $GREETING", std::string(10000, 'x'));
    CAPTURE(cmd);
    auto r = wp::shell_exec_request(cmd);
    CHECK(r.cmd == "/bin/sh");
    REQUIRE(r.args.size() == 2);
    CHECK(r.args[0] == "-c");
    CHECK(r.args[1] == cmd);  // one argument, verbatim, no quoting
    CHECK_FALSE(r.background);
    CHECK_FALSE(r.timeout_sec);
    CHECK_FALSE(r.tag);
    CHECK_FALSE(r.envs);
    CHECK_FALSE(r.cwd);
}

TEST_CASE("answers: shell_exec_request serialises as WIRE.md 5.1 shows", "[answers]") {
    auto v = json::value_from(wp::shell_exec_request("echo hi"));
    CHECK(v == json::parse(R"({"cmd":"/bin/sh","args":["-c","echo hi"],"background":false})"));
}

// ---------------------------------------------------------------------------
// capsules

TEST_CASE("answers: decode_capsule", "[answers]") {
    auto suffix = GENERATE(as<std::string>{}, "", "\n", "\r\n", "  \n\t");
    auto body = capsule_body.substr(0, capsule_body.size() - 1) + suffix;
    auto c = wp::decode_capsule(body);
    CHECK(c.id == "cl-abc");
    CHECK(c.status == wrenn::capsule_state::running);
    CHECK(c.template_name == "minimal");
    CHECK(c.vcpus == 1);
    CHECK(c.memory_mb == 512);
}

TEST_CASE("answers: decode_capsule rejects malformed answers with protocol_error", "[answers]") {
    auto body = GENERATE(as<std::string>{},
                         // not JSON
                         "", "\n", "{", "{\"id\":\"cl-1\"", "not json", "<html>OK</html>", "{\"id\":\"cl-1\"} x",
                         "{\"id\":\"cl-1\"}{}", "{'id':'cl-1'}",
                         // JSON, not an object
                         "[]", "[{\"id\":\"cl-1\"}]", "null", "true", "\"cl-1\"", "1",
                         // object without a usable id
                         "{}", "{\"id\":\"\"}", "{\"id\":null}", "{\"id\":5}", "{\"ID\":\"cl-1\"}",
                         "{\"status\":\"running\"}", "{\"sandbox_id\":\"cl-1\"}");
    CAPTURE(body);
    (void)expect_protocol_error([&] { (void)wp::decode_capsule(body); });
}

TEST_CASE("answers: decode_capsule keeps unknown statuses", "[answers]") {
    auto c = wp::decode_capsule(R"({"id":"cl-1","status":"defragmenting"})");
    CHECK(c.status.state == wrenn::capsule_state::unknown);
    CHECK(c.status.raw == "defragmenting");
}

TEST_CASE("answers: decode_capsule_list", "[answers]") {
    CHECK(wp::decode_capsule_list("[]").empty());
    CHECK(wp::decode_capsule_list("[]\n").empty());
    auto two = wp::decode_capsule_list("[" + capsule_body + R"(,{"id":"cl-2","status":"paused"}])" + "\n");
    REQUIRE(two.size() == 2);
    CHECK(two[0].id == "cl-abc");
    CHECK(two[1].id == "cl-2");
    CHECK(two[1].status == wrenn::capsule_state::paused);

    auto body = GENERATE(as<std::string>{}, "{}", "{\"capsules\":[]}", "null", "\"[]\"", "1", "", "[",
                         "[{}", "[] []");
    CAPTURE(body);
    (void)expect_protocol_error([&] { (void)wp::decode_capsule_list(body); });
}

TEST_CASE("answers: protocol_error messages say which answer was bad", "[answers]") {
    auto w = expect_protocol_error([] { (void)wp::decode_capsule_list("{}"); });
    CHECK(contains(w, "array"));
    auto w2 = expect_protocol_error([] { (void)wp::decode_capsule("[]"); });
    CHECK(contains(w2, "object"));
    auto w3 = expect_protocol_error([] { (void)wp::parse_body("{oops", "the thing I asked"); });
    CHECK(contains(w3, "the thing I asked"));
    CHECK(contains(w3, "JSON"));
}

TEST_CASE("answers: parse_body", "[answers]") {
    CHECK(wp::parse_body("{\"a\":1}\n", "x").as_object().at("a") == 1);
    CHECK(wp::parse_body("  [1,2]  \r\n", "x").as_array().size() == 2);
    CHECK(wp::parse_body("null", "x").is_null());
    (void)expect_protocol_error([] { (void)wp::parse_body("", "x"); });
    (void)expect_protocol_error([] { (void)wp::parse_body("{} {}", "x"); });
    (void)expect_protocol_error([] { (void)wp::parse_body("{\"a\":1,}", "x"); });
    (void)expect_protocol_error([] { (void)wp::parse_body("{\"a\":\"\xff\"}", "x"); });  // invalid UTF-8
}

// ---------------------------------------------------------------------------
// templates, metrics, stats

TEST_CASE("answers: decode_template and decode_template_list", "[answers]") {
    auto t = wp::decode_template(template_body);
    CHECK(t.name == "snap-1");
    CHECK(t.type == "snapshot");
    CHECK(t.size_bytes == 1048576);

    auto list = wp::decode_template_list(
        "[" + template_body + R"(,{"name":"minimal","type":"base","size_bytes":0,"platform":true,"protected":true}])");
    REQUIRE(list.size() == 2);
    CHECK(list[1].name == "minimal");
    CHECK(list[1].platform);
    CHECK(list[1].is_protected);
    CHECK(wp::decode_template_list("[]\n").empty());

    (void)expect_protocol_error([] { (void)wp::decode_template("[]"); });
    (void)expect_protocol_error([] { (void)wp::decode_template(""); });
    (void)expect_protocol_error([] { (void)wp::decode_template_list("{}"); });
    (void)expect_protocol_error([] { (void)wp::decode_template_list("null"); });
}

TEST_CASE("answers: decode_metrics, decode_team_stats, decode_team_usage", "[answers]") {
    auto m = wp::decode_metrics(
        R"({"sandbox_id":"cl-1","range":"10m","points":[{"timestamp_unix":1714690000,"cpu_pct":12.5,"mem_bytes":1,"disk_bytes":2}]})"
        "\n");
    CHECK(m.capsule_id == "cl-1");
    REQUIRE(m.points.size() == 1);
    CHECK(m.points[0].cpu_pct == 12.5);

    auto s = wp::decode_team_stats(R"({"range":"5m","current":{"running_count":2,"sampled_at":null}})");
    CHECK(s.current.running_count == 2);
    CHECK_FALSE(s.current.sampled_at);

    auto u = wp::decode_team_usage(R"({"from":"2026-05-01","to":"2026-05-02","points":[]})");
    CHECK(u.from == "2026-05-01");

    auto bad = GENERATE(as<std::string>{}, "", "[]", "null", "{", "1");
    CAPTURE(bad);
    (void)expect_protocol_error([&] { (void)wp::decode_metrics(bad); });
    (void)expect_protocol_error([&] { (void)wp::decode_team_stats(bad); });
    (void)expect_protocol_error([&] { (void)wp::decode_team_usage(bad); });
}

// ---------------------------------------------------------------------------
// snapshots (WIRE.md §4.1)

TEST_CASE("answers: decode_snapshot_created 201 Template", "[answers]") {
    SECTION("requested name") {
        auto r = wp::decode_snapshot_created(201, template_body, "snap-1");
        CHECK(r.name == "snap-1");
        REQUIRE(r.snapshot);
        CHECK_FALSE(r.capsule);
        CHECK(r.snapshot->name == "snap-1");
        CHECK(r.snapshot->type == "snapshot");
        CHECK(r.snapshot->size_bytes == 1048576);
    }
    SECTION("server-chosen name fills in an empty request") {
        auto r = wp::decode_snapshot_created(
            201, R"({"name":"template-1a2b3c4d","type":"snapshot","size_bytes":1})", "");
        CHECK(r.name == "template-1a2b3c4d");
        REQUIRE(r.snapshot);
        CHECK_FALSE(r.capsule);
    }
    SECTION("the server's name wins") {
        auto r = wp::decode_snapshot_created(201, template_body, "something-else");
        CHECK(r.name == "snap-1");
    }
    SECTION("a template without a name keeps the requested one") {
        auto r = wp::decode_snapshot_created(201, R"({"type":"snapshot"})", "mine");
        CHECK(r.name == "mine");
        REQUIRE(r.snapshot);
        CHECK(r.snapshot->name.empty());
    }
}

TEST_CASE("answers: decode_snapshot_created 202 Capsule", "[answers]") {
    const std::string body =
        R"({"id":"cl-abc","status":"snapshotting","template":"minimal","vcpus":1,"memory_mb":512})" "\n";
    SECTION("requested name") {
        auto r = wp::decode_snapshot_created(202, body, "my-snap");
        CHECK(r.name == "my-snap");
        CHECK_FALSE(r.snapshot);
        REQUIRE(r.capsule);
        CHECK(r.capsule->id == "cl-abc");
        CHECK(r.capsule->status == wrenn::capsule_state::snapshotting);
    }
    SECTION("no requested name: name stays empty, not the template's") {
        auto r = wp::decode_snapshot_created(202, body, "");
        CHECK(r.name.empty());
        REQUIRE(r.capsule);
    }
    SECTION("202 decides even when the body is sparse") {
        auto r = wp::decode_snapshot_created(202, R"({"name":"looks-like-a-template"})", "n");
        CHECK_FALSE(r.snapshot);
        REQUIRE(r.capsule);
        CHECK(r.name == "n");
    }
    SECTION("a capsule-shaped body under 201 is still a capsule") {
        auto r = wp::decode_snapshot_created(201, body, "n");
        CHECK_FALSE(r.snapshot);
        REQUIRE(r.capsule);
        CHECK(r.capsule->status == wrenn::capsule_state::snapshotting);
        CHECK(r.name == "n");
    }
    SECTION("an unknown capsule status is kept") {
        auto r = wp::decode_snapshot_created(202, R"({"id":"cl-1","status":"freezing"})", "n");
        REQUIRE(r.capsule);
        CHECK(r.capsule->status.raw == "freezing");
    }
}

TEST_CASE("answers: decode_snapshot_created malformed bodies", "[answers]") {
    auto status = GENERATE(201u, 202u);
    auto body = GENERATE(as<std::string>{}, "", "{", "[]", "null", "\"snap\"", "<html></html>");
    CAPTURE(status, body);
    (void)expect_protocol_error([&] { (void)wp::decode_snapshot_created(status, body, "n"); });
}
