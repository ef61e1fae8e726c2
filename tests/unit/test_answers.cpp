// protocol/answers.hpp: success-body decoders, Retry-After, the shell exec
// request (WIRE.md §3, §4.1, §5.1, §6.1).
#include <catch2/catch.hpp>

#include <wrenn/error.hpp>
#include <wrenn/protocol/answers.hpp>
#include <wrenn/protocol/base64.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <typeinfo>
#include <utility>
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

// ---------------------------------------------------------------------------
// capsules: the SAX decoder (impl/capsule_decoder.hpp) against the DOM path it
// replaced. The reference below is that path: json::value_to<capsule_info> of
// json::parse(body), with the checks decode_capsule and decode_capsule_list
// made on the DOM. Every body goes through both decoders, as one capsule and
// as a list: the outcome (the capsules, or the error: its type, code, message,
// status and body) and every member of every capsule must be the same.

namespace {

// What a decoder gave: the capsules (one for decode_capsule), or an error.
struct capsule_outcome {
    bool ok = false;
    std::string error_type{}, code{}, message{};  // when !ok
    unsigned status = 0;
    std::string error_body{};
    std::vector<wrenn::capsule_info> value{};
};

// The protocol_error the DOM path threw (answers.ipp before the SAX decoder).
capsule_outcome protocol_failure(std::string code, std::string message) {
    capsule_outcome o;
    o.error_type = "protocol_error";
    o.code = std::move(code);
    o.message = std::move(message);
    return o;
}

capsule_outcome not_json(std::string_view what, const json::error_code& ec) {
    return protocol_failure("invalid_json",
                            "The server's answer to " + std::string(what) + " is not valid JSON (" + ec.message() + ")");
}

template <class F>
capsule_outcome outcome_of(F&& decode) {
    capsule_outcome o;
    try {
        o.value = decode();
        o.ok = true;
    } catch (const wrenn::error& e) {
        o.error_type = typeid(e) == typeid(wrenn::protocol_error) ? std::string("protocol_error") : typeid(e).name();
        o.code = e.code();
        o.message = e.message();
        o.status = e.status();
        o.error_body = e.body();
    } catch (const std::exception& e) {
        o.error_type = std::string("not a wrenn::error (") + typeid(e).name() + "): " + e.what();
    }
    return o;
}

capsule_outcome sax_capsule(std::string_view body) {
    return outcome_of([&] { return std::vector<wrenn::capsule_info>{wp::decode_capsule(body)}; });
}

capsule_outcome sax_capsule_list(std::string_view body) {
    return outcome_of([&] { return wp::decode_capsule_list(body); });
}

// The reference for decode_capsule: parse, an object, value_to, an id.
capsule_outcome dom_capsule(std::string_view body) {
    json::error_code ec;
    auto v = json::parse(body, ec);
    if (ec) return not_json("a capsule request", ec);
    if (!v.is_object())
        return protocol_failure("unexpected_answer", "The server's answer to a capsule request is not a JSON object");
    auto c = json::value_to<wrenn::capsule_info>(v);
    if (c.id.empty()) return protocol_failure("unexpected_answer", "The server answered with a capsule that has no id");
    capsule_outcome o;
    o.ok = true;
    o.value.push_back(std::move(c));
    return o;
}

// The reference for decode_capsule_list: parse, an array, value_to per element.
capsule_outcome dom_capsule_list(std::string_view body) {
    json::error_code ec;
    auto v = json::parse(body, ec);
    if (ec) return not_json("list capsules", ec);
    if (!v.is_array()) return protocol_failure("unexpected_answer", "The server's answer to list capsules is not a JSON array");
    capsule_outcome o;
    o.ok = true;
    for (auto& e : v.get_array()) o.value.push_back(json::value_to<wrenn::capsule_info>(e));
    return o;
}

// `s` as the inside of a C++ string literal, cut after `max` bytes.
std::string printable(std::string_view s, std::size_t max = 1500) {
    std::string out;
    for (std::size_t i = 0; i < s.size() && i < max; ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c == '\\' || c == '"') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c >= 0x20 && c < 0x7f) {
            out += static_cast<char>(c);
        } else {
            char hex[16];
            std::snprintf(hex, sizeof hex, "\\x%02x", c);
            out += hex;
            // a following hex digit would join the escape
            if (i + 1 < s.size() && i + 1 < max && std::isxdigit(static_cast<unsigned char>(s[i + 1]))) out += "\"\"";
        }
    }
    if (s.size() > max) out += "...(" + std::to_string(s.size()) + " bytes in all)";
    return out;
}

std::string show(const std::string& s) { return '"' + printable(s, 120) + '"'; }
std::string show(const std::optional<std::string>& s) { return s ? show(*s) : std::string("absent"); }
std::string show(int i) { return std::to_string(i); }
std::string show(const std::optional<std::int64_t>& i) { return i ? std::to_string(*i) : std::string("absent"); }
std::string show(wrenn::capsule_state s) { return std::string(wrenn::to_string(s)); }
std::string show(const wrenn::string_map& m) {
    std::string out = "{";
    for (auto& [k, v] : m) out += (out.size() > 1 ? ", " : "") + show(k) + ": " + show(v);
    return out + "}";
}

std::string show(const wrenn::capsule_info& c) {
    return "{id " + show(c.id) + ", status.raw " + show(c.status.raw) + ", status.state " + show(c.status.state) +
           ", template " + show(c.template_name) + ", vcpus " + show(c.vcpus) + ", memory_mb " + show(c.memory_mb) +
           ", timeout_sec " + show(c.timeout_sec) + ", created_at " + show(c.created_at) + ", started_at " +
           show(c.started_at) + ", last_active_at " + show(c.last_active_at) + ", last_updated " +
           show(c.last_updated) + ", metadata " + show(c.metadata) + ", guest_ip " + show(c.guest_ip) +
           ", host_ip " + show(c.host_ip) + ", disk_size_mb " + show(c.disk_size_mb) + ", disk_used_mb " +
           show(c.disk_used_mb) + "}";
}

std::string show(const capsule_outcome& o) {
    if (!o.ok)
        return o.error_type + " code \"" + o.code + "\" message \"" + o.message + "\" status " + std::to_string(o.status) +
               " body " + show(o.error_body);
    std::string out = std::to_string(o.value.size()) + " capsule(s) [";
    for (auto& c : o.value) out += show(c) + " ";
    return out + "]";
}

// Every member of capsule_info, one by one; empty when they are all equal.
std::string capsule_difference(const wrenn::capsule_info& sax, const wrenn::capsule_info& dom) {
    std::string d;
    auto member = [&](const char* name, const auto& s, const auto& r) {
        if (!(s == r)) d += std::string(name) + ": SAX " + show(s) + ", DOM " + show(r) + "; ";
    };
    member("id", sax.id, dom.id);
    member("status.raw", sax.status.raw, dom.status.raw);
    member("status.state", sax.status.state, dom.status.state);
    member("template_name", sax.template_name, dom.template_name);
    member("vcpus", sax.vcpus, dom.vcpus);
    member("memory_mb", sax.memory_mb, dom.memory_mb);
    member("timeout_sec", sax.timeout_sec, dom.timeout_sec);
    member("created_at", sax.created_at, dom.created_at);
    member("started_at", sax.started_at, dom.started_at);
    member("last_active_at", sax.last_active_at, dom.last_active_at);
    member("last_updated", sax.last_updated, dom.last_updated);
    member("metadata", sax.metadata, dom.metadata);
    member("guest_ip", sax.guest_ip, dom.guest_ip);
    member("host_ip", sax.host_ip, dom.host_ip);
    member("disk_size_mb", sax.disk_size_mb, dom.disk_size_mb);
    member("disk_used_mb", sax.disk_used_mb, dom.disk_used_mb);
    return d;
}

// Empty when the two outcomes are the same.
std::string outcome_difference(const capsule_outcome& sax, const capsule_outcome& dom) {
    if (sax.ok != dom.ok || sax.error_type != dom.error_type || sax.code != dom.code || sax.message != dom.message ||
        sax.status != dom.status || sax.error_body != dom.error_body)
        return "SAX gave " + show(sax) + "; DOM gave " + show(dom);
    if (sax.value.size() != dom.value.size())
        return "SAX gave " + std::to_string(sax.value.size()) + " capsules, DOM " +
               std::to_string(dom.value.size()) + ": SAX " + show(sax) + "; DOM " + show(dom);
    for (std::size_t i = 0; i < sax.value.size(); ++i)
        if (auto d = capsule_difference(sax.value[i], dom.value[i]); !d.empty())
            return "capsule " + std::to_string(i) + ": " + d;
    return {};
}

// Decodes bodies both ways and checks the outcomes agree; counts what the
// reference gave, so a test can tell its bodies are not all refused.
struct dom_comparison {
    std::size_t bodies = 0, one_decoded = 0, lists_decoded = 0, listed_capsules = 0;

    void check(std::string_view body) {
        ++bodies;
        INFO("body (" << body.size() << " bytes): \"" << printable(body) << '"');
        auto dom_one = dom_capsule(body);
        auto one = outcome_difference(sax_capsule(body), dom_one);
        {
            INFO("decode_capsule");
            CHECK(one == "");
        }
        auto dom_list = dom_capsule_list(body);
        auto list = outcome_difference(sax_capsule_list(body), dom_list);
        {
            INFO("decode_capsule_list");
            CHECK(list == "");
        }
        one_decoded += dom_one.ok;
        lists_decoded += dom_list.ok;
        listed_capsules += dom_list.value.size();
    }

    // `body`, then `body` as the element of a list, and twice in a list.
    void check_in_lists(const std::string& body) {
        check(body);
        check("[" + body + "]");
        check("[" + body + "," + body + "]");
    }
};

const std::vector<std::string> capsule_fields = {
    "id",          "status",     "template",   "vcpus",          "memory_mb",
    "timeout_sec", "guest_ip",   "host_ip",    "created_at",     "started_at",
    "last_active_at", "last_updated", "metadata", "disk_size_mb", "disk_used_mb",
};

// A value of every JSON type, with the numbers at the edges as_int64 and the
// int conversion care about.
const std::vector<std::string> values_of_every_type = {
    // strings
    R"("cl-1")", R"("")", R"("running")", R"("paused")", R"("RUNNING")", R"("caf\u00e9")", R"("a\"b\\c\/d")",
    R"("\ud83d\ude00")", "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"", R"("\u0000")", R"("tab\there\nnew line")",
    R"("run\u006eing")", R"("12")",
    // integers
    "0", "1", "7", "-7", "-0", "512", "2147483647", "2147483648", "-2147483648", "-2147483649", "4294967296",
    "9223372036854775807", "-9223372036854775808", "9223372036854775808", "18446744073709551615",
    "18446744073709551616", "-9223372036854775809", "100000000000000000000000",
    // doubles
    "2.0", "2.5", "-2.5", "0.5", "-0.5", "0.0", "-0.0", "1e300", "-1e300", "1e-300", "1E2", "1e+2", "2e9",
    "-2e9", "2147483647.9", "2147483648.0", "-2147483648.5", "9223372036854775807.0", "9.2233720368547758e18",
    "-9.2233720368547758e18", "-9.2233720368547748e18", "1.7976931348623157e308", "4.9e-324",
    // the rest
    "true", "false", "null", "[]", "[1]", R"(["a","b"])", "[[[]]]", R"([{"id":"inner"}])", "{}", R"({"a":"b"})",
    R"({"id":"inner","status":"paused"})", R"({"metadata":{"a":"b"}})", R"({"a":{"b":[1,{"c":"d"}]}})",
};

} // namespace

TEST_CASE("answers: capsule decoding without a DOM equals the DOM's, every field with every type", "[answers]") {
    dom_comparison cmp;
    for (auto& f : capsule_fields)
        for (auto& v : values_of_every_type) {
            auto member = "\"" + f + "\":" + v;
            cmp.check_in_lists("{\"id\":\"cl-1\"," + member + "}");
            cmp.check_in_lists("{" + member + ",\"id\":\"cl-1\"}");
            cmp.check_in_lists("{" + member + "}");
            cmp.check_in_lists("{\"x\":0," + member + ",\"y\":[]}");
        }
    // every field at once, all of the right type
    cmp.check_in_lists(
        R"({"id":"cl-1","status":"hibernated","template":"py","vcpus":4,"memory_mb":2048,"timeout_sec":300,)"
        R"("guest_ip":"10.0.0.2","host_ip":"1.2.3.4","created_at":"c","started_at":"s","last_active_at":"l",)"
        R"("last_updated":"u","metadata":{"team":"a","env":"prod"},"disk_size_mb":10240,"disk_used_mb":77})");
    // every field at once, all of a wrong type
    std::string wrong = "{\"id\":\"cl-1\"";
    for (auto& f : capsule_fields)
        if (f != "id") wrong += ",\"" + f + "\":" + (f == "metadata" || f == "status" || f == "template" ? "7" : "\"7\"");
    cmp.check_in_lists(wrong + "}");
    CHECK(cmp.one_decoded > 1000);
    CHECK(cmp.listed_capsules > 5000);
}

TEST_CASE("answers: capsule decoding without a DOM equals the DOM's, duplicate keys", "[answers]") {
    const std::vector<std::string> dup_values = {
        R"("a")", R"("b")", R"("running")", R"("")", "5", "-1", "2.5", "3000000000", "18446744073709551615",
        "true", "null", "[]", R"(["x"])", "{}", R"({"k":"v"})", R"({"k":1})",
    };
    dom_comparison cmp;
    for (auto& f : capsule_fields)
        for (auto& a : dup_values)
            for (auto& b : dup_values) {
                auto k = "\"" + f + "\":";
                cmp.check_in_lists("{\"id\":\"cl-1\"," + k + a + "," + k + b + "}");
                cmp.check_in_lists("{" + k + a + ",\"id\":\"cl-1\",\"x\":{\"" + f + "\":" + a + "}," + k + b + "}");
            }
    // three times, and the id itself
    for (auto& f : capsule_fields) {
        auto k = "\"" + f + "\":";
        cmp.check_in_lists("{\"id\":\"cl-1\"," + k + "\"a\"," + k + "1," + k + "\"c\"}");
        cmp.check_in_lists("{\"id\":\"cl-1\"," + k + "\"a\"," + k + "{\"m\":\"n\"}," + k + "null}");
        cmp.check_in_lists("{\"id\":\"cl-1\"," + k + "{\"m\":\"n\"}," + k + "[{\"m\":\"n\"}]," + k + "{\"o\":\"p\"}}");
    }
    for (auto body : {R"({"id":"a","id":"b"})", R"({"id":"a","id":""})", R"({"id":"a","id":null})",
                      R"({"id":null,"id":"b"})", R"({"id":"a","id":{"id":"c"}})", R"({"id":{},"id":"b"})",
                      R"({"i\u0064":"a","id":"b"})", R"({"id":"a","\u0069d":5})", R"({"id":"a","id":["b"]})"})
        cmp.check_in_lists(body);
    // more members than Boost.JSON keeps in a small object (18), with duplicates
    std::string big = "{\"id\":\"cl-1\"";
    for (int i = 0; i < 40; ++i) {
        big += ",\"" + capsule_fields[static_cast<std::size_t>(i) % capsule_fields.size()] + "\":";
        big += i % 3 == 0 ? "\"v" + std::to_string(i) + "\"" : i % 3 == 1 ? std::to_string(i) : std::string("{\"k\":\"v\"}");
        big += ",\"x" + std::to_string(i % 7) + "\":" + std::to_string(i);
    }
    cmp.check_in_lists(big + "}");
    CHECK(cmp.one_decoded > 1000);
}

TEST_CASE("answers: capsule decoding without a DOM equals the DOM's, metadata", "[answers]") {
    const std::vector<std::string> metadata = {
        "{}", R"({"a":"1"})", R"({"a":"1","b":"2"})",
        // duplicate keys, the last of another type
        R"({"a":"1","a":"2"})", R"({"a":"1","a":2})", R"({"a":1,"a":"2"})", R"({"a":"1","a":null})",
        R"({"a":"1","a":true})", R"({"a":"1","a":2.5})", R"({"a":"1","a":{}})", R"({"a":"1","a":[]})",
        R"({"a":"1","a":{"a":"x"}})", R"({"a":"1","a":["x"]})", R"({"a":"1","b":"2","a":3,"b":"4"})",
        R"({"a":{},"a":"1"})", R"({"a":"1","a":"2","a":null,"a":"3"})", R"({"a":"1","a":"2","a":null})",
        // values that are not strings, nested
        R"({"a":{"b":{"c":"d"}},"e":"f"})", R"({"a":[{"b":"c"}],"d":"e"})", R"({"a":[[["x"]]],"b":"y"})",
        R"({"a":{"metadata":{"x":"y"}},"b":"c"})", R"({"a":{"a":"1"},"b":{"b":"2"}})",
        R"({"a":[{"a":"1"},{"metadata":{"a":"z"}}],"b":"2"})", R"({"x":{"id":"inner","status":"paused"}})",
        R"({"a":5,"b":-1,"c":2.5,"d":true,"e":false,"f":null,"g":18446744073709551615,"h":"ok"})",
        // keys that are capsule fields, empty, escaped, unicode
        R"({"id":"inner","status":"paused","metadata":"m","vcpus":"4"})", R"({"id":{"id":"z"},"k":"v"})",
        R"({"":"empty","\u0000":"nul","a\"b":"q","a\\b":"r"})",
        R"({"caf\u00e9":"1","\ud83d\ude00":"2","\u65e5\u672c":"3"})",
        "{\"caf\xc3\xa9\":\"raw\",\"caf\\u00e9\":\"escaped\"}",  // the same key twice, spelt two ways
        "{\"caf\\u00e9\":\"escaped\",\"caf\xc3\xa9\":\"raw\"}",
        "{\"\xf0\x9f\x98\x80\":\"raw\",\"\\ud83d\\ude00\":5}",
        R"({"ke\u0079":"v\u0061lue","k\u0065y2":"\ud83d\ude00","\n":"\t"})",
    };
    dom_comparison cmp;
    for (auto& m : metadata) {
        cmp.check_in_lists("{\"id\":\"cl-1\",\"metadata\":" + m + "}");
        cmp.check_in_lists("{\"metadata\":" + m + ",\"id\":\"cl-1\",\"status\":\"running\"}");
        cmp.check_in_lists("{\"id\":\"cl-1\",\"x\":{\"metadata\":" + m + "}}");  // not the capsule's
        for (auto& m2 : metadata) cmp.check("{\"id\":\"cl-1\",\"metadata\":" + m + ",\"metadata\":" + m2 + "}");
    }
    for (auto& other : values_of_every_type) {
        cmp.check_in_lists(R"({"id":"cl-1","metadata":{"a":"1","b":"2"},"metadata":)" + other + "}");
        cmp.check_in_lists(R"({"id":"cl-1","metadata":)" + other + R"(,"metadata":{"a":"1"}})");
        cmp.check_in_lists(R"({"id":"cl-1","metadata":{"a":"1","b":)" + other + R"(,"c":"3"}})");
        cmp.check_in_lists(R"({"id":"cl-1","metadata":{"a":"1","a":)" + other + R"(}})");
        cmp.check_in_lists(R"({"id":"cl-1","metadata":{"a":)" + other + R"(,"a":"1"}})");
    }
    // more keys than a small Boost.JSON object holds, with duplicates
    std::string big = "{";
    for (int i = 0; i < 60; ++i) {
        if (i) big += ",";
        big += "\"k" + std::to_string(i % 23) + "\":";
        big += i % 4 == 3 ? std::to_string(i) : "\"v" + std::to_string(i) + "\"";
    }
    big += "}";
    cmp.check_in_lists("{\"id\":\"cl-1\",\"metadata\":" + big + "}");
    CHECK(cmp.one_decoded > 500);
}

TEST_CASE("answers: capsule decoding without a DOM equals the DOM's, escapes and strings in parts", "[answers]") {
    dom_comparison cmp;
    // keys spelt with escapes: Boost.JSON hands them over in parts
    for (auto body : {
             R"({"i\u0064":"cl-1"})", R"({"\u0069\u0064":"cl-1"})", R"({"\u0069d":"cl-1","st\u0061tus":"running"})",
             R"({"id":"cl-1","metad\u0061ta":{"k":"v"}})", R"({"id":"cl-1","metadat\u0061":{"\u006b":"\u0076"}})",
             R"({"id":"cl-1","vcp\u0075s":3,"memory\u005fmb":64,"timeout_se\u0063":9})",
             R"({"id":"cl-1","disk\u005fsize\u005fmb":1,"\u0064isk_used_mb":2})",
             R"({"id":"cl-1","templat\u0065":"t","guest\u005fip":"g","host_i\u0070":"h"})",
             R"({"id":"cl-1","created\u005fat":"c","started_\u0061t":"s","last_active_\u0061t":"l","last_upd\u0061ted":"u"})",
             R"({"id\u0000":"cl-1"})", R"({"i\u0064\u0000":"cl-1","id":"x"})", R"({"\u0000id":"cl-1"})",
             R"({"id":"cl\u002d1\"\\\/\b\f\n\r\t"})", R"({"id":"\ud83d\ude00"})", R"({"id":"\u00e9"})",
             R"({"id":"cl-1","status":"run\u006eing"})", R"({"id":"cl-1","status":"\u0072unning"})",
             R"({"id":"cl-1","status":"running\u0000"})", R"({"id":"cl-1","status":"p\u0061used","status":"r\u0075nning"})",
             R"({"id":"a\"b","template":"\\","created_at":"\"","last_updated":"\/"})",
             R"({"id":"cl-1","x\u0079z":{"i\u0064":"no"},"\u0078":["\u0069d"]})",
             "{\"id\":\"caf\xc3\xa9\",\"status\":\"\xf0\x9f\x98\x80\"}",
             R"({"id":"cl-1","status":"\ud800"})", R"({"id":"cl-1","status":"\udc00\ud800"})",
             R"({"id":"cl-1","status":"\ud83d"})", R"({"id":"cl-1","status":"\ud83dx"})", R"({"id":"cl-1","status":"\u00"})",
             R"({"id":"cl-1","status":"\x"})", R"({"id":"cl-1","status":"\U0041"})", "{\"id\":\"cl-1\",\"status\":\"a\tb\"}",
             "{\"id\":\"\xff\"}", "{\"id\":\"\xc3\"}", "{\"id\":\"\xc0\xaf\"}", "{\"id\":\"\xed\xa0\x80\"}",
             "{\"\xff\":\"x\",\"id\":\"a\"}", "{\"id\":\"a\",\"metadata\":{\"\xe9\":\"x\"}}",
         })
        cmp.check_in_lists(body);

    // long strings with escapes: the parser's 4096-byte buffer is flushed in parts
    auto escaped = [](std::size_t n, const std::string& every, std::size_t period) {
        std::string s;
        for (std::size_t i = 0; i < n; ++i) s += i % period == period - 1 ? every : std::string(1, static_cast<char>('a' + i % 26));
        return s;
    };
    for (std::size_t n : {4090u, 4095u, 4096u, 4097u, 5000u, 9000u, 20000u})
        for (const char* esc : {"\\n", "\\u00e9", "\\ud83d\\ude00", "\\\"", "\\\\"})
            for (std::size_t period : {1u, 7u, 4095u}) {
                auto s = escaped(n, esc, period);
                cmp.check_in_lists("{\"id\":\"" + s + "\",\"status\":\"" + s + "\",\"metadata\":{\"" + s + "\":\"" + s + "\"}}");
                cmp.check("{\"id\":\"cl-1\",\"" + s + "\":\"" + s + "\",\"metadata\":{\"" + s + "\":5,\"k\":\"" + s + "\"}}");
            }
    // a key that is a field name after a long escaped prefix is not that field
    cmp.check_in_lists("{\"" + escaped(5000, "\\u0041", 3) + "id\":\"x\",\"id\":\"cl-1\"}");
    // the escape straddling the 4096-byte flush
    for (std::size_t pad = 4088; pad < 4100; ++pad) {
        std::string p(pad, 'x');
        cmp.check_in_lists("{\"id\":\"\\u0041" + p + "\\ud83d\\ude00\\u00e9\"}");
        cmp.check_in_lists("{\"id\":\"cl-1\",\"metadata\":{\"\\u0041" + p + "\\u00e9\":\"\\n" + p + "\\\"\"}}");
    }
    CHECK(cmp.one_decoded > 100);
}

TEST_CASE("answers: capsule decoding without a DOM equals the DOM's, syntax and document shapes", "[answers]") {
    dom_comparison cmp;
    const std::string valid =
        R"({"id":"cl-1","status":"running","template":"py","vcpus":2,"memory_mb":512,"timeout_sec":30,)"
        R"("guest_ip":"10.0.0.2","created_at":"c","metadata":{"a":"b","c":{"d":[1,2.5,null,true]}},)"
        R"("disk_size_mb":1.5e3,"x":[{"id":"no"}],"last_updated":"u\u00e9"})";
    for (auto& body : std::vector<std::string>{
             // whitespace, garbage, comments, trailing commas
             valid, " \t\r\n" + valid + " \t\r\n", valid + "\n\n", valid + "x", valid + "{}", valid + "[]", valid + ",",
             valid + std::string(1, '\0'), valid + " 1", valid + "null", "/*c*/" + valid, valid + "//c", valid + "/*c*/", valid + "/",
             R"({"id":"cl-1",})", R"({"id":"cl-1",,"status":"running"})", R"({,"id":"cl-1"})", R"({"id":"cl-1" /*c*/})",
             R"({"id":"cl-1"//c
})", R"([{"id":"a"},])", R"([,{"id":"a"}])", R"([{"id":"a"},,{"id":"b"}])",
             R"({"id":'cl-1'})", R"({id:"cl-1"})", R"({"id":"cl-1":"x"})", R"({"id" "cl-1"})", R"({"id":"cl-1"}})",
             R"({"id":"cl-1","vcpus":NaN})", R"({"id":"cl-1","vcpus":Infinity})", R"({"id":"cl-1","vcpus":-Infinity})",
             R"({"id":"cl-1","vcpus":01})", R"({"id":"cl-1","vcpus":1.})", R"({"id":"cl-1","vcpus":.5})", R"({"id":"cl-1","vcpus":+1})",
             R"({"id":"cl-1","vcpus":1e})", R"({"id":"cl-1","vcpus":0x10})", R"({"id":"cl-1","vcpus":1e400})",
             R"({"id":"cl-1","vcpus":-1e400})", R"({"id":"cl-1","vcpus":1e-400})", R"({"id":"cl-1","vcpus":tru})",
             R"({"id":"cl-1","vcpus":True})", R"({"id":"cl-1","vcpus":nul})",
             "\xef\xbb\xbf" + valid, "", " ", "\n", std::string(1, '\0'), "{", "}", "[", "]", "{]", "[}", "\"", "\"id\"",
             // the top level: scalars, arrays, objects
             "null", "true", "false", "0", "-1", "1.5", "1e300", "18446744073709551615", "\"x\"", "\"\"", "[]", "{}",
             "[[]]", "[{}]", "[null]", "[1,2]", "[\"a\"]", "[true,false]", "[{\"id\":\"a\"}]", "[[{\"id\":\"a\"}]]",
             "[[[{\"id\":\"a\",\"metadata\":{\"k\":\"v\"}}]],{\"id\":\"b\"}]",
             R"([{"id":"a"},null,1,-2.5,"s",[],[{"id":"b"}],{},true,{"id":"c","metadata":{"k":"v"}},[[]],"{}"])",
             R"({"capsules":[{"id":"a"}]})", R"({"id":"a","capsules":[{"id":"b"}]})",
             R"([{"id":"a","x":[{"id":"c"}],"y":{"id":"d"}},{"id":"b","x":[[{"metadata":{"k":"v"}}]]}])",
             R"([{"metadata":{"a":"1"}},{"status":"paused"},{"id":""}])", R"([{"id":"a"}] [])", R"([{"id":"a"}]])",
             R"({"id":"a"}] )", R"([{"id":"a"})", R"([{"id":"a"},)", R"([{"id":"a","status":)",
         })
        cmp.check(body);
    // every prefix, and every one-byte deletion, of a valid answer
    for (std::size_t n = 0; n <= valid.size(); ++n) {
        cmp.check(valid.substr(0, n));
        cmp.check("[" + valid + "," + valid.substr(0, n));
    }
    for (std::size_t i = 0; i < valid.size(); ++i) {
        cmp.check(valid.substr(0, i) + valid.substr(i + 1));
        cmp.check("[" + valid.substr(0, i) + valid.substr(i + 1) + "]");
    }
    CHECK(cmp.one_decoded > 10);
    CHECK(cmp.lists_decoded > 10);
}

TEST_CASE("answers: capsule decoding without a DOM equals the DOM's, nesting depth", "[answers]") {
    // Boost.JSON's default max_depth is 32; around it, under every place a
    // nested value can be: an unknown key, a field, a metadata value, the list.
    auto nest = [](std::size_t n, const std::string& inner, bool objects) {
        std::string s;
        for (std::size_t i = 0; i < n; ++i) s += objects ? "{\"id\":" : "[";
        s += inner;
        for (std::size_t i = 0; i < n; ++i) s += objects ? "}" : "]";
        return s;
    };
    dom_comparison cmp;
    for (std::size_t n = 0; n <= 36; ++n)
        for (bool objects : {false, true}) {
            cmp.check_in_lists("{\"id\":\"cl-1\",\"x\":" + nest(n, "\"v\"", objects) + "}");
            cmp.check_in_lists("{\"id\":\"cl-1\",\"status\":" + nest(n, "\"running\"", objects) + "}");
            cmp.check_in_lists("{\"id\":\"cl-1\",\"metadata\":{\"k\":" + nest(n, "\"v\"", objects) + ",\"j\":\"w\"}}");
            cmp.check_in_lists("{\"id\":\"cl-1\",\"metadata\":{\"k\":\"v\",\"k\":" + nest(n, "{}", objects) + "}}");
            cmp.check(nest(n, "{\"id\":\"cl-1\"}", objects));
            cmp.check(nest(n, "[]", objects));
            cmp.check("[" + nest(n, "{\"id\":\"cl-1\"}", false) + ",{\"id\":\"b\"}]");
        }
    CHECK(cmp.one_decoded > 100);
}

namespace {

// Random JSON, built as text (so keys can repeat and be spelt with escapes):
// capsules whose members are mostly the capsule's fields, mostly of the right
// type, among random keys and values of every type, nested.
class capsule_json_maker {
public:
    explicit capsule_json_maker(std::uint32_t seed) : rng_(seed) {}

    std::size_t below(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_); }
    bool percent(std::size_t p) { return below(100) < p; }

    std::string document() {
        auto r = below(10);
        std::string body = r < 4 ? capsule(0) : r < 8 ? list() : value(0);
        return ws() + body + ws();
    }

    // A few random edits of a document: it is mostly no longer JSON, or JSON of another shape.
    std::string mutated(std::string s) {
        static const std::vector<std::string> tokens = {
            "{", "}", "[", "]", ",", ":", "\"", "\\", "\\u00", "\\ud83d", "null", "1", "-", ".5", "e9", "\"id\":",
            "\"metadata\":{", "\"status\":", "//", "/*", "*/", " ", "\n", std::string(1, '\0'), "\xff", "\xc3", "\xe9",
            "\"\":", "[[", "]]", "{}", "[]", "true", "1e400", "18446744073709551616",
        };
        for (auto edits = 1 + below(3); edits-- > 0;) {
            auto pos = s.empty() ? 0 : below(s.size() + 1);
            switch (below(6)) {
            case 0:  // a byte replaced
                if (pos < s.size()) s[pos] = static_cast<char>(below(256));
                break;
            case 1:  // a token replacing a byte
                if (pos < s.size()) s.replace(pos, 1, tokens[below(tokens.size())]);
                break;
            case 2:  // bytes deleted
                s.erase(pos, 1 + below(6));
                break;
            case 3:  // a token inserted
                s.insert(pos, tokens[below(tokens.size())]);
                break;
            case 4: {  // a slice repeated elsewhere
                if (s.empty()) break;
                auto from = below(s.size());
                auto slice = s.substr(from, 1 + below(40));
                s.insert(below(s.size() + 1), slice);
                break;
            }
            default:  // cut short
                s.resize(pos);
                break;
            }
        }
        return s;
    }

private:
    std::string ws() {
        static const char space[] = {' ', '\t', '\n', '\r'};
        std::string s;
        if (percent(15))
            for (auto n = 1 + below(3); n-- > 0;) s += space[below(4)];
        return s;
    }

    // Raw text (UTF-8) to put in a string: names, statuses, escapes-to-be, unicode.
    std::string raw_text() {
        static const std::vector<std::string> pieces = {
            "id", "status", "running", "paused", "cl-", "a", "b", "k", "v", "10.0.0.", "\"", "\\", "/", "\n",
            "\t", std::string(1, '\0'), "\x1f", "\xc3\xa9", "\xe6\x97\xa5", "\xf0\x9f\x98\x80", " ", "0", "-",
            "2026-05-02T22:56:00Z", "metadata", "\x7f",
        };
        std::string s;
        auto n = below(5);
        for (std::size_t i = 0; i < n; ++i) s += pieces[below(pieces.size())];
        if (below(1000) < 4) {  // long enough to be handed over in parts
            auto len = 4000 + below(6000);
            while (s.size() < len) s += percent(5) ? pieces[below(pieces.size())] : std::string(1, static_cast<char>('a' + below(26)));
        }
        return s;
    }

    // `raw` as a JSON string literal, some characters escaped (always those that must be).
    std::string literal(const std::string& raw) {
        auto u = [](unsigned cp) {
            char buf[16];
            std::snprintf(buf, sizeof buf, "\\u%04x", cp & 0xffffu);
            return std::string(buf);
        };
        const unsigned escape_percent = percent(50) ? 0 : static_cast<unsigned>(below(60));
        std::string out = "\"";
        for (std::size_t i = 0; i < raw.size();) {
            auto c = static_cast<unsigned char>(raw[i]);
            std::size_t len = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
            len = std::min(len, raw.size() - i);
            bool must = c < 0x20 || c == '"' || c == '\\';
            if (!must && !percent(escape_percent)) {
                out.append(raw, i, len);
            } else if (len == 1) {
                static const std::string short_form = "\"\\/\b\f\n\r\t";
                static const std::string short_letter = "\"\\/bfnrt";
                auto k = short_form.find(static_cast<char>(c));
                out += k != std::string::npos && percent(70) ? std::string("\\") + short_letter[k] : u(c);
            } else {
                unsigned cp = c & (len == 2 ? 0x1f : len == 3 ? 0x0f : 0x07);
                for (std::size_t k = 1; k < len; ++k) cp = cp << 6 | (static_cast<unsigned char>(raw[i + k]) & 0x3f);
                if (cp >= 0x10000) {
                    cp -= 0x10000;
                    out += u(0xd800 + (cp >> 10)) + u(0xdc00 + (cp & 0x3ff));
                } else {
                    out += u(cp);
                }
            }
            i += len;
        }
        return out + "\"";
    }

    std::string field_name() { return capsule_fields[below(capsule_fields.size())]; }

    std::string any_key() {
        static const std::vector<std::string> near_misses = {
            "ID", "Id", "id ", " id", "ids", "i", "", "statu", "statuss", "Status", "template_name", "metadata ",
            "vcpu", "disk_size", "memory", "sandbox_id", "capsules", "x", "a", "b", "k",
        };
        auto r = below(100);
        if (r < 45) return field_name();
        if (r < 75) return near_misses[below(near_misses.size())];
        return raw_text();
    }

    std::string number() {
        static const std::vector<std::string> edges = {
            "0", "-0", "1", "-1", "2147483647", "2147483648", "-2147483648", "-2147483649", "4294967295",
            "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
            "18446744073709551615", "18446744073709551616", "2.0", "2.5", "-2.5", "1e300", "-1e300", "1e-300",
            "1E2", "1e+2", "0.1e1", "-0.0", "9.2233720368547758e18", "-9.2233720368547758e18", "1e400", "123456789012345678901234567890",
        };
        switch (below(6)) {
        case 0: return edges[below(edges.size())];
        case 1: return std::to_string(static_cast<long long>(below(2000001)) - 1000000);
        case 2: return std::to_string(static_cast<std::int64_t>(rng_() << 32 | rng_()));
        case 3: return std::to_string(static_cast<std::uint64_t>(rng_()) << 32 | rng_());
        default: {
            double magnitude = std::pow(10.0, static_cast<double>(below(40)) - 10.0);
            double d = std::uniform_real_distribution<double>(-1.0, 1.0)(rng_) * magnitude;
            char buf[64];
            std::snprintf(buf, sizeof buf, percent(50) ? "%.17g" : "%.3f", d);
            return buf;
        }
        }
    }

    std::string join(const std::vector<std::pair<std::string, std::string>>& members) {
        std::string s = "{" + ws();
        for (std::size_t i = 0; i < members.size(); ++i) {
            if (i) s += "," + ws();
            s += literal(members[i].first) + ws() + ":" + ws() + members[i].second + ws();
        }
        return s + "}";
    }

    // Any value; `depth` is how deep it is, to keep most documents small.
    std::string value(std::size_t depth) {
        if (percent(1)) return deep(depth);
        auto r = below(100);
        if (depth > 5) r = r % 55;  // scalars only
        if (r < 25) return literal(raw_text());
        if (r < 45) return number();
        if (r < 50) return percent(50) ? "true" : "false";
        if (r < 55) return "null";
        if (r < 70) return array(depth);
        if (r < 85) return object(depth);
        if (r < 93) return capsule(depth);
        return metadata(depth);
    }

    // Arrays or objects nested around the depth limit (32).
    std::string deep(std::size_t depth) {
        auto n = 25 + below(12);
        bool objects = percent(50);
        std::string s;
        for (std::size_t i = 0; i < n; ++i) s += objects ? "{" + literal(any_key()) + ":" : "[";
        s += percent(50) ? capsule(depth + n) : literal(raw_text());
        for (std::size_t i = 0; i < n; ++i) s += objects ? "}" : "]";
        return s;
    }

    std::string array(std::size_t depth) {
        std::string s = "[" + ws();
        auto n = below(5);
        for (std::size_t i = 0; i < n; ++i) s += (i ? "," + ws() : std::string()) + value(depth + 1) + ws();
        return s + "]";
    }

    std::string object(std::size_t depth) {
        std::vector<std::pair<std::string, std::string>> m;
        auto n = depth < 2 && percent(5) ? 19 + below(20) : below(6);
        for (std::size_t i = 0; i < n; ++i) m.emplace_back(any_key(), value(depth + 1));
        return join(m);
    }

    std::string metadata(std::size_t depth) {
        static const std::vector<std::string> keys = {"a", "b", "c", "team", "id", "status", "", "k\xc3\xa9"};
        std::vector<std::pair<std::string, std::string>> m;
        auto n = depth < 3 && percent(5) ? 19 + below(30) : below(6);
        for (std::size_t i = 0; i < n; ++i)
            m.emplace_back(percent(70) ? keys[below(keys.size())] : raw_text(),
                           percent(70) ? literal(raw_text()) : value(depth + 1));
        return join(m);
    }

    // A member of a capsule: mostly the field's own type.
    std::string field_value(const std::string& f, std::size_t depth) {
        if (percent(30)) return value(depth + 1);
        if (f == "metadata") return metadata(depth + 1);
        if (f == "vcpus" || f == "memory_mb" || f == "timeout_sec" || f == "disk_size_mb" || f == "disk_used_mb")
            return number();
        if (f == "status") {
            static const std::vector<std::string> states = {"running", "paused", "hibernated", "error", "weird", "", "Running"};
            return literal(states[below(states.size())]);
        }
        return literal(percent(70) ? "cl-" + std::to_string(below(1000)) : raw_text());
    }

    std::string capsule(std::size_t depth) {
        std::vector<std::pair<std::string, std::string>> m;
        auto n = depth < 2 && percent(10) ? 19 + below(25) : below(11);
        for (std::size_t i = 0; i < n; ++i) {
            auto k = percent(80) ? field_name() : any_key();
            m.emplace_back(k, field_value(k, depth));
        }
        if (percent(85))  // an id, at any place
            m.insert(m.begin() + static_cast<std::ptrdiff_t>(below(m.size() + 1)),
                     std::pair<std::string, std::string>("id", percent(90) ? literal("cl-" + raw_text()) : value(depth + 1)));
        return join(m);
    }

    std::string list() {
        std::string s = "[" + ws();
        auto n = percent(5) ? 10 + below(20) : below(5);
        for (std::size_t i = 0; i < n; ++i) s += (i ? "," + ws() : std::string()) + (percent(75) ? capsule(1) : value(1)) + ws();
        return s + "]";
    }

    std::mt19937 rng_;
};

} // namespace

TEST_CASE("answers: capsule decoding without a DOM equals the DOM's, random documents", "[answers]") {
    capsule_json_maker make(20260502u);
    dom_comparison cmp;
    for (int i = 0; i < 4000; ++i) {
        INFO("random document #" << i);
        cmp.check(make.document());
    }
    // the generator is not vacuous: most capsules and lists are decoded
    CHECK(cmp.one_decoded > 800);
    CHECK(cmp.lists_decoded > 800);
    CHECK(cmp.listed_capsules > 3000);
}

TEST_CASE("answers: capsule decoding without a DOM equals the DOM's, random byte mutations", "[answers]") {
    capsule_json_maker make(7919u);
    dom_comparison cmp;
    for (int i = 0; i < 4000; ++i) {
        INFO("mutated document #" << i);
        cmp.check(make.mutated(make.document()));
    }
    CHECK(cmp.one_decoded + cmp.lists_decoded > 100);
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
