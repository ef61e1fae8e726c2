// Answers of API 0.4.0 beside the older ones: the snapshot list as a page
// object or as an array, the new template fields.
#include <wrenn/error.hpp>
#include <wrenn/protocol/answers.hpp>

#include <catch2/catch.hpp>

namespace wp = wrenn::protocol;

TEST_CASE("answers 0.4: a page of templates", "[answers]") {
    auto p = wp::decode_template_page(
        R"({"templates":[{"name":"minimal-ubuntu","type":"base","size_bytes":0,"created_at":"2026-07-30T10:00:00Z",)"
        R"("platform":true,"protected":true,"public":false,"owned":false,"team_slug":"wrenn"},)"
        R"({"name":"with-deps","type":"snapshot","size_bytes":10,"created_at":"2026-07-30T10:00:00Z",)"
        R"("platform":false,"protected":false,"public":true,"owned":true,"team_slug":"acme"}],)"
        R"("total":7,"page":2,"per_page":2,"total_pages":4})"
        "\n");
    REQUIRE(p.templates.size() == 2);
    CHECK(p.total == 7);
    CHECK(p.page == 2);
    CHECK(p.per_page == 2);
    CHECK(p.total_pages == 4);
    CHECK(p.templates[0].is_protected);
    CHECK_FALSE(p.templates[0].owned);
    CHECK(p.templates[0].team_slug == "wrenn");
    CHECK(p.templates[1].is_public);
    CHECK(p.templates[1].owned);
    CHECK(p.templates[1].team_slug == "acme");
}

TEST_CASE("answers 0.4: an array of templates (older servers) reads as one page of them all", "[answers]") {
    auto p = wp::decode_template_page(R"([{"name":"a","type":"base"},{"name":"b","type":"snapshot"}])");
    REQUIRE(p.templates.size() == 2);
    CHECK(p.total == 2);
    CHECK(p.page == 1);
    CHECK(p.total_pages == 1);
    CHECK_FALSE(p.templates[1].is_public);
    CHECK(p.templates[1].team_slug.empty());
    auto empty = wp::decode_template_page("[]");
    CHECK(empty.templates.empty());
    CHECK(empty.total_pages == 1);
}

TEST_CASE("answers 0.4: a page without its counts still reads, as the one page", "[answers]") {
    auto p = wp::decode_template_page(R"({"templates":[{"name":"a"}]})");
    REQUIRE(p.templates.size() == 1);
    CHECK(p.total == 1);
    CHECK(p.page == 1);
    CHECK(p.total_pages == 1);
}

TEST_CASE("answers 0.4: what is neither a page nor a list is a protocol_error", "[answers]") {
    for (auto body : {R"({"items":[]})", R"("templates")", "42", R"({"templates":{}})", "{not json"}) {
        CAPTURE(body);
        CHECK_THROWS_AS(wp::decode_template_page(body), wrenn::protocol_error);
    }
}
