// capsule.git against real git inside wrenn-local capsules, and a local
// smart-HTTP git server (git http-backend) that requires basic auth.
#include <catch2/catch.hpp>

#include <wrenn/wrenn.hpp>

#include "expect.hpp"
#include "git_http_server.hpp"
#include "local_server.hpp"
#include "run.hpp"

#include <algorithm>
#include <cstdio>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using wrenn::capsule;
using wrenn_test::local_server;

namespace {

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

const wrenn::git_file_status* file(const wrenn::git_status& s, const std::string& path) {
    for (auto& f : s.files)
        if (f.path == path) return &f;
    return nullptr;
}

// Runs a command on the host and returns its stdout.
std::string host_output(const std::string& cmd) {
    std::string out;
    if (FILE* p = ::popen(cmd.c_str(), "r")) {
        char buf[4096];
        while (auto n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
        ::pclose(p);
    }
    return out;
}

template <class F>
std::exception_ptr failure_in(F&& f) {
    try {
        f();
    } catch (...) {
        return std::current_exception();
    }
    return nullptr;
}

} // namespace

TEST_CASE("git: init, add, commit, branches, status, restore, reset round trips", "[git]") {
    local_server srv;
    wrenn_test::run(srv.config(), [](wrenn::client c) -> asio::awaitable<void> {
        auto cap = co_await capsule::create(c, {.wait = true});
        auto& git = cap.git;
        co_await git.configure_user("Ada Lovelace", "ada@example.com");
        auto name = co_await git.get_config("user.name", {.scope = wrenn::git_config_scope::global});
        CHECK(name == std::optional<std::string>("Ada Lovelace"));
        auto unset = co_await git.get_config("no.such.key", {.scope = wrenn::git_config_scope::global});
        CHECK_FALSE(unset);

        co_await git.init("repo", {.initial_branch = "main"});
        const std::string_view repo = "repo";
        auto empty = co_await git.status({.cwd = repo});
        CHECK(empty.branch == std::optional<std::string>("main"));
        CHECK(empty.is_clean());
        auto no_origin = co_await git.remote_get("origin", {.cwd = repo});
        CHECK_FALSE(no_origin);

        co_await cap.files.write("repo/a.txt", std::string_view("one\n"));
        co_await cap.files.write("repo/with space.txt", std::string_view("two\n"));
        auto untracked = co_await git.status({.cwd = repo});
        CHECK(untracked.has_untracked());
        CHECK_FALSE(untracked.has_staged());
        CHECK(untracked.files.size() == 2);

        co_await git.add({.paths = {"a.txt"}, .cwd = repo});
        auto staged = co_await git.status({.cwd = repo});
        REQUIRE(file(staged, "a.txt"));
        CHECK(file(staged, "a.txt")->staged());
        CHECK(file(staged, "a.txt")->status() == "added");
        CHECK(staged.has_staged());

        co_await git.add({.all = true, .cwd = repo});
        auto first = co_await git.commit("first commit", {.cwd = repo});
        CHECK(first.exit_code == 0);
        auto clean = co_await git.status({.cwd = repo});
        CHECK(clean.is_clean());
        CHECK(clean.branch == std::optional<std::string>("main"));
        CHECK_FALSE(clean.detached);

        co_await git.create_branch("feature", {.cwd = repo});
        auto bs = co_await git.branches({.cwd = repo});
        REQUIRE(bs.size() == 2);
        auto current = std::find_if(bs.begin(), bs.end(), [](auto& b) { return b.is_current; });
        REQUIRE(current != bs.end());
        CHECK(current->name == "feature");

        co_await cap.files.write("repo/a.txt", std::string_view("changed\n"));
        auto modified = co_await git.status({.cwd = repo});
        REQUIRE(file(modified, "a.txt"));
        CHECK(file(modified, "a.txt")->work_tree_status == 'M');
        CHECK(file(modified, "a.txt")->status() == "modified");
        CHECK_FALSE(file(modified, "a.txt")->staged());
        co_await git.restore({"a.txt"}, {.cwd = repo});
        auto restored = co_await git.status({.cwd = repo});
        CHECK(restored.is_clean());
        auto content = co_await cap.files.read("repo/a.txt");
        CHECK(content == "one\n");

        co_await cap.files.write("repo/a.txt", std::string_view("staged change\n"));
        co_await git.add({.cwd = repo});
        co_await git.reset({.mode = wrenn::git_reset_mode::hard, .cwd = repo});
        auto after_reset = co_await git.status({.cwd = repo});
        CHECK(after_reset.is_clean());

        co_await git.commit("an empty one", {.allow_empty = true, .author_name = "Bob", .author_email = "bob@x.org",
                                             .cwd = repo});
        auto log = co_await cap.commands.run("git log -1 --format='%an <%ae> %s'", {.cwd = "repo"});
        CHECK(log.stdout_text == "Bob <bob@x.org> an empty one\n");

        co_await git.checkout_branch("main", {.cwd = repo});
        co_await git.delete_branch("feature", {.force = true, .cwd = repo});
        bs = co_await git.branches({.cwd = repo});
        REQUIRE(bs.size() == 1);
        CHECK(bs[0].name == "main");
        CHECK(bs[0].is_current);

        co_await git.set_config("core.note", "local value", {.cwd = repo});
        auto local = co_await git.get_config("core.note", {.cwd = repo});
        CHECK(local == std::optional<std::string>("local value"));

        // a failing git command: typed, with git's own words and exit code
        std::exception_ptr failure;
        try {
            co_await git.commit("nothing to commit", {.cwd = repo});
        } catch (...) {
            failure = std::current_exception();
        }
        auto e = wrenn_test::as<wrenn::git_command_error>(failure);
        CHECK(e.exit_code() == 1);
        CHECK(contains(e.message(), "nothing to commit"));
        failure = nullptr;
        try {
            co_await git.checkout_branch("no-such-branch", {.cwd = repo});
        } catch (...) {
            failure = std::current_exception();
        }
        auto e2 = wrenn_test::as<wrenn::git_command_error>(failure);
        CHECK(contains(e2.stderr_text(), "no-such-branch"));

        // refused before running anything
        CHECK_THROWS_AS(git.restore({}, {.cwd = repo}), wrenn::usage_error);
        CHECK_THROWS_AS(git.configure_user("", "x@y"), wrenn::usage_error);
        CHECK_THROWS_AS(git.clone("http://h/r.git", {}, {.password = "p"}), wrenn::usage_error);
        CHECK_THROWS_AS(git.dangerously_authenticate("u", "p\nq"), wrenn::usage_error);
        CHECK_THROWS_AS(git.push({.password = "p", .cwd = repo}), wrenn::usage_error);
        co_await cap.destroy();
    });
}

TEST_CASE("git: clone, push and pull over HTTP with basic auth, credentials never stay behind", "[git]") {
    const std::string user = "alice", password = "S3cret-pw-7f1c";
    wrenn_test::git_http_server remote(user, password);
    auto url = remote.create_repo("demo.git");
    local_server srv;
    wrenn_test::run(srv.config(), [&](wrenn::client c) -> asio::awaitable<void> {
        auto cap = co_await capsule::create(c, {.wait = true});
        auto& git = cap.git;
        co_await git.configure_user("Alice", "alice@example.com");

        auto cloned = co_await git.clone(url, "work", {.username = user, .password = password});
        CHECK(cloned.exit_code == 0);
        CHECK_FALSE(contains(cloned.stdout_text + cloned.stderr_text, password));
        auto readme = co_await cap.files.read("work/README.md");
        CHECK(readme == "hello\n");
        auto origin = co_await git.remote_get("origin", {.cwd = "work"});
        CHECK(origin == std::optional<std::string>(url));  // the credentials are gone again
        auto config = co_await cap.files.read("work/.git/config");
        CHECK_FALSE(contains(config, password));

        co_await cap.files.write("work/feature.txt", std::string_view("from the capsule\n"));
        co_await git.add({.cwd = "work"});
        co_await git.commit("add feature", {.cwd = "work"});
        auto pushed = co_await git.push({.branch = "main", .username = user, .password = password, .cwd = "work"});
        CHECK(pushed.exit_code == 0);
        origin = co_await git.remote_get("origin", {.cwd = "work"});
        CHECK(origin == std::optional<std::string>(url));
        config = co_await cap.files.read("work/.git/config");
        CHECK_FALSE(contains(config, password));
        // the push really reached the server
        CHECK(contains(host_output("git --git-dir='" + remote.root() + "/demo.git' log --format=%s main"),
                       "add feature"));

        // pull into a second clone
        co_await git.clone(url, "other", {.username = user, .password = password});
        co_await cap.files.write("work/second.txt", std::string_view("2\n"));
        co_await git.add({.cwd = "work"});
        co_await git.commit("second", {.cwd = "work"});
        co_await git.push({.username = user, .password = password, .cwd = "work"});
        auto pulled = co_await git.pull({.branch = "main", .ff_only = true, .username = user, .password = password,
                                         .cwd = "other"});
        CHECK(pulled.exit_code == 0);
        auto second = co_await cap.files.read("other/second.txt");
        CHECK(second == "2\n");

        // a wrong password: git_auth_error, and no password left anywhere
        const std::string wrong = "Wr0ng-pw-9d2e";
        std::exception_ptr failure;
        try {
            co_await git.push({.username = user, .password = wrong, .cwd = "work"});
        } catch (...) {
            failure = std::current_exception();
        }
        auto auth = wrenn_test::as<wrenn::git_auth_error>(failure);
        CHECK(auth.exit_code() != 0);
        CHECK_FALSE(contains(auth.what(), wrong));
        CHECK_FALSE(contains(auth.stderr_text(), wrong));
        config = co_await cap.files.read("work/.git/config");
        CHECK_FALSE(contains(config, wrong));
        CHECK_FALSE(contains(config, password));
        origin = co_await git.remote_get("origin", {.cwd = "work"});
        CHECK(origin == std::optional<std::string>(url));

        failure = nullptr;
        try {
            co_await git.clone(url, "denied", {.username = user, .password = wrong});
        } catch (...) {
            failure = std::current_exception();
        }
        auto denied = wrenn_test::as<wrenn::git_auth_error>(failure);
        CHECK_FALSE(contains(denied.what(), wrong));
        CHECK_FALSE(contains(denied.stderr_text(), wrong));

        // no credentials at all: git must not wait for a prompt
        failure = nullptr;
        try {
            co_await git.clone(url, "anonymous");
        } catch (...) {
            failure = std::current_exception();
        }
        wrenn_test::as<wrenn::git_auth_error>(failure);

        // an unknown remote with credentials: named in the error
        failure = nullptr;
        try {
            co_await git.push({.remote = "upstream", .username = user, .password = password, .cwd = "work"});
        } catch (...) {
            failure = std::current_exception();
        }
        auto unknown = wrenn_test::as<wrenn::git_command_error>(failure);
        CHECK(contains(unknown.message(), "Remote 'upstream' not found."));

        // credentials in git's store: later commands need none
        auto hostport = url.substr(std::string("http://").size());
        hostport = hostport.substr(0, hostport.find('/'));
        co_await git.dangerously_authenticate(user, password, {.host = hostport, .protocol = "http"});
        auto stored = co_await git.clone(url, "via-store");
        CHECK(stored.exit_code == 0);
        co_await cap.destroy();
    });
    CHECK(remote.refused() > 0);  // the server did ask for credentials
}

TEST_CASE("git: the blocking API", "[git][sync]") {
    local_server srv;
    wrenn::sync::client c(srv.config());
    wrenn::sync::scoped_capsule cap(c, {.wait = true});
    cap->git.init("r", {.initial_branch = "trunk"});
    cap->files.write("r/x", std::string_view("x"));
    cap->git.add({.cwd = "r"});
    cap->git.commit("x", {.author_name = "S", .author_email = "s@x", .cwd = "r"});
    auto st = cap->git.status({.cwd = "r"});
    CHECK(st.branch == std::optional<std::string>("trunk"));
    CHECK(st.is_clean());
    auto failure = failure_in([&] { cap->git.checkout_branch("nope", {.cwd = "r"}); });
    wrenn_test::as<wrenn::git_command_error>(failure);
}
