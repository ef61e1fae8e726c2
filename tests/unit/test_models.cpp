// models.hpp: lenient Boost.JSON readers and the writers (WIRE.md §2, §3.8,
// §4.4, §5.1, §6.1).
#include <catch2/catch.hpp>

#include <wrenn/models.hpp>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace json = boost::json;

namespace {

template <class T>
T read(const std::string& text) {
    return json::value_to<T>(json::parse(text));
}

template <class T>
json::object write(const T& v) {
    auto jv = json::value_from(v);
    REQUIRE(jv.is_object());
    return jv.get_object();
}

template <class T>
T round_trip(const T& v) {
    // through text, as it travels
    return json::value_to<T>(json::parse(json::serialize(json::value_from(v))));
}

void check_same(const wrenn::capsule_info& a, const wrenn::capsule_info& b) {
    CHECK(a.id == b.id);
    CHECK(a.status.raw == b.status.raw);
    CHECK(a.status.state == b.status.state);
    CHECK(a.template_name == b.template_name);
    CHECK(a.vcpus == b.vcpus);
    CHECK(a.memory_mb == b.memory_mb);
    CHECK(a.timeout_sec == b.timeout_sec);
    CHECK(a.created_at == b.created_at);
    CHECK(a.started_at == b.started_at);
    CHECK(a.last_active_at == b.last_active_at);
    CHECK(a.last_updated == b.last_updated);
    CHECK(a.metadata == b.metadata);
    CHECK(a.guest_ip == b.guest_ip);
    CHECK(a.host_ip == b.host_ip);
    CHECK(a.disk_size_mb == b.disk_size_mb);
    CHECK(a.disk_used_mb == b.disk_used_mb);
}

void check_same(const wrenn::template_info& a, const wrenn::template_info& b) {
    CHECK(a.name == b.name);
    CHECK(a.type == b.type);
    CHECK(a.vcpus == b.vcpus);
    CHECK(a.memory_mb == b.memory_mb);
    CHECK(a.size_bytes == b.size_bytes);
    CHECK(a.created_at == b.created_at);
    CHECK(a.platform == b.platform);
    CHECK(a.is_protected == b.is_protected);
    CHECK(a.metadata == b.metadata);
}

const std::string full_capsule = R"({"id":"cl-0a1b2c3d4e5f6g7h8i9j0k1l2","status":"running","template":"minimal",
"vcpus":2,"memory_mb":1024,"timeout_sec":300,"guest_ip":"10.0.0.2","host_ip":"192.168.1.5",
"created_at":"2026-05-02T22:56:00Z","started_at":"2026-05-02T22:56:01Z",
"last_active_at":"2026-05-02T23:00:00+02:00","last_updated":"2026-05-02T23:00:01Z",
"metadata":{"kernel_version":"6.1.102","firecracker_version":"1.10.1","agent_version":"0.1.5","envd_version":"0.2.0"},
"disk_size_mb":5120,"disk_used_mb":734}
)";

} // namespace

// ---------------------------------------------------------------------------
// status enum

TEST_CASE("models: all 12 known statuses", "[models]") {
    using S = wrenn::capsule_state;
    struct row {
        std::string text;
        S state;
    };
    auto r = GENERATE(values<row>({
        {"pending", S::pending},
        {"starting", S::starting},
        {"running", S::running},
        {"pausing", S::pausing},
        {"paused", S::paused},
        {"snapshotting", S::snapshotting},
        {"resuming", S::resuming},
        {"stopping", S::stopping},
        {"hibernated", S::hibernated},
        {"stopped", S::stopped},
        {"missing", S::missing},
        {"error", S::error},
    }));
    CAPTURE(r.text);
    CHECK(wrenn::parse_capsule_state(r.text) == r.state);
    CHECK(wrenn::to_string(r.state) == r.text);

    wrenn::capsule_status from_text(r.text);
    CHECK(from_text.state == r.state);
    CHECK(from_text.raw == r.text);
    CHECK(from_text == r.state);

    wrenn::capsule_status from_enum(r.state);
    CHECK(from_enum.raw == r.text);
    CHECK(from_enum == from_text);

    auto c = read<wrenn::capsule_info>(R"({"id":"cl-1","status":")" + r.text + "\"}");
    CHECK(c.status.state == r.state);
    CHECK(c.status.raw == r.text);
    CHECK(write(c).at("status").as_string() == r.text);
}

TEST_CASE("models: unknown status strings are kept raw with state unknown", "[models]") {
    auto text = GENERATE(as<std::string>{}, "exploding", "", "Running", "RUNNING", " running", "running ",
                         "run", "pause", "stopped\n", "unknown", "\xc3\xa9tat", "snapshotting2");
    CAPTURE(text);
    CHECK(wrenn::parse_capsule_state(text) == wrenn::capsule_state::unknown);
    wrenn::capsule_status s(text);
    CHECK(s.state == wrenn::capsule_state::unknown);
    CHECK(s.raw == text);

    json::object o{{"id", "cl-1"}, {"status", text}};
    auto c = json::value_to<wrenn::capsule_info>(json::value(o));
    CHECK(c.status == wrenn::capsule_state::unknown);
    CHECK(c.status.raw == text);
    // written back verbatim
    CHECK(write(c).at("status").as_string() == text);
}

TEST_CASE("models: capsule_status basics", "[models]") {
    wrenn::capsule_status def;
    CHECK(def.state == wrenn::capsule_state::unknown);
    CHECK(def.raw.empty());
    CHECK(wrenn::to_string(wrenn::capsule_state::unknown) == "unknown");
    CHECK(wrenn::capsule_status(wrenn::capsule_state::paused) == wrenn::capsule_state::paused);
    CHECK_FALSE(wrenn::capsule_status(wrenn::capsule_state::paused) == wrenn::capsule_state::running);
    // two unknown statuses differ by their raw text
    CHECK_FALSE(wrenn::capsule_status(std::string_view("a")) == wrenn::capsule_status(std::string_view("b")));
    CHECK(wrenn::capsule_status(std::string_view("a")) == wrenn::capsule_status(std::string_view("a")));
}

// ---------------------------------------------------------------------------
// capsule_info

TEST_CASE("models: capsule_info reads every field", "[models]") {
    auto c = read<wrenn::capsule_info>(full_capsule);
    CHECK(c.id == "cl-0a1b2c3d4e5f6g7h8i9j0k1l2");
    CHECK(c.status == wrenn::capsule_state::running);
    CHECK(c.template_name == "minimal");
    CHECK(c.vcpus == 2);
    CHECK(c.memory_mb == 1024);
    CHECK(c.timeout_sec == 300);
    CHECK(c.guest_ip == "10.0.0.2");
    CHECK(c.host_ip == "192.168.1.5");
    CHECK(c.created_at == "2026-05-02T22:56:00Z");
    CHECK(c.started_at == "2026-05-02T22:56:01Z");
    CHECK(c.last_active_at == "2026-05-02T23:00:00+02:00");
    CHECK(c.last_updated == "2026-05-02T23:00:01Z");
    CHECK(c.metadata == wrenn::string_map{{"kernel_version", "6.1.102"},
                                          {"firecracker_version", "1.10.1"},
                                          {"agent_version", "0.1.5"},
                                          {"envd_version", "0.2.0"}});
    CHECK(c.disk_size_mb == 5120);
    CHECK(c.disk_used_mb == 734);
}

TEST_CASE("models: capsule_info with missing fields takes defaults", "[models]") {
    auto text = GENERATE(as<std::string>{}, "{}", "{}\n", R"({"unrelated":1})");
    auto c = read<wrenn::capsule_info>(text);
    CHECK(c.id.empty());
    CHECK(c.status.state == wrenn::capsule_state::unknown);
    CHECK(c.status.raw.empty());
    CHECK(c.template_name.empty());
    CHECK(c.vcpus == 0);
    CHECK(c.memory_mb == 0);
    CHECK(c.timeout_sec == 0);
    CHECK(c.created_at.empty());
    CHECK_FALSE(c.started_at);
    CHECK_FALSE(c.last_active_at);
    CHECK(c.last_updated.empty());
    CHECK(c.metadata.empty());
    CHECK_FALSE(c.guest_ip);
    CHECK_FALSE(c.host_ip);
    CHECK_FALSE(c.disk_size_mb);
    CHECK_FALSE(c.disk_used_mb);
}

TEST_CASE("models: capsule_info ignores unknown fields", "[models]") {
    auto c = read<wrenn::capsule_info>(
        R"({"future":{"nested":[1,2,{"x":null}]},"id":"cl-1","status":"running","zz":true,"labels":["a"],
            "vcpus":1,"template_name":"wrong-key","memory":99})");
    CHECK(c.id == "cl-1");
    CHECK(c.status == wrenn::capsule_state::running);
    CHECK(c.vcpus == 1);
    CHECK(c.template_name.empty());  // the key is "template"
    CHECK(c.memory_mb == 0);         // the key is "memory_mb"
}

TEST_CASE("models: capsule_info with wrong-typed fields reads them as absent", "[models]") {
    auto c = read<wrenn::capsule_info>(
        R"({"id":42,"status":5,"template":null,"vcpus":"2","memory_mb":true,"timeout_sec":[],
            "guest_ip":1,"host_ip":{},"created_at":1714690000,"started_at":false,"last_active_at":[],
            "last_updated":null,"metadata":"kernel","disk_size_mb":"5120","disk_used_mb":null})");
    CHECK(c.id.empty());
    CHECK(c.status.state == wrenn::capsule_state::unknown);
    CHECK(c.status.raw.empty());
    CHECK(c.template_name.empty());
    CHECK(c.vcpus == 0);
    CHECK(c.memory_mb == 0);
    CHECK(c.timeout_sec == 0);
    CHECK_FALSE(c.guest_ip);
    CHECK_FALSE(c.host_ip);
    CHECK(c.created_at.empty());
    CHECK_FALSE(c.started_at);
    CHECK_FALSE(c.last_active_at);
    CHECK(c.last_updated.empty());
    CHECK(c.metadata.empty());
    CHECK_FALSE(c.disk_size_mb);
    CHECK_FALSE(c.disk_used_mb);
}

TEST_CASE("models: capsule_info nullable timestamps and odd values", "[models]") {
    auto c = read<wrenn::capsule_info>(
        R"({"id":"cl-1","started_at":null,"last_active_at":"","metadata":{"a":"b","n":1,"o":{},"z":null,"e":""},
            "vcpus":2.0,"memory_mb":512.0,"timeout_sec":-1,"disk_size_mb":0,"disk_used_mb":9007199254740993})");
    CHECK_FALSE(c.started_at);
    REQUIRE(c.last_active_at);
    CHECK(c.last_active_at->empty());
    CHECK(c.metadata == wrenn::string_map{{"a", "b"}, {"e", ""}});
    CHECK(c.vcpus == 2);
    CHECK(c.memory_mb == 512);  // an integral double is a number like any other
    CHECK(c.timeout_sec == -1);
    CHECK(c.disk_size_mb == 0);  // present and zero is not absent
    CHECK(c.disk_used_mb == 9007199254740993LL);  // int64 precision kept
}

TEST_CASE("models: numbers outside a field's range read as absent", "[models][bug]") {
    // Lenient reading turns a value that does not fit into "absent" (as for a
    // wrong type). Today an out-of-range double is cast to int64 (undefined
    // behaviour; INT64_MIN on x86-64), a uint64 above INT64_MAX wraps
    // negative, and int fields silently keep the low 32 bits.
    auto c = read<wrenn::capsule_info>(
        R"({"id":"cl-1","disk_size_mb":1e300,"disk_used_mb":18446744073709551615,"vcpus":4294967298,
            "memory_mb":-1e300})");
    CHECK_FALSE(c.disk_size_mb.has_value());
    CHECK_FALSE(c.disk_used_mb.has_value());
    CHECK(c.vcpus == 0);
    CHECK(c.memory_mb == 0);
}

TEST_CASE("models: capsule_info writer", "[models]") {
    SECTION("full capsule: keys as on the wire") {
        auto o = write(read<wrenn::capsule_info>(full_capsule));
        auto orig = json::parse(full_capsule).as_object();
        CHECK(o.size() == orig.size());
        for (auto& kv : orig) {
            CAPTURE(std::string(kv.key()));
            REQUIRE(o.contains(kv.key()));
            CHECK(o.at(kv.key()) == kv.value());
        }
    }
    SECTION("unset optionals and empty metadata are omitted") {
        wrenn::capsule_info c;
        c.id = "cl-1";
        c.status = wrenn::capsule_state::paused;
        auto o = write(c);
        CHECK(o.at("id") == "cl-1");
        CHECK(o.at("status") == "paused");
        CHECK(o.at("template") == "");
        CHECK(o.at("vcpus") == 0);
        CHECK(o.contains("memory_mb"));
        CHECK(o.contains("timeout_sec"));
        CHECK(o.contains("created_at"));
        CHECK(o.contains("last_updated"));
        for (auto key : {"started_at", "last_active_at", "guest_ip", "host_ip", "metadata", "disk_size_mb",
                         "disk_used_mb", "template_name"}) {
            CAPTURE(key);
            CHECK_FALSE(o.contains(key));
        }
    }
}

TEST_CASE("models: capsule_info round trips", "[models]") {
    SECTION("full") {
        auto c = read<wrenn::capsule_info>(full_capsule);
        check_same(round_trip(c), c);
    }
    SECTION("sparse, unknown status, odd strings") {
        wrenn::capsule_info c;
        c.id = "cl-\"quoted\"\\";
        c.status = wrenn::capsule_status(std::string_view("teleporting"));
        c.template_name = "t\xc3\xa9mpl\nate";
        c.vcpus = -3;
        c.memory_mb = std::numeric_limits<int>::max();
        c.timeout_sec = std::numeric_limits<int>::min();
        c.last_active_at = "";
        c.metadata = {{"", ""}, {"k\x01", "<&>"}};
        c.disk_used_mb = std::numeric_limits<std::int64_t>::max();
        auto back = round_trip(c);
        check_same(back, c);
        CHECK(back.status.state == wrenn::capsule_state::unknown);
    }
}

// ---------------------------------------------------------------------------
// template_info

TEST_CASE("models: template_info reads every field", "[models]") {
    auto t = read<wrenn::template_info>(
        R"({"name":"my-snap","type":"snapshot","vcpus":2,"memory_mb":2048,"size_bytes":5368709120,
            "created_at":"2026-05-02T22:56:00Z","platform":false,"protected":true,
            "metadata":{"source":"cl-1"},"extra":1}
)");
    CHECK(t.name == "my-snap");
    CHECK(t.type == "snapshot");
    CHECK(t.vcpus == 2);
    CHECK(t.memory_mb == 2048);
    CHECK(t.size_bytes == 5368709120LL);  // above 32 bits
    CHECK(t.created_at == "2026-05-02T22:56:00Z");
    CHECK_FALSE(t.platform);
    CHECK(t.is_protected);
    CHECK(t.metadata == wrenn::string_map{{"source", "cl-1"}});
}

TEST_CASE("models: template_info missing and wrong-typed fields", "[models]") {
    auto t = read<wrenn::template_info>(
        R"({"name":null,"type":"custom","vcpus":"1","size_bytes":"big","platform":"true","protected":1,
            "metadata":[["a","b"]]})");
    CHECK(t.name.empty());
    CHECK(t.type == "custom");  // unknown types kept
    CHECK(t.vcpus == 0);
    CHECK(t.memory_mb == 0);
    CHECK(t.size_bytes == 0);
    CHECK(t.created_at.empty());
    CHECK_FALSE(t.platform);
    CHECK_FALSE(t.is_protected);
    CHECK(t.metadata.empty());
    auto p = read<wrenn::template_info>(R"({"name":"minimal","type":"base","platform":true})");
    CHECK(p.platform);
    CHECK_FALSE(p.is_protected);
}

TEST_CASE("models: template_info writer and round trip", "[models]") {
    wrenn::template_info t;
    t.name = "minimal";
    t.type = "base";
    t.size_bytes = 123;
    t.created_at = "2026-01-01T00:00:00Z";
    t.platform = true;
    auto o = write(t);
    CHECK(o.at("name") == "minimal");
    CHECK(o.at("type") == "base");
    CHECK(o.at("size_bytes") == 123);
    CHECK(o.at("platform") == true);
    CHECK(o.at("protected") == false);
    CHECK_FALSE(o.contains("vcpus"));      // omitted when 0
    CHECK_FALSE(o.contains("memory_mb"));  // omitted when 0
    CHECK_FALSE(o.contains("metadata"));
    CHECK_FALSE(o.contains("is_protected"));
    check_same(round_trip(t), t);

    t.vcpus = 4;
    t.memory_mb = 8192;
    t.is_protected = true;
    t.metadata = {{"a", "1"}};
    t.size_bytes = std::numeric_limits<std::int64_t>::max();
    auto o2 = write(t);
    CHECK(o2.at("vcpus") == 4);
    CHECK(o2.at("memory_mb") == 8192);
    CHECK(o2.at("protected") == true);
    CHECK(o2.at("metadata").as_object().at("a") == "1");
    check_same(round_trip(t), t);
}

// ---------------------------------------------------------------------------
// metrics

TEST_CASE("models: capsule_metrics reads the WIRE.md 3.8 answer", "[models]") {
    auto m = read<wrenn::capsule_metrics>(
        R"({"sandbox_id":"cl-1","range":"10m","points":[
  {"timestamp_unix":1714690000,"cpu_pct":12.5,"mem_bytes":123456789,"disk_bytes":987654321},
  {"timestamp_unix":1714690001,"cpu_pct":100,"mem_bytes":8589934592,"disk_bytes":0,"new":1}]}
)");
    CHECK(m.capsule_id == "cl-1");
    CHECK(m.range == "10m");
    REQUIRE(m.points.size() == 2);
    CHECK(m.points[0].timestamp_unix == 1714690000);
    CHECK(m.points[0].cpu_pct == Approx(12.5));
    CHECK(m.points[0].mem_bytes == 123456789);
    CHECK(m.points[0].disk_bytes == 987654321);
    CHECK(m.points[1].cpu_pct == Approx(100.0));  // an integer where a float is expected
    CHECK(m.points[1].mem_bytes == 8589934592LL);
}

TEST_CASE("models: capsule_metrics lenient cases", "[models]") {
    SECTION("no points / null / wrong type") {
        auto text = GENERATE(as<std::string>{}, R"({"sandbox_id":"cl-1","range":"5m","points":[]})",
                             R"({"sandbox_id":"cl-1","range":"5m"})",
                             R"({"sandbox_id":"cl-1","range":"5m","points":null})",
                             R"({"sandbox_id":"cl-1","range":"5m","points":{"0":{}}})");
        auto m = read<wrenn::capsule_metrics>(text);
        CHECK(m.capsule_id == "cl-1");
        CHECK(m.range == "5m");
        CHECK(m.points.empty());
    }
    SECTION("wrong-typed point fields read as zero") {
        auto m = read<wrenn::capsule_metrics>(
            R"({"points":[{"timestamp_unix":"1","cpu_pct":"12.5","mem_bytes":null,"disk_bytes":[]},{}]})");
        CHECK(m.capsule_id.empty());
        REQUIRE(m.points.size() == 2);
        for (auto& p : m.points) {
            CHECK(p.timestamp_unix == 0);
            CHECK(p.cpu_pct == 0.0);
            CHECK(p.mem_bytes == 0);
            CHECK(p.disk_bytes == 0);
        }
    }
    SECTION("the id key is sandbox_id, not capsule_id") {
        auto m = read<wrenn::capsule_metrics>(R"({"capsule_id":"cl-1"})");
        CHECK(m.capsule_id.empty());
    }
}

TEST_CASE("models: capsule_metrics writer and round trip", "[models]") {
    wrenn::capsule_metrics m{"cl-1", "1h", {{1, 0.25, 2, 3}, {4, 99.75, 5, 6}}};
    auto o = write(m);
    CHECK(o.at("sandbox_id") == "cl-1");
    CHECK(o.at("range") == "1h");
    REQUIRE(o.at("points").as_array().size() == 2);
    auto& p0 = o.at("points").as_array()[0].as_object();
    CHECK(p0.at("timestamp_unix") == 1);
    CHECK(p0.at("cpu_pct").as_double() == 0.25);
    CHECK(p0.at("mem_bytes") == 2);
    CHECK(p0.at("disk_bytes") == 3);
    auto back = round_trip(m);
    CHECK(back.capsule_id == "cl-1");
    CHECK(back.range == "1h");
    REQUIRE(back.points.size() == 2);
    CHECK(back.points[1].timestamp_unix == 4);
    CHECK(back.points[1].cpu_pct == 99.75);
    CHECK(back.points[1].mem_bytes == 5);
    CHECK(back.points[1].disk_bytes == 6);

    auto empty = write(wrenn::capsule_metrics{});
    CHECK(empty.at("points").as_array().empty());  // [] not null
}

// ---------------------------------------------------------------------------
// team stats / usage

TEST_CASE("models: team_stats reads every field", "[models]") {
    auto s = read<wrenn::team_stats>(R"({"range":"24h",
        "current":{"running_count":3,"vcpus_reserved":6,"memory_mb_reserved":3072,"sampled_at":"2026-05-02T22:56:00Z"},
        "peaks":{"running_count":9,"vcpus":18,"memory_mb":9216},
        "series":{"labels":["2026-05-02T22:00:00Z","2026-05-02T23:00:00Z"],"running":[1,3],"vcpus":[2,6],
                  "memory_mb":[512,3072]}}
)");
    CHECK(s.range == "24h");
    CHECK(s.current.running_count == 3);
    CHECK(s.current.vcpus_reserved == 6);
    CHECK(s.current.memory_mb_reserved == 3072);
    CHECK(s.current.sampled_at == "2026-05-02T22:56:00Z");
    CHECK(s.peaks.running_count == 9);
    CHECK(s.peaks.vcpus == 18);
    CHECK(s.peaks.memory_mb == 9216);
    CHECK(s.series.labels == std::vector<std::string>{"2026-05-02T22:00:00Z", "2026-05-02T23:00:00Z"});
    CHECK(s.series.running == std::vector<std::int64_t>{1, 3});
    CHECK(s.series.vcpus == std::vector<std::int64_t>{2, 6});
    CHECK(s.series.memory_mb == std::vector<std::int64_t>{512, 3072});
}

TEST_CASE("models: team_stats lenient cases", "[models]") {
    SECTION("sampled_at null, sections missing") {
        auto s = read<wrenn::team_stats>(R"({"range":"5m","current":{"running_count":0,"sampled_at":null}})");
        CHECK(s.range == "5m");
        CHECK_FALSE(s.current.sampled_at);
        CHECK(s.peaks.running_count == 0);
        CHECK(s.series.labels.empty());
        CHECK(s.series.running.empty());
    }
    SECTION("sections of the wrong type") {
        auto s = read<wrenn::team_stats>(R"({"range":5,"current":[1],"peaks":"x","series":null})");
        CHECK(s.range.empty());
        CHECK(s.current.running_count == 0);
        CHECK_FALSE(s.current.sampled_at);
        CHECK(s.peaks.vcpus == 0);
        CHECK(s.series.memory_mb.empty());
    }
    SECTION("mixed element types in series") {
        auto s = read<wrenn::team_stats>(
            R"({"series":{"labels":["a",1,"b",null],"running":[1,"2",3.0,null,4],"vcpus":"1,2","memory_mb":[]}})");
        CHECK(s.series.labels == std::vector<std::string>{"a", "b"});
        CHECK(s.series.running == std::vector<std::int64_t>{1, 3, 4});
        CHECK(s.series.vcpus.empty());
        CHECK(s.series.memory_mb.empty());
    }
}

TEST_CASE("models: team_stats writer and round trip", "[models]") {
    wrenn::team_stats s;
    s.range = "30d";
    s.current = {1, 2, 3, std::nullopt};
    s.peaks = {4, 5, 6};
    s.series.labels = {"x", "y"};
    s.series.running = {7, 8};
    s.series.vcpus = {9, 10};
    s.series.memory_mb = {11, 12};
    auto o = write(s);
    CHECK(o.at("current").as_object().at("sampled_at").is_null());  // nullable, written as null
    CHECK(o.at("peaks").as_object().at("vcpus") == 5);
    CHECK(o.at("series").as_object().at("labels").as_array().size() == 2);
    auto back = round_trip(s);
    CHECK(back.range == "30d");
    CHECK(back.current.running_count == 1);
    CHECK(back.current.vcpus_reserved == 2);
    CHECK(back.current.memory_mb_reserved == 3);
    CHECK_FALSE(back.current.sampled_at);
    CHECK(back.peaks.running_count == 4);
    CHECK(back.peaks.vcpus == 5);
    CHECK(back.peaks.memory_mb == 6);
    CHECK(back.series.labels == s.series.labels);
    CHECK(back.series.running == s.series.running);
    CHECK(back.series.vcpus == s.series.vcpus);
    CHECK(back.series.memory_mb == s.series.memory_mb);

    s.current.sampled_at = "2026-05-02T22:56:00Z";
    CHECK(round_trip(s).current.sampled_at == "2026-05-02T22:56:00Z");
}

TEST_CASE("models: team_usage reads, tolerates and round trips", "[models]") {
    auto u = read<wrenn::team_usage>(R"({"from":"2026-05-01","to":"2026-05-02","points":[
        {"date":"2026-05-01","cpu_minutes":12.5,"ram_mb_minutes":6400},{"date":5,"cpu_minutes":"x"}]}
)");
    CHECK(u.from == "2026-05-01");
    CHECK(u.to == "2026-05-02");
    REQUIRE(u.points.size() == 2);
    CHECK(u.points[0].date == "2026-05-01");
    CHECK(u.points[0].cpu_minutes == 12.5);
    CHECK(u.points[0].ram_mb_minutes == 6400.0);
    CHECK(u.points[1].date.empty());
    CHECK(u.points[1].cpu_minutes == 0.0);
    CHECK(u.points[1].ram_mb_minutes == 0.0);

    auto back = round_trip(u);
    CHECK(back.from == u.from);
    CHECK(back.to == u.to);
    REQUIRE(back.points.size() == 2);
    CHECK(back.points[0].date == "2026-05-01");
    CHECK(back.points[0].cpu_minutes == 12.5);
    CHECK(back.points[0].ram_mb_minutes == 6400.0);

    auto empty = read<wrenn::team_usage>("{}");
    CHECK(empty.from.empty());
    CHECK(empty.points.empty());
}

// ---------------------------------------------------------------------------
// process_info

TEST_CASE("models: process_info reads WIRE.md 6.1 entries", "[models]") {
    auto p = read<wrenn::process_info>(
        R"({"pid":1234,"tag":"proc-1a2b3c4d","cmd":"/bin/sh","args":["-c","sleep 30"],"extra":[]})");
    CHECK(p.pid == 1234);
    CHECK(p.tag == "proc-1a2b3c4d");
    CHECK(p.cmd == "/bin/sh");
    CHECK(p.args == std::vector<std::string>{"-c", "sleep 30"});

    auto bare = read<wrenn::process_info>(R"({"pid":1,"cmd":"/sbin/init"})");
    CHECK(bare.pid == 1);
    CHECK_FALSE(bare.tag);   // omitted when empty
    CHECK_FALSE(bare.args);  // omitted when empty
    CHECK(bare.cmd == "/sbin/init");

    auto odd = read<wrenn::process_info>(R"({"pid":"12","tag":7,"cmd":null,"args":["a",1,"b"]})");
    CHECK(odd.pid == 0);
    CHECK_FALSE(odd.tag);
    CHECK_FALSE(odd.cmd);
    CHECK(odd.args == std::vector<std::string>{"a", "b"});

    auto wrong_args = read<wrenn::process_info>(R"({"pid":5,"args":"-c sleep"})");
    CHECK_FALSE(wrong_args.args);
}

TEST_CASE("models: process_info writer omits empty tag and args", "[models]") {
    wrenn::process_info p;
    p.pid = 42;
    auto o = write(p);
    CHECK(o.size() == 1);
    CHECK(o.at("pid") == 42);

    p.tag = "";
    p.args = std::vector<std::string>{};
    auto o2 = write(p);
    CHECK(o2.size() == 1);
    CHECK_FALSE(o2.contains("tag"));
    CHECK_FALSE(o2.contains("args"));

    p.tag = "t";
    p.cmd = "/bin/sh";
    p.args = std::vector<std::string>{"-c", "x y"};
    auto back = round_trip(p);
    CHECK(back.pid == 42);
    CHECK(back.tag == "t");
    CHECK(back.cmd == "/bin/sh");
    CHECK(back.args == p.args);
}

// ---------------------------------------------------------------------------
// request bodies

TEST_CASE("models: create_capsule_request only emits set fields", "[models]") {
    SECTION("nothing set is {}") {
        auto v = json::value_from(wrenn::create_capsule_request{});
        CHECK(json::serialize(v) == "{}");
    }
    SECTION("each field alone") {
        wrenn::create_capsule_request r;
        r.template_name = "python";
        CHECK(json::serialize(json::value_from(r)) == R"({"template":"python"})");
        r = {};
        r.vcpus = 2;
        CHECK(json::serialize(json::value_from(r)) == R"({"vcpus":2})");
        r = {};
        r.memory_mb = 1024;
        CHECK(json::serialize(json::value_from(r)) == R"({"memory_mb":1024})");
        r = {};
        r.timeout_sec = 0;  // set to 0 is still set: 0 means "never pause"
        CHECK(json::serialize(json::value_from(r)) == R"({"timeout_sec":0})");
    }
    SECTION("all fields") {
        wrenn::create_capsule_request r{"minimal-ubuntu", 4, 4096, 600};
        auto o = write(r);
        CHECK(o.size() == 4);
        CHECK(o.at("template") == "minimal-ubuntu");
        CHECK(o.at("vcpus") == 4);
        CHECK(o.at("memory_mb") == 4096);
        CHECK(o.at("timeout_sec") == 600);
        CHECK_FALSE(o.contains("template_name"));
        auto back = round_trip(r);
        CHECK(back.template_name == "minimal-ubuntu");
        CHECK(back.vcpus == 4);
        CHECK(back.memory_mb == 4096);
        CHECK(back.timeout_sec == 600);
    }
    SECTION("reading a partial request leaves the rest unset") {
        auto r = read<wrenn::create_capsule_request>(R"({"vcpus":2,"template":5,"memory_mb":"1"})");
        CHECK(r.vcpus == 2);
        CHECK_FALSE(r.template_name);
        CHECK_FALSE(r.memory_mb);
        CHECK_FALSE(r.timeout_sec);
    }
}

TEST_CASE("models: exec_request only emits set fields", "[models]") {
    SECTION("minimal") {
        wrenn::exec_request r;
        r.cmd = "/bin/sh";
        r.args = {"-c", "echo hi"};
        auto o = write(r);
        CHECK(o.size() == 3);
        CHECK(o.at("cmd") == "/bin/sh");
        CHECK(o.at("args") == json::array{"-c", "echo hi"});
        CHECK(o.at("background") == false);
        for (auto key : {"timeout_sec", "tag", "envs", "cwd"}) {
            CAPTURE(key);
            CHECK_FALSE(o.contains(key));
        }
    }
    SECTION("no args is an empty array") {
        wrenn::exec_request r;
        r.cmd = "ls";
        CHECK(write(r).at("args") == json::array{});
    }
    SECTION("every field") {
        wrenn::exec_request r;
        r.cmd = "/bin/sh";
        r.args = {"-c", "echo $GREETING"};
        r.timeout_sec = 0;
        r.background = true;
        r.tag = "job-1";
        r.envs = wrenn::string_map{{"GREETING", "hello world"}, {"EMPTY", ""}};
        r.cwd = "~/work";
        auto o = write(r);
        CHECK(o.size() == 7);
        CHECK(o.at("timeout_sec") == 0);
        CHECK(o.at("background") == true);
        CHECK(o.at("tag") == "job-1");
        CHECK(o.at("envs") == json::object{{"GREETING", "hello world"}, {"EMPTY", ""}});
        CHECK(o.at("cwd") == "~/work");
        auto back = round_trip(r);
        CHECK(back.cmd == r.cmd);
        CHECK(back.args == r.args);
        CHECK(back.timeout_sec == 0);
        CHECK(back.background);
        CHECK(back.tag == "job-1");
        CHECK(back.envs == r.envs);
        CHECK(back.cwd == "~/work");
    }
    SECTION("an empty but set envs map is sent as {}") {
        wrenn::exec_request r;
        r.cmd = "x";
        r.envs = wrenn::string_map{};
        auto o = write(r);
        REQUIRE(o.contains("envs"));
        CHECK(o.at("envs").as_object().empty());
        CHECK(round_trip(r).envs == wrenn::string_map{});
    }
    SECTION("an empty but set cwd or tag is sent") {
        wrenn::exec_request r;
        r.cmd = "x";
        r.cwd = "";
        r.tag = "";
        auto o = write(r);
        CHECK(o.at("cwd") == "");
        CHECK(o.at("tag") == "");
    }
    SECTION("reading leaves unset fields unset") {
        auto r = read<wrenn::exec_request>(R"({"cmd":"ls","args":["-l",3]})");
        CHECK(r.cmd == "ls");
        CHECK(r.args == std::vector<std::string>{"-l"});
        CHECK_FALSE(r.background);
        CHECK_FALSE(r.timeout_sec);
        CHECK_FALSE(r.tag);
        CHECK_FALSE(r.envs);
        CHECK_FALSE(r.cwd);
    }
}
