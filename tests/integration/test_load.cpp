// Load against a real wrenn-local: 10,000 mixed operations (commands, file
// writes and reads, gets) across 100 capsules on one io_context, with up to
// 64 in flight. Every result must come back once, complete, and from the
// capsule it was sent to: nothing lost, duplicated or mismatched.
// Under sanitizers it runs at a quarter of that size (build_kind.hpp).
#include <catch2/catch.hpp>

#include <wrenn/wrenn.hpp>

#include "async.hpp"
#include "build_kind.hpp"
#include "local_server.hpp"
#include "run.hpp"

#include <optional>

namespace asio = boost::asio;
using wrenn::capsule;
using wrenn_test::local_server;

TEST_CASE("load: 10,000 mixed operations across 100 capsules (a quarter under sanitizers), none lost, duplicated or "
          "mismatched",
          "[load]") {
    constexpr int capsules = 100 / wrenn_test::load_divisor, operations = 10'000 / wrenn_test::load_divisor,
                  in_flight = 64;
    local_server srv;
    wrenn_test::run(srv.config(), [&](wrenn::client c) -> asio::awaitable<void> {
        std::vector<std::optional<capsule>> caps(capsules);
        // Each capsule knows who it is: a command that reads this file proves
        // it ran in the capsule it was sent to.
        auto create = [&](int k) -> asio::awaitable<void> {
            auto cap = co_await capsule::create(c, {.wait = true});
            co_await cap.files.write("/tmp/whoami", std::string_view(cap.id()));
            caps[static_cast<std::size_t>(k)] = cap;
        };
        auto failures = co_await wrenn_test::run_all(capsules, 16, create);
        INFO("first create failure: " << (failures.empty() ? std::string("none") : failures.front()));
        REQUIRE(failures.empty());

        std::vector<int> completed(operations, 0);
        std::vector<std::string> mismatches;
        std::vector<int> files_per_capsule(capsules, 0);
        auto op = [&](int i) -> asio::awaitable<void> {
            auto k = static_cast<std::size_t>(i % capsules);
            auto& cap = *caps[k];
            auto expect = std::to_string(i) + "@" + cap.id();
            std::string got;
            switch ((i / capsules) % 3) {
            case 0: {  // a command: its own number, then the capsule's name for itself
                auto r = co_await cap.commands.run("printf '%s@' " + std::to_string(i) + "; cat /tmp/whoami");
                got = r.stdout_text;
                if (r.exit_code != 0) got += " (exit " + std::to_string(r.exit_code) + ")";
                break;
            }
            case 1: {  // a file of its own, written and read back
                auto path = "/tmp/op-" + std::to_string(i);
                co_await cap.files.write(path, std::string_view(expect));
                got = co_await cap.files.read(path);
                ++files_per_capsule[k];
                break;
            }
            default: {  // the capsule's own record
                auto info = co_await c.capsules().get(cap.id());
                got = std::to_string(i) + "@" + info.id;
                if (!(info.status == wrenn::capsule_state::running)) got += " (not running)";
                break;
            }
            }
            if (got != expect) mismatches.push_back("operation " + std::to_string(i) + ": expected '" + expect +
                                                    "', got '" + got + "'");
            ++completed[static_cast<std::size_t>(i)];
        };
        failures = co_await wrenn_test::run_all(operations, in_flight, op);
        INFO("first failure: " << (failures.empty() ? std::string("none") : failures.front()));
        CHECK(failures.empty());
        INFO("first mismatch: " << (mismatches.empty() ? std::string("none") : mismatches.front()));
        CHECK(mismatches.empty());
        CHECK(std::count(completed.begin(), completed.end(), 1) == operations);  // each exactly once

        // The server side agrees: each capsule holds exactly the files written to it.
        auto count_files = [&](int k) -> asio::awaitable<void> {
            auto entries = co_await caps[static_cast<std::size_t>(k)]->files.list("/tmp");
            auto n = std::count_if(entries.begin(), entries.end(),
                                   [](const wrenn::file_entry& e) { return e.name.rfind("op-", 0) == 0; });
            if (n != files_per_capsule[static_cast<std::size_t>(k)])
                throw std::runtime_error("capsule " + std::to_string(k) + " holds " + std::to_string(n) +
                                         " files, expected " + std::to_string(files_per_capsule[static_cast<std::size_t>(k)]));
        };
        failures = co_await wrenn_test::run_all(capsules, 16, count_files);
        INFO("first file count failure: " << (failures.empty() ? std::string("none") : failures.front()));
        CHECK(failures.empty());

        auto destroy = [&](int k) -> asio::awaitable<void> { co_await caps[static_cast<std::size_t>(k)]->destroy(); };
        failures = co_await wrenn_test::run_all(capsules, 16, destroy);
        CHECK(failures.empty());
        auto left = co_await capsule::list(c);
        CHECK(left.empty());
    });
}
