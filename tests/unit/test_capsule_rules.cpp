// The capsule-create rules of API 0.4.0 (protocol/capsule_rules.hpp).
#include <wrenn/protocol/capsule_rules.hpp>

#include <catch2/catch.hpp>

#include <map>
#include <string>

using wrenn::protocol::metadata_problem;
using wrenn::protocol::template_ref_problem;

TEST_CASE("capsule rules: metadata keys, values and count", "[capsule_rules]") {
    CHECK_FALSE(metadata_problem({}));
    CHECK_FALSE(metadata_problem({{"owner", "ci"}, {"a.b_c-d", ""}, {"9", std::string(64, 'x')}}));
    CHECK_FALSE(metadata_problem({{std::string(64, 'k'), "v"}}));
    CHECK(metadata_problem({{std::string(65, 'k'), "v"}}));
    for (const char* bad : {"", "-a", ".a", "_a", "a b", "a/b", "a:b", "ä"}) {
        CAPTURE(bad);
        CHECK(metadata_problem({{bad, "v"}}));
    }
    for (const char* system : {"kernel_version", "vmm_version", "agent_version", "envd_version"}) {
        auto why = metadata_problem({{system, "v"}});
        REQUIRE(why);
        CHECK(why->find(system) != std::string::npos);
    }
    CHECK(metadata_problem({{"k", std::string(65, 'x')}}));
    std::string chars64;
    for (int i = 0; i < 64; ++i) chars64 += "\xe2\x82\xac";  // € (3 bytes): 64 characters
    CHECK_FALSE(metadata_problem({{"k", chars64}}));
    CHECK(metadata_problem({{"k", chars64 + "x"}}));
    std::map<std::string, std::string> twenty, twenty_one;
    for (int i = 0; i < 20; ++i) twenty["k" + std::to_string(i)] = "v";
    twenty_one = twenty;
    twenty_one["k20"] = "v";
    CHECK_FALSE(metadata_problem(twenty));
    auto why = metadata_problem(twenty_one);
    REQUIRE(why);
    CHECK(why->find("20") != std::string::npos);
}

TEST_CASE("capsule rules: template references", "[capsule_rules]") {
    for (const char* ok : {"minimal-ubuntu", "with-deps", "a", "acme/with-deps", "my-team-2/x.y_z", " acme/x ",
                           "abc/a", "0a0/x"}) {
        CAPTURE(ok);
        CHECK_FALSE(template_ref_problem(ok));
    }
    const std::string long_slug = std::string(41, 'a') + "/x";
    for (const char* bad : {"", "/x", "acme/", "a/b/c", "ab/x", "Acme/x", "acme-/x", "-acme/x", "ac--me/x",
                            "acme/-x", "acme/x y", long_slug.c_str()}) {
        CAPTURE(bad);
        CHECK(template_ref_problem(bad));
    }
}
