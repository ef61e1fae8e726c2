// capsule.files against wrenn-local: every operation, every error, every
// byte value, and confinement to the capsule.
#include <catch2/catch.hpp>

#include <wrenn/wrenn.hpp>

#include "expect.hpp"
#include "local_server.hpp"
#include "run.hpp"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace asio = boost::asio;
using wrenn::capsule;
using wrenn_test::as;
using wrenn_test::failure_of;
using wrenn_test::local_server;

namespace {
const wrenn::file_entry* find(const std::vector<wrenn::file_entry>& es, const std::string& name) {
    auto it = std::find_if(es.begin(), es.end(), [&](auto& e) { return e.name == name; });
    return it == es.end() ? nullptr : &*it;
}

std::string all_bytes() {
    std::string s;
    for (int i = 0; i < 256; ++i) s += static_cast<char>(i);
    return s + s;  // twice, so every value also follows every other once
}
} // namespace

TEST_CASE("files: write, read, list, exists, make_dir, remove", "[files]") {
    auto tls = GENERATE(false, true);
    CAPTURE(tls);
    local_server srv({.tls = tls});
    wrenn_test::run(srv.config(), [](wrenn::client c) -> asio::awaitable<void> {
        auto cap = co_await capsule::create(c, {.wait = true});
        auto& f = cap.files;

        co_await f.write("/app/deep/dir/hello.txt", "hello file\n");  // parents are created
        {
            auto got0 = co_await f.read("/app/deep/dir/hello.txt");
            CHECK(got0 == "hello file\n");
        }
        co_await f.write("/app/deep/dir/hello.txt", "replaced");
        {
            auto got1 = co_await f.read("/app/deep/dir/hello.txt");
            CHECK(got1 == "replaced");
        }
        // the capsule sees what the API wrote
        {
            auto got2 = co_await cap.commands.run("cat /app/deep/dir/hello.txt");
            CHECK(got2.stdout_text == "replaced");
        }

        auto bytes = all_bytes();
        co_await f.write("/app/bytes.bin", bytes);
        {
            auto got3 = co_await f.read("/app/bytes.bin");
            CHECK(got3 == bytes);
        }
        auto vec = co_await f.read_bytes("/app/bytes.bin");
        CHECK(vec.size() == 512);
        CHECK(vec[255] == 255);
        {
            auto got4 = co_await cap.commands.run("sha256sum < /app/bytes.bin | cut -c1-16");
            CHECK(got4.exit_code == 0);
        }

        co_await f.write("relative.txt", "in home");  // relative paths: the user's home
        {
            auto got5 = co_await cap.commands.run("cat /home/wrenn-user/relative.txt");
            CHECK(got5.stdout_text == "in home");
        }

        auto top = co_await f.list("/app");
        REQUIRE(find(top, "deep"));
        CHECK(find(top, "deep")->is_dir());
        CHECK(find(top, "deep")->permissions.front() == 'd');
        REQUIRE(find(top, "bytes.bin"));
        CHECK(find(top, "bytes.bin")->is_file());
        CHECK(find(top, "bytes.bin")->size == 512);
        CHECK(find(top, "bytes.bin")->path == "/app/bytes.bin");
        CHECK(find(top, "bytes.bin")->modified_at > 0);
        CHECK_FALSE(find(top, "hello.txt"));  // depth 1 only
        auto deep = co_await f.list("/app", 3);
        CHECK(find(deep, "hello.txt"));

        {
            auto got6 = co_await cap.commands.run("chmod 640 /app/bytes.bin && ln -s /app/bytes.bin /app/link");
            CHECK(got6.exit_code == 0);
        }
        auto again = co_await f.list("/app");
        REQUIRE(find(again, "bytes.bin"));
        CHECK((find(again, "bytes.bin")->mode & 0777) == 0640);
        CHECK(find(again, "bytes.bin")->permissions == "-rw-r-----");
        REQUIRE(find(again, "link"));
        CHECK(find(again, "link")->symlink_target == std::optional<std::string>("/app/bytes.bin"));

        {
            auto got7 = co_await f.exists("/app/bytes.bin");
            CHECK(got7);
        }
        {
            auto got8 = co_await f.exists("/app/deep/");
            CHECK(got8);
        }
        {
            auto got9 = co_await f.exists("/");
            CHECK(got9);
        }
        {
            auto got10 = co_await f.exists("/app/nope");
            CHECK_FALSE(got10);
        }
        {
            auto got11 = co_await f.exists("/no/such/parent/file");
            CHECK_FALSE(got11);
        }

        auto made = co_await f.make_dir("/data/a/b");
        CHECK(made.is_dir());
        CHECK(made.name == "b");
        auto made_again = co_await f.make_dir("/data/a/b");  // idempotent
        CHECK(made_again.is_dir());
        {
            auto got12 = co_await f.exists("/data/a/b");
            CHECK(got12);
        }

        co_await f.remove("/app/deep");  // recursive
        {
            auto got13 = co_await f.exists("/app/deep");
            CHECK_FALSE(got13);
        }
        co_await f.remove("/app/bytes.bin");
        {
            auto got14 = co_await f.exists("/app/bytes.bin");
            CHECK_FALSE(got14);
        }
        co_await cap.destroy();
    });
}

TEST_CASE("files: failures are typed and name the path", "[files]") {
    local_server srv;
    auto cfg = srv.config();
    SECTION("reading a missing file") {
        auto e = as<wrenn::not_found_error>(failure_of(cfg, [](wrenn::client c) -> asio::awaitable<void> {
            auto cap = co_await capsule::create(c);
            co_await cap.files.read("/app/missing.txt");
        }));
        CHECK(std::string(e.what()).find("/app/missing.txt") != std::string::npos);
    }
    SECTION("removing a missing path") {
        auto e = as<wrenn::not_found_error>(failure_of(cfg, [](wrenn::client c) -> asio::awaitable<void> {
            auto cap = co_await capsule::create(c);
            co_await cap.files.remove("/nothing/here");
        }));
        CHECK(e.message().find("/nothing/here") != std::string::npos);
    }
    SECTION("listing a missing directory") {
        auto e = as<wrenn::not_found_error>(failure_of(cfg, [](wrenn::client c) -> asio::awaitable<void> {
            auto cap = co_await capsule::create(c);
            co_await cap.files.list("/no-dir");
        }));
        CHECK(e.message().find("/no-dir") != std::string::npos);
    }
    SECTION("make_dir over a file") {
        auto p = failure_of(cfg, [](wrenn::client c) -> asio::awaitable<void> {
            auto cap = co_await capsule::create(c);
            co_await cap.files.write("/app/file", "x");
            co_await cap.files.make_dir("/app/file");
        });
        auto e = as<wrenn::error>(p);
        CHECK(e.message().find("/app/file") != std::string::npos);
    }
    SECTION("files of a paused capsule") {
        as<wrenn::conflict_error>(failure_of(cfg, [](wrenn::client c) -> asio::awaitable<void> {
            auto cap = co_await capsule::create(c);
            co_await cap.pause();
            co_await cap.files.read("/etc/hostname");
        }));
    }
}

TEST_CASE("files: nothing outside the capsule can be read or written", "[files][security]") {
    local_server srv;
    auto tag = std::to_string(::getpid());
    auto secret = std::filesystem::temp_directory_path() / ("wrenn-secret-" + tag);
    auto target = std::filesystem::temp_directory_path() / ("wrenn-target-" + tag);
    std::ofstream(secret) << "TOPSECRET";
    std::filesystem::remove(target);
    wrenn_test::run(srv.config(), [&](wrenn::client c) -> asio::awaitable<void> {
        auto cap = co_await capsule::create(c);
        // Inside the capsule /tmp is its own: the host's file is not there.
        auto link = "ln -s " + secret.string() + " /home/wrenn-user/leak && ln -s " + target.string() +
                    " /home/wrenn-user/out && ln -s /../../../../.. /home/wrenn-user/up";
        {
            auto got15 = co_await cap.commands.run(link);
            CHECK(got15.exit_code == 0);
        }
        const std::vector<std::string> paths{secret.string(), "/home/wrenn-user/leak",
                                             "../../../../../../.." + secret.string(),
                                             "/home/wrenn-user/up" + secret.string()};
        for (const auto& path : paths) {
            std::string got;
            try {
                got = co_await cap.files.read(path);
            } catch (const wrenn::error&) {
            }
            CHECK(got.find("TOPSECRET") == std::string::npos);
        }
        try {
            co_await cap.files.write("/home/wrenn-user/out", "escaped");
        } catch (const wrenn::error&) {
        }
        try {
            co_await cap.files.write("../../../../../../.." + target.string(), "escaped");
        } catch (const wrenn::error&) {
        }
        co_await cap.destroy();
    });
    CHECK_FALSE(std::filesystem::exists(target));
    std::filesystem::remove(secret);
}
