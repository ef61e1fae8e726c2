// Capsule create on API 0.4.0 against wrenn-local --api 0.4: metadata,
// template references, the new defaults and volume ids; what the SDK
// refuses before sending; and what an older server does with the same.
#include <catch2/catch.hpp>

#include <wrenn/wrenn.hpp>

#include "expect.hpp"
#include "local_server.hpp"
#include "run.hpp"

#include <atomic>

namespace asio = boost::asio;
using wrenn::capsule;
using wrenn_test::as;
using wrenn_test::failure_of;
using wrenn_test::local_server;

namespace {
local_server api(const char* generation) { return local_server({.extra_args = {"--api", generation}}); }
} // namespace

TEST_CASE("api 0.4: metadata is kept with the capsule, beside the system's keys", "[capsules][api04]") {
    auto srv = api("0.4");
    wrenn_test::run(srv.config(), [](wrenn::client c) -> asio::awaitable<void> {
        const std::map<std::string, std::string> labels{{"owner", "ci"}, {"run", "42"}, {"empty", ""}};
        auto cap = co_await capsule::create(c, {.metadata = labels});
        auto info = co_await c.capsules().get(cap.id());
        CHECK(info.metadata.at("owner") == "ci");
        CHECK(info.metadata.at("run") == "42");
        CHECK(info.metadata.at("empty").empty());
        CHECK(info.metadata.count("agent_version") == 1);
    });
}

TEST_CASE("metadata the server would refuse is a usage_error before any request", "[capsules][api04]") {
    auto srv = api("0.4");
    auto cfg = srv.config();
    std::atomic<int> attempts{0};
    cfg.on_attempt = [&](const wrenn::attempt_record&) { ++attempts; };
    std::map<std::string, std::string> too_many;
    for (int i = 0; i < 21; ++i) too_many["k" + std::to_string(i)] = "v";
    const std::map<std::string, std::string> bad_key{{"-starts-with-dash", "v"}};
    const std::map<std::string, std::string> reserved{{"agent_version", "1"}};
    const std::map<std::string, std::string> long_value{{"k", std::string(65, 'x')}};
    using labels = std::map<std::string, std::string>;
    for (const labels* m : std::initializer_list<const labels*>{&too_many, &bad_key, &reserved, &long_value}) {
        auto e = as<wrenn::usage_error>(failure_of(cfg, [m](wrenn::client c) -> asio::awaitable<void> {
            (void)co_await capsule::create(c, {.metadata = *m});
        }));
        CHECK(e.message().find("metadata") != std::string::npos);
    }
    const std::vector<std::string> five{"a", "b", "c", "d", "e"};
    as<wrenn::usage_error>(failure_of(cfg, [&five](wrenn::client c) -> asio::awaitable<void> {
        (void)co_await capsule::create(c, {.volume_ids = five});
    }));
    CHECK(attempts == 0);
    // 64 characters (not bytes) is still allowed
    std::string sixty_four;
    for (int i = 0; i < 64; ++i) sixty_four += "\xc3\xa9";  // é
    const std::map<std::string, std::string> ok{{"k", sixty_four}};
    wrenn_test::run(cfg, [&ok](wrenn::client c) -> asio::awaitable<void> {
        auto cap = co_await capsule::create(c, {.metadata = ok});
        CHECK((co_await cap.get_info()).metadata.at("k") == ok.at("k"));
    });
}

TEST_CASE("api 0.4: the server checks metadata itself when the SDK's check is bypassed", "[capsules][api04]") {
    auto srv = api("0.4");
    wrenn::create_capsule_request req;
    req.metadata = {{"kernel_version", "x"}};
    auto e = as<wrenn::validation_error>(failure_of(srv.config(), [req](wrenn::client c) -> asio::awaitable<void> {
        (void)co_await c.capsules().create(req);
    }));
    CHECK(e.code() == "validation_failed");
    CHECK(e.message().find("Invalid metadata") != std::string::npos);
}

TEST_CASE("api 0.4: template references, defaults and the timeout floor", "[capsules][api04]") {
    auto srv = api("0.4");
    auto cfg = srv.config();
    wrenn_test::run(cfg, [](wrenn::client c) -> asio::awaitable<void> {
        auto raw = co_await c.capsules().create({});
        CHECK(raw.vcpus == 2);
        CHECK(raw.memory_mb == 2048);
        CHECK(raw.template_name == "minimal-ubuntu");
        wrenn::create_capsule_request short_timeout;
        short_timeout.timeout_sec = 30;
        CHECK((co_await c.capsules().create(short_timeout)).timeout_sec == 60);
        // the platform's templates as wrenn/<name>, the team's own as local/<name>
        auto platform = co_await capsule::create(c, {.template_name = "wrenn/minimal-ubuntu"});
        CHECK((co_await platform.commands.run("echo p")).stdout_text == "p\n");
        (void)co_await platform.create_snapshot("mine");
        auto own = co_await capsule::create(c, {.template_name = "local/mine"});
        CHECK((co_await own.commands.run("echo o")).stdout_text == "o\n");
    });
    auto other_team = as<wrenn::not_found_error>(failure_of(cfg, [](wrenn::client c) -> asio::awaitable<void> {
        (void)co_await capsule::create(c, {.template_name = "acme/mine"});
    }));
    CHECK(other_team.code() == "template_not_found");
    CHECK(other_team.message().find("acme/mine") != std::string::npos);
    auto bad = as<wrenn::validation_error>(failure_of(cfg, [](wrenn::client c) -> asio::awaitable<void> {
        (void)co_await capsule::create(c, {.template_name = "a/b/c"});
    }));
    CHECK(bad.code() == "validation_failed");
    auto volume = as<wrenn::not_found_error>(failure_of(cfg, [](wrenn::client c) -> asio::awaitable<void> {
        const std::vector<std::string> ids{"vl-cache"};
        (void)co_await capsule::create(c, {.volume_ids = ids});
    }));
    CHECK(volume.code() == "volume_not_found");
}

TEST_CASE("api 0.2: metadata is ignored, as the older servers do", "[capsules][api04]") {
    auto srv = api("0.2");
    wrenn_test::run(srv.config(), [](wrenn::client c) -> asio::awaitable<void> {
        const std::map<std::string, std::string> labels{{"owner", "ci"}};
        auto cap = co_await capsule::create(c, {.metadata = labels});
        CHECK((co_await cap.get_info()).metadata.count("owner") == 0);
    });
}
