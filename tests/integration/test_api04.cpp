// The error contract of API 0.4.0 against wrenn-local --api 0.4: request
// ids, retryable, details and the new codes arrive on the typed errors; the
// same operations against --api 0.2 leave the new fields empty.
#include <catch2/catch.hpp>

#include <wrenn/wrenn.hpp>

#include "expect.hpp"
#include "local_server.hpp"
#include "run.hpp"

#include <boost/asio/steady_timer.hpp>

#include <mutex>
#include <set>
#include <optional>

namespace asio = boost::asio;
using wrenn::capsule;
using wrenn_test::as;
using wrenn_test::failure_of;
using wrenn_test::local_server;

namespace {
constexpr const char* valid_unknown_id = "cl-0000000000000000000000000";

// req_ + 16 lower-case hex
bool is_request_id(const std::string& s) {
    if (s.size() != 20 || s.rfind("req_", 0) != 0) return false;
    for (char c : s.substr(4))
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

local_server api04(bool tls) { return local_server({.tls = tls, .extra_args = {"--api", "0.4"}}); }
} // namespace

TEST_CASE("api 0.4: errors carry the request id, retryable and the new codes", "[errors][api04]") {
    auto tls = GENERATE(false, true);
    CAPTURE(tls);
    auto srv = api04(tls);
    auto cfg = srv.config();

    SECTION("a wrong API key: auth_invalid_api_key") {
        auto bad = cfg;
        bad.api_key = "wrn_deadbeefdeadbeefdeadbeefdeadbeef";
        auto e = as<wrenn::authentication_error>(failure_of(bad, [](wrenn::client c) { return capsule::list(c); }));
        CHECK(e.status() == 401);
        CHECK(e.code() == "auth_invalid_api_key");
        CHECK(is_request_id(e.request_id()));
        CHECK(e.retryable() == false);
    }
    SECTION("an unknown capsule: sandbox_not_found") {
        auto p = failure_of(cfg, [](wrenn::client c) { return c.capsules().get(valid_unknown_id); });
        CHECK(wrenn::error_code_of(p) == wrenn::errc::not_found);
        auto e = as<wrenn::not_found_error>(p);
        CHECK(e.code() == "sandbox_not_found");
        CHECK(is_request_id(e.request_id()));
        CHECK(e.body().find(e.request_id()) != std::string::npos);
        CHECK(e.retryable() == false);
    }
    SECTION("resume of a destroyed capsule: a wrong_state_error naming the status") {
        auto p = failure_of(cfg, [](wrenn::client c) -> asio::awaitable<void> {
            auto cap = co_await capsule::create(c);
            co_await cap.destroy();
            co_await cap.resume();
        });
        CHECK(wrenn::error_code_of(p) == wrenn::errc::wrong_state);
        auto e = as<wrenn::wrong_state_error>(p);
        CHECK(e.code() == "sandbox_not_paused");
        CHECK(e.capsule_status() == "stopped");
        CHECK(e.details().at("status") == "stopped");
        CHECK(e.message().find("(status: stopped)") != std::string::npos);
    }
    SECTION("a command in a paused capsule: sandbox_not_running, status paused") {
        auto e = as<wrenn::wrong_state_error>(failure_of(cfg, [](wrenn::client c) -> asio::awaitable<void> {
            auto cap = co_await capsule::create(c);
            co_await cap.pause();
            co_await cap.commands.run("true");
        }));
        CHECK(e.code() == "sandbox_not_running");
        CHECK(e.capsule_status() == "paused");
    }
    SECTION("an unknown template: template_not_found, naming it") {
        auto e = as<wrenn::not_found_error>(failure_of(cfg, [](wrenn::client c) {
            return capsule::create(c, {.template_name = "no-such-template"});
        }));
        CHECK(e.code() == "template_not_found");
        CHECK(e.message().find("no-such-template") != std::string::npos);
    }
    SECTION("a bad metrics range: validation_failed with the field") {
        auto e = as<wrenn::validation_error>(failure_of(cfg, [](wrenn::client c) -> asio::awaitable<void> {
            auto cap = co_await capsule::create(c);
            co_await cap.metrics("3w");
        }));
        CHECK(e.code() == "validation_failed");
        CHECK(e.details().at("field") == "range");
    }
    SECTION("deleting a platform template: template_protected") {
        auto e = as<wrenn::forbidden_error>(failure_of(cfg, [](wrenn::client c) { return c.snapshots().remove("minimal"); }));
        CHECK(e.code() == "template_protected");
    }
    SECTION("reading a missing file: 404 not_found") {
        auto e = as<wrenn::not_found_error>(failure_of(cfg, [](wrenn::client c) -> asio::awaitable<void> {
            auto cap = co_await capsule::create(c);
            co_await cap.files.read("/no/such/file");
        }));
        CHECK(e.status() == 404);
        CHECK(e.code() == "not_found");
    }
}

TEST_CASE("api 0.4: every attempt record carries the answer's X-Request-ID", "[errors][api04]") {
    auto srv = api04(false);
    auto cfg = srv.config();
    std::mutex mu;
    std::vector<std::string> ids;
    cfg.on_attempt = [&](const wrenn::attempt_record& r) {
        std::lock_guard lock(mu);
        ids.emplace_back(r.request_id);
    };
    wrenn_test::run(cfg, [](wrenn::client c) -> asio::awaitable<void> {
        auto cap = co_await capsule::create(c);
        (void)co_await c.capsules().get(cap.id());
        co_await cap.destroy();
    });
    REQUIRE(ids.size() >= 3);  // create, the looks until it runs, get, destroy, the looks until it is gone
    for (auto& id : ids) CHECK(is_request_id(id));
    CHECK(ids[0] != ids[1]);
}

TEST_CASE("api 0.2: the same errors leave request id, retryable and details empty", "[errors][api04]") {
    local_server srv({.extra_args = {"--api", "0.2"}});
    auto cfg = srv.config();
    auto e = as<wrenn::wrong_state_error>(failure_of(cfg, [](wrenn::client c) -> asio::awaitable<void> {
        auto cap = co_await capsule::create(c);
        co_await cap.pause();
        co_await cap.commands.run("true");
    }));
    CHECK(e.code() == "invalid_state");
    CHECK(e.request_id().empty());
    CHECK_FALSE(e.retryable().has_value());
    CHECK(e.details().empty());
    CHECK(e.capsule_status() == "paused");  // from the old message
}

TEST_CASE("api 0.4: lifecycle calls answer at once, the capsule object waits until they are done", "[lifecycle][api04]") {
    auto tls = GENERATE(false, true);
    CAPTURE(tls);
    auto srv = api04(tls);
    wrenn_test::run(srv.config(), [](wrenn::client c) -> asio::awaitable<void> {
        // the low-level call shows the server's answer: the capsule is starting
        auto raw = co_await c.capsules().create({});
        CHECK(raw.status == wrenn::capsule_state::starting);
        CHECK(raw.disk_size_mb == 0);
        co_await capsule::destroy(c, raw.id);

        // create() returns a capsule that takes commands at once
        auto cap = co_await capsule::create(c);
        CHECK((cap.info() && cap.info()->status == wrenn::capsule_state::running));
        CHECK((co_await cap.commands.run("echo up")).stdout_text == "up\n");

        auto paused = co_await cap.pause();
        CHECK(paused.status == wrenn::capsule_state::paused);
        std::exception_ptr refused;
        try {
            co_await cap.commands.run("true");
        } catch (...) {
            refused = std::current_exception();
        }
        CHECK(wrenn::error_code_of(refused) == wrenn::errc::wrong_state);
        CHECK((co_await cap.pause()).status == wrenn::capsule_state::paused);  // a no-op

        auto resumed = co_await cap.resume();
        CHECK(resumed.status == wrenn::capsule_state::running);
        CHECK((co_await cap.commands.run("echo again")).stdout_text == "again\n");

        // without wait: the server's own answer, then the capsule gets there
        auto pausing = co_await cap.pause({.wait = false});
        CHECK(pausing.status == wrenn::capsule_state::pausing);
        auto seen = pausing;
        asio::steady_timer look(co_await asio::this_coro::executor);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (seen.status == wrenn::capsule_state::pausing && std::chrono::steady_clock::now() < deadline) {
            look.expires_after(std::chrono::milliseconds(20));
            co_await look.async_wait(asio::use_awaitable);
            seen = co_await cap.get_info();
        }
        CHECK(seen.status == wrenn::capsule_state::paused);
        CHECK((co_await cap.resume()).status == wrenn::capsule_state::running);

        // destroy() returns once the capsule is gone
        co_await cap.destroy();
        std::optional<wrenn::capsule_info> after;
        try {
            after = co_await c.capsules().get(cap.id());
        } catch (const wrenn::not_found_error&) {
        }
        if (after) CHECK(after->status == wrenn::capsule_state::stopped);
    });
}

TEST_CASE("api 0.4: destroy without wait answers at once, stopping or already stopped", "[lifecycle][api04]") {
    auto srv = api04(false);
    wrenn_test::run(srv.config(), [](wrenn::client c) -> asio::awaitable<void> {
        auto cap = co_await capsule::create(c);
        co_await cap.destroy({.wait = false});
        auto i = co_await c.capsules().get(cap.id());
        CHECK((i.status == wrenn::capsule_state::stopping || i.status == wrenn::capsule_state::stopped));
        co_await cap.destroy();  // destroying a stopped capsule: a no-op
    });
}


TEST_CASE("snapshots: a template can be launched as soon as create_snapshot returns, on both generations", "[snapshots][api04]") {
    auto api = GENERATE(std::string("0.2"), std::string("0.4"));
    CAPTURE(api);
    local_server srv({.extra_args = {"--api", api}});
    wrenn_test::run(srv.config(), [](wrenn::client c) -> asio::awaitable<void> {
        auto cap = co_await capsule::create(c);
        co_await cap.files.write("/home/wrenn-user/marker", "from the first capsule");
        auto r = co_await cap.create_snapshot("with-deps");
        CHECK(r.name == "with-deps");
        CHECK((r.snapshot && r.snapshot->name == "with-deps"));
        auto next = co_await capsule::create(c, {.template_name = "with-deps"});
        CHECK(co_await next.files.read("/home/wrenn-user/marker") == "from the first capsule");
        // no name given: one is chosen, and the template is there too
        auto unnamed = co_await cap.create_snapshot();
        CHECK(unnamed.name.rfind("template-", 0) == 0);
        CHECK((unnamed.snapshot && unnamed.snapshot->name == unnamed.name));
    });
}

TEST_CASE("api 0.4: the snapshot list comes in pages, list() reads them all", "[snapshots][api04]") {
    local_server srv({.extra_args = {"--api", "0.4", "--snapshot-page-limit", "2"}});
    wrenn_test::run(srv.config(), [](wrenn::client c) -> asio::awaitable<void> {
        auto cap = co_await capsule::create(c);
        for (auto name : {"snap-a", "snap-b", "snap-c"}) (void)co_await cap.create_snapshot(name);
        auto all = co_await c.snapshots().list();
        wrenn::template_page_request one{.type = {}, .search = {}, .page = 1, .per_page = 200};
        auto first = co_await c.snapshots().list_page(one);
        CHECK(first.per_page == 2);  // the server's limit
        CHECK(first.templates.size() == 2);
        CHECK(first.total == static_cast<int>(all.size()));
        CHECK(first.total_pages == (first.total + 1) / 2);
        CHECK(all.size() >= 5);  // the base templates and the three snapshots
        std::set<std::string> names;
        for (auto& t : all) names.insert(t.name);
        CHECK(names.size() == all.size());  // no page read twice
        for (auto name : {"snap-a", "snap-b", "snap-c"}) CHECK(names.count(name) == 1);
        auto only = co_await c.snapshots().list("snapshot");
        CHECK(only.size() == 3);
        wrenn::template_page_request b{.type = {}, .search = "snap-b", .page = 1, .per_page = 2};
        auto found = co_await c.snapshots().list_page(b);
        REQUIRE(found.templates.size() == 1);
        CHECK(found.templates[0].name == "snap-b");
        CHECK(found.templates[0].owned);
        CHECK_FALSE(found.templates[0].is_public);
    });
}

TEST_CASE("api 0.4: publish and rename a template", "[snapshots][api04]") {
    auto srv = api04(false);
    auto cfg = srv.config();
    wrenn_test::run(cfg, [](wrenn::client c) -> asio::awaitable<void> {
        auto cap = co_await capsule::create(c);
        (void)co_await cap.create_snapshot("shared");
        co_await c.snapshots().set_public("shared", true);
        wrenn::template_page_request shared{.type = {}, .search = "shared", .page = 1, .per_page = 50};
        auto page = co_await c.snapshots().list_page(shared);
        REQUIRE(page.templates.size() == 1);
        CHECK(page.templates[0].is_public);
        co_await c.snapshots().rename("shared", "renamed");
        wrenn::template_page_request renamed{.type = {}, .search = "renamed", .page = 1, .per_page = 50};
        auto after = co_await c.snapshots().list_page(renamed);
        REQUIRE(after.templates.size() == 1);
        CHECK_FALSE(after.templates[0].is_public);  // renaming unpublishes
        auto next = co_await capsule::create(c, {.template_name = "renamed"});
        CHECK((co_await next.commands.run("echo ok")).stdout_text == "ok\n");
    });
    auto e = as<wrenn::not_found_error>(failure_of(cfg, [](wrenn::client c) { return c.snapshots().rename("nope", "other"); }));
    CHECK(e.code() == "template_not_found");
    auto taken = as<wrenn::conflict_error>(failure_of(cfg, [](wrenn::client c) -> asio::awaitable<void> {
        auto cap = co_await capsule::create(c);
        (void)co_await cap.create_snapshot("one");
        (void)co_await cap.create_snapshot("two");
        co_await c.snapshots().rename("one", "two");
    }));
    CHECK(taken.code() == "conflict");
    as<wrenn::usage_error>(failure_of(cfg, [](wrenn::client c) -> asio::awaitable<void> {
        wrenn::template_page_request zero{.type = {}, .search = {}, .page = 0, .per_page = 50};
        (void)co_await c.snapshots().list_page(zero);
    }));
}
