// The HTTP(S) transport: TLS verification, keep-alive pooling, timeouts and
// cancellation, over real sockets.
#include <catch2/catch.hpp>

#include <wrenn/wrenn.hpp>
#include <wrenn/detail/http.hpp>
#include <wrenn/protocol/url.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
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

namespace {

asio::awaitable<void> count_capsules(wrenn::client c, std::size_t& n) { n = (co_await capsule::list(c)).size(); }

// One raw request through a transport; records how it ended and when.
struct outcome {
    std::string code = "(running)";
    std::chrono::steady_clock::duration took{};
};

asio::awaitable<void> ask(std::shared_ptr<wrenn::detail::http_transport> t, std::chrono::milliseconds idle,
                          outcome& out) {
    wrenn::detail::http_request req;
    req.target = "/api/v1/capsules";
    req.idle_timeout = idle;
    auto start = std::chrono::steady_clock::now();
    try {
        co_await wrenn::detail::send(t, std::move(req));
        out.code = "(answered)";
    } catch (const wrenn::error& e) {
        out.code = e.code();
    } catch (const boost::system::system_error& e) {
        out.code = e.code() == asio::error::operation_aborted ? "(cancelled)" : e.code().message();
    }
    out.took = std::chrono::steady_clock::now() - start;
}

} // namespace

TEST_CASE("io_context::run() returns once the last request is done: no timer is left waiting", "[transport][timeout]") {
    wrenn_test::canned_server srv(wrenn_test::http_answer(200, "[]"));
    wrenn::config cfg{.api_key = "k", .base_url = srv.base_url()};
    cfg.timeouts.idle = 120s;  // a timeout timer left armed would hold run() this long
    asio::io_context ioc;
    wrenn::client c(ioc.get_executor(), cfg);
    std::size_t n = 99;
    asio::co_spawn(ioc, count_capsules(c, n), asio::detached);
    auto start = std::chrono::steady_clock::now();
    ioc.run();
    CHECK(n == 0);
    CHECK(std::chrono::steady_clock::now() - start < 60s);
}

TEST_CASE("concurrent requests keep their own timeouts: a short one started after a long one fires on time",
          "[transport][timeout]") {
    wrenn_test::canned_server silent("");  // reads requests, never answers
    asio::io_context ioc;
    wrenn::detail::transport_settings ts;
    ts.origin = *wrenn::protocol::parse_url(silent.base_url());
    ts.api_key = "k";
    auto t = wrenn::detail::make_http_transport(ioc.get_executor(), ts);
    outcome long_one, short_one;
    asio::cancellation_signal stop_long;
    asio::co_spawn(ioc, ask(t, 100s, long_one), asio::bind_cancellation_slot(stop_long.slot(), asio::detached));
    asio::steady_timer later(ioc, 100ms);
    later.async_wait([&](boost::system::error_code) {
        asio::co_spawn(ioc, ask(t, 300ms, short_one), [&](std::exception_ptr) {
            stop_long.emit(asio::cancellation_type::terminal);  // done: end the long one too
        });
    });
    ioc.run();
    CHECK(short_one.code == "idle_timeout");
    CHECK(short_one.took >= 300ms);
    CHECK(short_one.took < 20s);  // not the long one's 100 s
    CHECK(long_one.code == "(cancelled)");
}

TEST_CASE("the idle timeout counts silence, not the length of an answer that keeps coming", "[transport][timeout]") {
    // A byte every 30 ms for about three seconds, with 300 ms of idle allowed.
    wrenn_test::canned_server srv(std::vector<wrenn_test::reply>{
        {.bytes = wrenn_test::http_answer(200, "[]", "application/json", "X-Pad: " + std::string(40, 'p') + "\r\n"),
         .drip = 30ms}});
    wrenn::config cfg{.api_key = "k", .base_url = srv.base_url()};
    cfg.timeouts.idle = 300ms;
    auto n = wrenn_test::run(cfg, [](wrenn::client c) -> asio::awaitable<std::size_t> {
        co_return (co_await capsule::list(c)).size();
    });
    CHECK(n == 0);
}

TEST_CASE("a download may pause between pieces longer than the idle timeout", "[transport][timeout]") {
    const std::string body(256 * 1024, 'x');
    wrenn_test::canned_server srv(wrenn_test::http_answer(200, body, "application/octet-stream"));
    asio::io_context ioc;
    wrenn::detail::transport_settings ts;
    ts.origin = *wrenn::protocol::parse_url(srv.base_url());
    ts.api_key = "k";
    ts.timeouts.idle = 200ms;
    auto t = wrenn::detail::make_http_transport(ioc.get_executor(), ts);
    std::size_t got = 0;
    std::string failure;
    asio::co_spawn(
        ioc,
        [](std::shared_ptr<wrenn::detail::http_transport> t, std::size_t& got) -> asio::awaitable<void> {
            wrenn::detail::http_request req;
            req.target = "/api/v1/capsules/x/files/read";
            auto s = co_await wrenn::detail::open_body_stream(t, std::move(req));
            asio::steady_timer pause(co_await asio::this_coro::executor);
            for (auto piece = co_await s.next(); !piece.empty(); piece = co_await s.next()) {
                got += piece.size();
                pause.expires_after(500ms);  // the reader is busy elsewhere
                co_await pause.async_wait(asio::use_awaitable);
            }
        }(t, got),
        [&](std::exception_ptr e) {
            try {
                if (e) std::rethrow_exception(e);
            } catch (const std::exception& x) {
                failure = x.what();
            }
        });
    ioc.run();
    CHECK(failure.empty());
    CHECK(got == body.size());
}

TEST_CASE("keep-alive: a connection the server closed after its answer costs a GET nothing", "[transport]") {
    // HTTP/1.1 without "Connection: close", then FIN: the next GET finds the
    // connection dead (or is sent on it and fails); either way it is answered
    // on a new connection without counting as a retry.
    const auto full = wrenn_test::http_answer(200, "[]");
    wrenn_test::canned_server srv(std::vector<wrenn_test::reply>{{.bytes = full, .end = wrenn_test::reply::end_how::close}});
    wrenn::config cfg{.api_key = "k", .base_url = srv.base_url()};
    cfg.retry.max_attempts = 1;  // no retries: only the free resend of a stale connection may help
    auto created = wrenn_test::run(cfg, [](wrenn::client c) -> asio::awaitable<std::size_t> {
        for (int i = 0; i < 5; ++i) co_await capsule::list(c);
        co_return c.pool().created;
    });
    CHECK(created == 5);  // one connection per answer: none was used after its close
    CHECK(srv.requests().size() >= 5);
}
