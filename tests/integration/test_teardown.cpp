// A program may end at any moment: destroying the io_context while an
// operation is in flight (a REST call, a command, a stream's next() or a
// terminal's waiting, a download, a code cell) leaks no descriptor, and,
// under ASan's leak checker, no memory. Against a real wrenn-local.
#include <catch2/catch.hpp>

#include <wrenn/wrenn.hpp>

#include "descriptors.hpp"
#include "local_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>


#include <chrono>
#include <functional>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using wrenn::capsule;
using wrenn_test::local_server;

namespace {

using body_type = std::function<asio::awaitable<void>(wrenn::client&, capsule&, bool&)>;

// Makes a capsule, runs `body` until it says its operation is in flight,
// then destroys the client and the io_context with that operation pending.
void end_mid_flight(const wrenn::config& cfg, bool code_runner, const body_type& body) {
    const auto before = wrenn_test::open_descriptors();
    {
        asio::io_context ioc;
        wrenn::client c(ioc.get_executor(), cfg);
        bool in_flight = false;
        std::exception_ptr failure;
        asio::co_spawn(
            ioc,
            [&]() -> asio::awaitable<void> {
                std::optional<capsule> cap;  // (no co_await inside ?: with g++ 12)
                if (code_runner) cap.emplace(co_await wrenn::code_runner::create(c, {.wait = true}));
                else cap.emplace(co_await capsule::create(c, {.wait = true}));
                co_await body(c, *cap, in_flight);
            },
            [&](std::exception_ptr e) { failure = e; });
        const auto deadline = std::chrono::steady_clock::now() + 120s;
        while (!in_flight && !failure && std::chrono::steady_clock::now() < deadline) ioc.run_one_for(1s);
        if (failure) std::rethrow_exception(failure);
        REQUIRE(in_flight);
        // the operation started in the handler that set in_flight: let it reach the socket
        ioc.poll();
    }  // the client, then the io_context, with the operation pending
    CHECK(wrenn_test::open_descriptors() == before);
}

} // namespace

TEST_CASE("teardown: destroying the io_context mid-operation leaks no descriptor (and no memory under ASan)",
          "[teardown]") {
    local_server srv;
    const auto cfg = srv.config();

    SECTION("a REST call") {
        end_mid_flight(cfg, false, [](wrenn::client& c, capsule& cap, bool& in_flight) -> asio::awaitable<void> {
            in_flight = true;
            for (;;) (void)co_await c.capsules().get(cap.id());
        });
    }
    SECTION("a plain foreground command") {
        end_mid_flight(cfg, false, [](wrenn::client&, capsule& cap, bool& in_flight) -> asio::awaitable<void> {
            in_flight = true;
            (void)co_await cap.commands.run("sleep 30");
        });
    }
    SECTION("a command with output callbacks") {
        end_mid_flight(cfg, false, [](wrenn::client&, capsule& cap, bool& in_flight) -> asio::awaitable<void> {
            in_flight = true;
            (void)co_await cap.commands.run("echo started; sleep 30", {.on_stdout = [](std::string_view) {}});
        });
    }
    SECTION("a stream's next() waiting") {
        end_mid_flight(cfg, false, [](wrenn::client&, capsule& cap, bool& in_flight) -> asio::awaitable<void> {
            auto s = co_await cap.commands.stream("sleep 30");
            auto start = co_await s.next();
            REQUIRE(start);
            in_flight = true;
            (void)co_await s.next();
        });
    }
    SECTION("a terminal waiting for output") {
        end_mid_flight(cfg, false, [](wrenn::client&, capsule& cap, bool& in_flight) -> asio::awaitable<void> {
            auto term = co_await cap.pty({.cmd = "cat"});
            auto started = co_await term.next();
            REQUIRE(started);
            in_flight = true;
            (void)co_await term.next();
        });
    }
    SECTION("a download half read") {
        end_mid_flight(cfg, false, [](wrenn::client&, capsule& cap, bool& in_flight) -> asio::awaitable<void> {
            (void)co_await cap.commands.run("head -c 8000000 /dev/zero > /tmp/big");
            auto d = co_await cap.files.download_stream("/tmp/big");
            auto piece = co_await d.next();
            REQUIRE(!piece.empty());
            in_flight = true;
            for (;;) (void)co_await d.next();
        });
    }
    SECTION("a code cell running") {
        end_mid_flight(cfg, true, [](wrenn::client& c, capsule& cap, bool& in_flight) -> asio::awaitable<void> {
            auto runner = co_await wrenn::code_runner::connect(c, cap.id());
            (void)co_await runner.run_code("1");
            in_flight = true;
            (void)co_await runner.run_code("import time; time.sleep(30)");
        });
    }
}
