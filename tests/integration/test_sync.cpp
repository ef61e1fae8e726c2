// The blocking API: the same operations without co_await.
#include <catch2/catch.hpp>

#include <wrenn/wrenn.hpp>

#include <boost/asio/co_spawn.hpp>

#include "local_server.hpp"

using wrenn_test::local_server;

TEST_CASE("blocking API: scoped capsule, run, destroyed at scope end", "[sync]") {
    auto tls = GENERATE(false, true);
    local_server srv({.tls = tls});
    wrenn::sync::client client(srv.config());
    std::string id;
    {
        wrenn::sync::scoped_capsule cap(client, {.wait = true});
        id = cap->id();
        auto r = cap->commands.run("echo hello; echo oops >&2; exit 4");
        CHECK(r.stdout_text == "hello\n");
        CHECK(r.stderr_text == "oops\n");
        CHECK(r.exit_code == 4);
        CHECK(cap->is_running());
        CHECK(cap->pause().status == wrenn::capsule_state::paused);
        CHECK(cap->resume().status == wrenn::capsule_state::running);
        cap->ping();
        CHECK(cap->get_url(8888) == "ws" + std::string(tls ? "s" : "") + "://8888-" + id + "." +
                                         client.settings().proxy_domain);
    }
    CHECK(client.capsules().get(id).status == wrenn::capsule_state::stopped);
}

TEST_CASE("blocking API: scoped capsule is destroyed during unwinding", "[sync]") {
    local_server srv;
    wrenn::sync::client client(srv.config());
    std::string id;
    try {
        wrenn::sync::scoped_capsule cap(client);
        id = cap->id();
        throw std::runtime_error("boom");
    } catch (const std::runtime_error&) {
    }
    CHECK(client.capsules().get(id).status == wrenn::capsule_state::stopped);
}

TEST_CASE("blocking API: errors propagate as the same typed exceptions", "[sync]") {
    local_server srv;
    wrenn::sync::client client(srv.config());
    CHECK_THROWS_AS(client.capsules().get("cl-0000000000000000000000000"), wrenn::not_found_error);
    auto cap = wrenn::sync::capsule::create(client);
    auto listed = wrenn::sync::capsule::list(client);
    CHECK(std::any_of(listed.begin(), listed.end(), [&](auto& i) { return i.id == cap.id(); }));
    cap.destroy();
    CHECK_THROWS_AS(cap.commands.run("true"), wrenn::conflict_error);
}

TEST_CASE("blocking API: calling it from its own io_context is refused, not a deadlock", "[sync]") {
    local_server srv;
    wrenn::sync::client client(srv.config());
    auto inner = [&]() -> boost::asio::awaitable<void> {
        client.capsules().list();  // blocking call on the runner's own thread
        co_return;
    };
    CHECK_THROWS_AS(client.runner().run(inner()), wrenn::usage_error);
}

TEST_CASE("blocking API: files and background commands", "[sync]") {
    local_server srv;
    wrenn::sync::client client(srv.config());
    wrenn::sync::scoped_capsule cap(client);
    cap->files.write("/app/a.txt", "blocking");
    CHECK(cap->files.read("/app/a.txt") == "blocking");
    CHECK(cap->files.exists("/app/a.txt"));
    CHECK(cap->files.list("/app").size() == 1);
    cap->files.make_dir("/app/d");
    cap->files.remove("/app/d");
    CHECK_FALSE(cap->files.exists("/app/d"));
    auto bg = cap->commands.run("sleep 60", {.background = true, .tag = "nap"});
    CHECK(bg.tag == "nap");
    auto listed = cap->commands.list();
    CHECK(std::any_of(listed.begin(), listed.end(), [](auto& p) { return p.tag == std::optional<std::string>("nap"); }));
    cap->commands.kill("nap");
    CHECK_THROWS_AS(cap->files.read("/app/none"), wrenn::not_found_error);
}
