// The HTTP(S) transport: TLS verification, keep-alive pooling, timeouts and
// cancellation, over real sockets.
#include <catch2/catch.hpp>

#include <wrenn/wrenn.hpp>
#include <wrenn/detail/http.hpp>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "canned_server.hpp"
#include "local_server.hpp"
#include "expect.hpp"
#include "run.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using wrenn::capsule;
using wrenn_test::as;
using wrenn_test::failure_of;
using wrenn_test::local_server;


TEST_CASE("TLS: a certificate for another host name is refused", "[tls]") {
    local_server srv({.tls = true, .cert = wrenn_test::cert_kind::wrong_host});
    auto e = as<wrenn::transport_error>(failure_of(srv.config(), [](wrenn::client c) { return capsule::list(c); }));
    CHECK(e.code() == "tls_verify_failed");
    CHECK(std::string(e.what()).find("127.0.0.1") != std::string::npos);
}

TEST_CASE("TLS: a certificate from an unknown CA is refused unless its CA is added", "[tls]") {
    local_server srv({.tls = true});
    auto cfg = srv.config();
    cfg.ca_file.clear();
    auto e = as<wrenn::transport_error>(failure_of(cfg, [](wrenn::client c) { return capsule::list(c); }));
    CHECK(e.code() == "tls_verify_failed");
    cfg.ca_file = wrenn_test::test_pki::get().ca_cert;
    CHECK_NOTHROW(wrenn_test::run(cfg, [](wrenn::client c) { return capsule::list(c); }));
}

TEST_CASE("TLS: verification can be turned off explicitly", "[tls]") {
    local_server srv({.tls = true, .cert = wrenn_test::cert_kind::wrong_host});
    auto cfg = srv.config();
    cfg.ca_file.clear();
    cfg.verify_tls = false;
    CHECK_NOTHROW(wrenn_test::run(cfg, [](wrenn::client c) { return capsule::list(c); }));
}

TEST_CASE("a refused connection is a transport_error naming the address", "[transport]") {
    std::string url;
    {
        wrenn_test::canned_server gone(wrenn_test::http_answer(200, "[]"));
        url = gone.base_url();
    }  // nothing listens there any more
    wrenn::config cfg{.api_key = "k", .base_url = url};
    auto e = as<wrenn::transport_error>(failure_of(cfg, [](wrenn::client c) { return capsule::list(c); }));
    CHECK(e.code() == "connect_failed");
    CHECK(std::string(e.what()).find(url.substr(7, url.size() - 11)) != std::string::npos);
}

TEST_CASE("keep-alive: sequential requests reuse one connection", "[transport]") {
    auto tls = GENERATE(false, true);
    local_server srv({.tls = tls});
    wrenn_test::run(srv.config(), [](wrenn::client c) -> asio::awaitable<void> {
        for (int i = 0; i < 20; ++i) co_await capsule::list(c);
        auto p = c.pool();
        CHECK(p.created == 1);
        CHECK(p.open == 1);
        CHECK(p.idle == 1);
    });
}

TEST_CASE("the pool bounds the connections of concurrent requests", "[transport]") {
    local_server srv;
    auto cfg = srv.config();
    cfg.max_connections_per_origin = 4;
    wrenn_test::run(cfg, [](wrenn::client c) -> asio::awaitable<void> {
        auto one = [](wrenn::client c) -> asio::awaitable<std::size_t> {
            co_return (co_await capsule::list(c)).size();
        };
        // 12 requests at once through 4 connections
        auto all = co_await (one(c) && one(c) && one(c) && one(c) && one(c) && one(c) && one(c) && one(c) &&
                             one(c) && one(c) && one(c) && one(c));
        (void)all;
        auto p = c.pool();
        CHECK(p.created <= 4);
        CHECK(p.created >= 1);
        CHECK(p.waiting == 0);
        CHECK(p.open == p.idle);
    });
}

TEST_CASE("an answer that never comes hits the idle timeout", "[transport][timeout]") {
    wrenn_test::canned_server silent("");  // reads the request, never answers
    wrenn::config cfg{.api_key = "k", .base_url = silent.base_url()};
    cfg.timeouts.idle = 300ms;
    auto start = std::chrono::steady_clock::now();
    auto e = as<wrenn::timeout_error>(failure_of(cfg, [](wrenn::client c) { return capsule::list(c); }));
    auto took = std::chrono::steady_clock::now() - start;
    CHECK(e.code() == "idle_timeout");
    CHECK(took < 5s);
}

TEST_CASE("the total timeout bounds the whole request", "[transport][timeout]") {
    wrenn_test::canned_server silent("");
    wrenn::config cfg{.api_key = "k", .base_url = silent.base_url()};
    cfg.timeouts.idle = 10s;
    cfg.timeouts.total = 300ms;
    auto e = as<wrenn::timeout_error>(failure_of(cfg, [](wrenn::client c) { return capsule::list(c); }));
    CHECK(e.code() == "total_timeout");
}

TEST_CASE("cancelling a request leaves the pool healthy", "[transport][cancel]") {
    local_server srv;
    wrenn_test::run(srv.config(), [](wrenn::client c) -> asio::awaitable<void> {
        auto cap = co_await capsule::create(c, {.wait = true});
        asio::steady_timer t(co_await asio::this_coro::executor, 200ms);
        // The slow command loses the race and is cancelled.
        auto r = co_await (cap.commands.run("sleep 3") || t.async_wait(asio::use_awaitable));
        CHECK(r.index() == 1);
        // The cancelled connection was dropped, not reused; the next call works.
        auto ok = co_await cap.commands.run("echo still-fine");
        CHECK(ok.stdout_text == "still-fine\n");
        auto p = c.pool();
        CHECK(p.open == p.idle);
        co_await cap.destroy();
    });
}

TEST_CASE("TLS contexts are shared while alive, one per CA file and verification mode", "[tls]") {
    const auto& ca = wrenn_test::test_pki::get().ca_cert;
    auto a = wrenn::detail::shared_tls_context(ca, true);
    auto b = wrenn::detail::shared_tls_context(ca, true);
    CHECK(a == b);  // a client per task does not load the trust store again
    CHECK(wrenn::detail::shared_tls_context(ca, false) != a);
    CHECK(wrenn::detail::shared_tls_context("", true) != a);
    a.reset();
    b.reset();
    CHECK(wrenn::detail::shared_tls_context(ca, true));  // none alive: made anew
    std::string code;
    try {
        (void)wrenn::detail::shared_tls_context("/nonexistent/ca.pem", true);
    } catch (const wrenn::config_error& e) {
        code = e.code();
    }
    CHECK(code == "invalid_ca_file");
}
