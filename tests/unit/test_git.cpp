// The git helper, sans-I/O (WIRE.md §14): shell quoting checked against the
// real /bin/sh, status and branch parsing checked against output of the real
// git (repositories made at test time in temporary directories, offline),
// credentials, every argv builder and every refusal.
#include <catch2/catch.hpp>

#include <wrenn/error.hpp>
#include <wrenn/git_types.hpp>
#include <wrenn/protocol/git.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

using namespace wrenn;
using namespace wrenn::protocol::git;
namespace fs = std::filesystem;
using strings = std::vector<std::string>;
using namespace std::string_literals;

namespace {

// ---- running real programs ----

struct proc_result {
    int exit_code = -1;
    std::string out, err;
};

using kv_list = std::vector<std::pair<std::string, std::string>>;

// Runs argv (PATH lookup) in `cwd` with a clean git environment: no GIT_*
// variables inherited, no global or system config, no prompts, the C locale,
// a fixed identity and "main" as the default branch; `config` adds `-c`-like
// settings through GIT_CONFIG_COUNT, `env` adds or overrides variables.
proc_result run(const strings& argv, const std::string& cwd = {}, const kv_list& config = {},
                const kv_list& env = {}, const std::string& input = {}) {
    kv_list cfg = {{"user.name", "Wrenn Test"},
                   {"user.email", "test@wrenn.invalid"},
                   {"init.defaultBranch", "main"},
                   {"advice.detachedHead", "false"},
                   {"protocol.file.allow", "always"}};
    cfg.insert(cfg.end(), config.begin(), config.end());
    kv_list vars = {{"GIT_CONFIG_GLOBAL", "/dev/null"}, {"GIT_CONFIG_NOSYSTEM", "1"},
                    {"GIT_TERMINAL_PROMPT", "0"},       {"LC_ALL", "C"},
                    {"GIT_CONFIG_COUNT", std::to_string(cfg.size())}};
    for (std::size_t i = 0; i < cfg.size(); ++i) {
        vars.emplace_back("GIT_CONFIG_KEY_" + std::to_string(i), cfg[i].first);
        vars.emplace_back("GIT_CONFIG_VALUE_" + std::to_string(i), cfg[i].second);
    }
    for (auto& kv : env) {
        auto it = std::find_if(vars.begin(), vars.end(), [&](auto& x) { return x.first == kv.first; });
        if (it != vars.end()) it->second = kv.second;
        else vars.push_back(kv);
    }

    strings envs;
    for (char** e = environ; *e; ++e) {
        std::string_view s(*e);
        auto name = s.substr(0, s.find('='));
        if (name.substr(0, 4) == "GIT_" || name == "LC_ALL" || name == "LANG") continue;
        if (std::any_of(vars.begin(), vars.end(), [&](auto& v) { return v.first == name; })) continue;
        envs.emplace_back(s);
    }
    for (auto& [k, v] : vars) envs.push_back(k + "=" + v);

    std::vector<char*> cargv, cenv;
    for (auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    for (auto& e : envs) cenv.push_back(const_cast<char*>(e.c_str()));
    cenv.push_back(nullptr);

    int in[2], out[2], err[2];
    REQUIRE(pipe2(in, O_CLOEXEC) == 0);
    REQUIRE(pipe2(out, O_CLOEXEC) == 0);
    REQUIRE(pipe2(err, O_CLOEXEC) == 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());
    pid_t pid = -1;
    int rc = posix_spawnp(&pid, cargv[0], &fa, nullptr, cargv.data(), cenv.data());
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    close(err[1]);
    if (rc != 0) {
        close(in[1]);
        close(out[0]);
        close(err[0]);
        FAIL("cannot start " << argv[0] << ": " << std::strerror(rc));
    }

    if (!input.empty()) {
        auto old = std::signal(SIGPIPE, SIG_IGN);
        std::size_t off = 0;
        while (off < input.size()) {
            auto n = write(in[1], input.data() + off, input.size() - off);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            off += static_cast<std::size_t>(n);
        }
        std::signal(SIGPIPE, old);
    }
    close(in[1]);

    proc_result r;
    pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    std::string* sinks[2] = {&r.out, &r.err};
    int open_fds = 2;
    char buf[65536];
    while (open_fds > 0) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            auto n = read(fds[i].fd, buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                --open_fds;
            } else {
                sinks[i]->append(buf, static_cast<std::size_t>(n));
            }
        }
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return r;
}

// What the capsule does with a git argv: /bin/sh -c '<shell_join(argv)>'.
proc_result run_shell(const std::string& command, const std::string& cwd = {}, const kv_list& config = {},
                      const kv_list& env = {}, const std::string& input = {}) {
    return run({"/bin/sh", "-c", command}, cwd, config, env, input);
}

void require_git() {
    static bool checked = false;
    if (checked) return;
    auto r = run({"git", "--version"});
    if (r.exit_code != 0) FAIL("these tests need the git program on PATH: " << r.err);
    checked = true;
}

// A temporary directory holding test repositories; removed afterwards.
class sandbox {
public:
    sandbox() {
        require_git();
        std::string tmpl = (fs::temp_directory_path() / "wrenn-git-test-XXXXXX").string();
        REQUIRE(mkdtemp(tmpl.data()) != nullptr);
        root_ = tmpl;
    }
    ~sandbox() {
        std::error_code ec;
        fs::remove_all(root_, ec);
    }
    sandbox(const sandbox&) = delete;
    sandbox& operator=(const sandbox&) = delete;

    std::string path(const std::string& rel = {}) const { return rel.empty() ? root_.string() : (root_ / rel).string(); }

    // Runs git in `dir` (relative to the sandbox), requiring success.
    std::string git(const std::string& dir, const strings& args, const kv_list& config = {}) const {
        strings argv{"git"};
        argv.insert(argv.end(), args.begin(), args.end());
        auto r = run(argv, path(dir), config);
        INFO("git " << shell_join(args) << " in " << dir << "\nstdout: " << r.out << "\nstderr: " << r.err);
        REQUIRE(r.exit_code == 0);
        return r.out;
    }

    // Runs git expecting failure (a merge with conflicts).
    void git_fails(const std::string& dir, const strings& args) const {
        strings argv{"git"};
        argv.insert(argv.end(), args.begin(), args.end());
        auto r = run(argv, path(dir));
        INFO("git " << shell_join(args) << "\nstdout: " << r.out << "\nstderr: " << r.err);
        REQUIRE(r.exit_code != 0);
    }

    void write(const std::string& rel, const std::string& content) const {
        fs::create_directories(fs::path(path(rel)).parent_path());
        std::ofstream f(path(rel), std::ios::binary | std::ios::trunc);
        f << content;
        REQUIRE(f.good());
    }

    void remove(const std::string& rel) const { REQUIRE(fs::remove(path(rel))); }

    void symlink(const std::string& target, const std::string& rel) const {
        fs::create_symlink(target, path(rel));
    }

    // `git status` exactly as wrenn::git runs it, parsed.
    git_status status(const std::string& dir, const kv_list& config = {}) {
        auto r = run_shell(shell_join(status_argv()), path(dir), config);
        INFO("status stderr: " << r.err);
        REQUIRE(r.exit_code == 0);
        last_raw = r.out;
        return parse_status(r.out);
    }

    std::vector<git_branch> branches(const std::string& dir) {
        auto r = run_shell(shell_join(branches_argv()), path(dir));
        INFO("branch stderr: " << r.err);
        REQUIRE(r.exit_code == 0);
        last_raw = r.out;
        return parse_branches(r.out);
    }

    std::string last_raw;

private:
    fs::path root_;
};

const git_file_status& file(const git_status& st, const std::string& path) {
    for (auto& f : st.files)
        if (f.path == path) return f;
    FAIL("no status entry for path '" << path << "'");
    throw std::logic_error("unreachable");
}

void check_file(const git_status& st, const std::string& path, char x, char y, std::string_view status,
                std::optional<std::string> from = std::nullopt) {
    INFO("path " << path);
    auto& f = file(st, path);
    CHECK(f.index_status == x);
    CHECK(f.work_tree_status == y);
    CHECK(f.status() == status);
    CHECK(f.renamed_from == from);
    CHECK(f.staged() == (x != ' ' && x != '?'));
}

template <class F>
usage_error usage_error_of(F&& f) {
    try {
        f();
    } catch (const usage_error& e) {
        CHECK(e.code() == "invalid_argument");
        CHECK(e.status() == 0u);
        return e;
    } catch (const std::exception& e) {
        FAIL("expected usage_error, got: " << e.what());
    }
    FAIL("expected usage_error, nothing was thrown");
    throw std::logic_error("unreachable");
}

#define CHECK_USAGE_MESSAGE(expr, text) CHECK(usage_error_of([&] { (void)(expr); }).message() == (text))
#define CHECK_USAGE_CONTAINS(expr, text) \
    CHECK_THAT(usage_error_of([&] { (void)(expr); }).message(), Catch::Matchers::Contains(text))

bool safe_byte(unsigned char c) {
    return std::isalnum(c) || std::string_view("_@%+=:,./-").find(static_cast<char>(c)) != std::string_view::npos;
}

} // namespace

// =====================================================================
// Shell quoting (§14.1)
// =====================================================================

TEST_CASE("shell_quote: the shlex.quote rules case by case", "[git]") {
    CHECK(shell_quote("") == "''");
    CHECK(shell_quote("abcXYZ019") == "abcXYZ019");
    CHECK(shell_quote("_@%+=:,./-") == "_@%+=:,./-");
    CHECK(shell_quote("--format=%(refname:short)") == "'--format=%(refname:short)'");
    CHECK(shell_quote("https://github.com/o/r.git") == "https://github.com/o/r.git");
    CHECK(shell_quote("user.name=Bob") == "user.name=Bob");
    CHECK(shell_quote("a b") == "'a b'");
    CHECK(shell_quote("it's") == "'it'\"'\"'s'");
    CHECK(shell_quote("'") == "''\"'\"''");
    CHECK(shell_quote("''") == "''\"'\"''\"'\"''");
    CHECK(shell_quote("\"") == "'\"'");
    CHECK(shell_quote("a\\b") == "'a\\b'");
    CHECK(shell_quote("$HOME `id` $(id)") == "'$HOME `id` $(id)'");
    CHECK(shell_quote("line1\nline2") == "'line1\nline2'");
    CHECK(shell_quote("tab\there") == "'tab\there'");
    CHECK(shell_quote("caf\xc3\xa9") == "'caf\xc3\xa9'");  // non-ASCII is quoted
    CHECK(shell_quote("~") == "'~'");
    CHECK(shell_quote("*") == "'*'");
    CHECK(shell_quote("!") == "'!'");
    CHECK(shell_quote("#") == "'#'");
    CHECK(shell_quote("a;b|c&d") == "'a;b|c&d'");
    CHECK(shell_quote("-") == "-");
}

TEST_CASE("shell_quote: every byte 1-255 alone", "[git]") {
    for (int b = 1; b < 256; ++b) {
        auto c = static_cast<char>(b);
        std::string s(1, c);
        INFO("byte " << b);
        if (safe_byte(static_cast<unsigned char>(b))) CHECK(shell_quote(s) == s);
        else if (c == '\'') CHECK(shell_quote(s) == "''\"'\"''");
        else CHECK(shell_quote(s) == "'" + s + "'");
    }
}

TEST_CASE("shell_join: quoted arguments joined with single spaces", "[git]") {
    CHECK(shell_join({}) == "");
    CHECK(shell_join({"git"}) == "git");
    CHECK(shell_join({"git", "status", "--porcelain=v1", "--branch"}) == "git status --porcelain=v1 --branch");
    CHECK(shell_join({"git", "", "x"}) == "git '' x");
    CHECK(shell_join({"git", "commit", "-m", "it's done"}) == "git commit -m 'it'\"'\"'s done'");
    CHECK(shell_join(branches_argv()) == "git branch '--format=%(refname:short)\t%(HEAD)'");
    CHECK(shell_join({"a b", "c"}) == "'a b' c");
}

TEST_CASE("shell quoting: /bin/sh gives back every byte string (property test)", "[git]") {
    // printf %s <quoted s> through the real shell must print exactly s.
    auto through_shell = [](const std::string& s) {
        auto r = run({"/bin/sh", "-c", shell_join({"printf", "%s", s})});
        REQUIRE(r.exit_code == 0);
        return r.out;
    };

    SECTION("each byte alone") {
        for (int b = 1; b < 256; ++b) {
            std::string s(1, static_cast<char>(b));
            INFO("byte " << b);
            CHECK(through_shell(s) == s);
        }
    }

    SECTION("random strings") {
        std::uint32_t seed = 0x5eed617u;
        if (auto* env = std::getenv("WRENN_TEST_SEED")) seed = static_cast<std::uint32_t>(std::strtoul(env, nullptr, 0));
        std::cout << "shell quoting property test: seed " << seed << " (set WRENN_TEST_SEED to change)\n";
        std::mt19937 rng(seed);
        const std::string specials = "'\"\\$`\n\t !*?[]{}()~#&;|<>%=-@^,.:/";
        constexpr int count = 3000;
        for (int i = 0; i < count; ++i) {
            std::size_t len = std::uniform_int_distribution<std::size_t>(0, i % 10 == 0 ? 300 : 24)(rng);
            std::string s;
            for (std::size_t k = 0; k < len; ++k) {
                switch (rng() % 4) {
                case 0: s += specials[rng() % specials.size()]; break;
                case 1: s += static_cast<char>(0x80 + rng() % 0x80); break;   // high bytes
                case 2: s += static_cast<char>('a' + rng() % 26); break;
                default: s += static_cast<char>(1 + rng() % 255); break;     // any byte but NUL
                }
            }
            INFO("seed " << seed << ", case " << i << ", quoted: " << shell_quote(s));
            auto got = through_shell(s);
            REQUIRE(got == s);
        }
    }

    SECTION("a long string") {
        std::string s;
        for (int i = 0; i < 20000; ++i) s += static_cast<char>(1 + (i * 7919) % 255);
        CHECK(through_shell(s) == s);
    }
}

// =====================================================================
// Status parsing (§14.6): literals
// =====================================================================

TEST_CASE("parse_status: the WIRE.md and Python SDK examples", "[git]") {
    SECTION("empty output") {
        for (auto text : {""s, "\n"s, "\n\n  \n\t\n"s}) {
            auto st = parse_status(text);
            CHECK(st == git_status{});
            CHECK_FALSE(st.branch);
            CHECK(st.is_clean());
            CHECK_FALSE(st.has_staged());
        }
    }
    SECTION("ahead and behind") {
        auto st = parse_status("## main...origin/main [ahead 3, behind 1]\n");
        CHECK(st.branch == "main");
        CHECK(st.upstream == "origin/main");
        CHECK(st.ahead == 3);
        CHECK(st.behind == 1);
        CHECK_FALSE(st.detached);
        CHECK(st.is_clean());
    }
    SECTION("ahead only, behind only, gone") {
        auto a = parse_status("## main...origin/main [ahead 2]\n");
        CHECK((a.ahead == 2 && a.behind == 0));
        auto b = parse_status("## main...origin/main [behind 7]\n");
        CHECK((b.ahead == 0 && b.behind == 7));
        auto g = parse_status("## main...origin/main [gone]\n");
        CHECK((g.ahead == 0 && g.behind == 0 && g.upstream == "origin/main"));
    }
    SECTION("clean repository with upstream") {
        auto st = parse_status("## main...origin/main\n");
        CHECK(st.branch == "main");
        CHECK(st.upstream == "origin/main");
        CHECK(st.is_clean());
    }
    SECTION("detached") {
        auto st = parse_status("## HEAD (detached at abc1234)\n");
        CHECK(st.detached);
        CHECK(st.branch == "abc1234");
        auto nb = parse_status("## HEAD (no branch)\n");
        CHECK(nb.detached);
        CHECK_FALSE(nb.branch);
        auto from = parse_status("## HEAD (detached from 1234abc)\n");
        CHECK(from.detached);
        CHECK_FALSE(from.branch);
        // A ref ending in ')' keeps it: only the closing parenthesis goes.
        CHECK(parse_status("## HEAD (detached at v1))\n").branch == "v1)");
    }
    SECTION("no commits yet / initial commit") {
        CHECK(parse_status("## No commits yet on main\n").branch == "main");
        CHECK(parse_status("## Initial commit on master\n").branch == "master");
        auto up = parse_status("## No commits yet on main...origin/main [gone]\n");
        CHECK(up.branch == "main");
        CHECK(up.upstream == "origin/main");
    }
    SECTION("file entries") {
        auto st = parse_status("## dev\nM  a.py\n M b.py\n?? c.txt\nA  d.py\nD  e.py\nR  old.py -> new.py\nUU conflict.py\n");
        REQUIRE(st.files.size() == 7);
        CHECK(st.branch == "dev");
        check_file(st, "a.py", 'M', ' ', "modified");
        check_file(st, "b.py", ' ', 'M', "modified");
        check_file(st, "c.txt", '?', '?', "untracked");
        check_file(st, "d.py", 'A', ' ', "added");
        check_file(st, "e.py", 'D', ' ', "deleted");
        check_file(st, "new.py", 'R', ' ', "renamed", "old.py");
        check_file(st, "conflict.py", 'U', 'U', "conflict");
        CHECK(st.has_staged());
        CHECK(st.has_untracked());
        CHECK(st.has_conflicts());
        CHECK_FALSE(st.is_clean());
        CHECK_FALSE(file(st, "b.py").staged());
        CHECK_FALSE(file(st, "c.txt").staged());
    }
    SECTION("only unstaged changes") {
        auto st = parse_status("## main\n M file.py\n");
        CHECK_FALSE(st.has_staged());
        CHECK_FALSE(st.has_untracked());
        CHECK_FALSE(st.has_conflicts());
    }
    SECTION("line edge cases") {
        // Lines shorter than 4 characters (other than "?? ") are skipped;
        // "?? " alone is an untracked entry with an empty path.
        auto st = parse_status("## main\nM \nAB\n?? \nMM x\n");
        REQUIRE(st.files.size() == 2);
        CHECK(st.files[0].path == "");
        CHECK(st.files[0].status() == "untracked");
        CHECK(st.files[1].path == "x");
        // Paths are kept literally, including trailing spaces and CR.
        auto cr = parse_status("## main\n M a b \r\n");
        REQUIRE(cr.files.size() == 1);
        CHECK(cr.files[0].path == "a b \r");
        // Output without the header line: the first line is a file entry.
        auto nohdr = parse_status(" M a\n?? b\n");
        CHECK(nohdr.files.size() == 2);
        CHECK_FALSE(nohdr.branch);
        // " -> " only splits renames and copies.
        auto m = parse_status("## main\n M a -> b\n");
        CHECK(m.files[0].path == "a -> b");
        CHECK_FALSE(m.files[0].renamed_from);
        auto c = parse_status("## main\nC  a -> b\n");
        CHECK(c.files[0].renamed_from == "a");
        CHECK(c.files[0].status() == "copied");
        // A quoted source holding " -> " is one name.
        auto q = parse_status("## main\nR  \"x -> y\" -> \"z w\"\n");
        CHECK(q.files[0].renamed_from == "\"x -> y\"");
        CHECK(q.files[0].path == "\"z w\"");
        auto qe = parse_status("## main\nR  \"a\\\" -> b\" -> c\n");
        CHECK(qe.files[0].renamed_from == "\"a\\\" -> b\"");
        CHECK(qe.files[0].path == "c");
        // An unterminated quote falls back to the first " -> ".
        auto uq = parse_status("## main\nR  \"a -> b\n");
        CHECK(uq.files[0].renamed_from == "\"a");
        CHECK(uq.files[0].path == "b");
    }
    SECTION("branch names that look like the detached forms") {
        auto h = parse_status("## HEAD-fix...origin/HEAD-fix [ahead 1]\n");
        CHECK_FALSE(h.detached);
        CHECK(h.branch == "HEAD-fix");
        CHECK(h.upstream == "origin/HEAD-fix");
        auto d = parse_status("## detached-work\n");
        CHECK_FALSE(d.detached);
        CHECK(d.branch == "detached-work");
    }
    SECTION("odd headers") {
        CHECK(parse_status("## \n").branch == std::nullopt);
        CHECK(parse_status("## main [").branch == "main");
        CHECK(parse_status("## main [ahead 99999999999999999999]").ahead == INT_MAX);
        CHECK(parse_status("## main [ahead x, ahead 5, behind 6]").ahead == 5);
        CHECK(parse_status("## main [ahead x, ahead 5, behind 6]").behind == 6);
        auto e = parse_status("## ...\n");
        CHECK_FALSE(e.branch);
        CHECK_FALSE(e.upstream);
    }
}

TEST_CASE("git_file_status: staged and status for every porcelain pair", "[git]") {
    const std::string codes = " MTADRCU?!X";
    for (char x : codes)
        for (char y : codes) {
            git_file_status f{"p", std::nullopt, x, y};
            auto has = [&](char c) { return x == c || y == c; };
            bool unmerged = has('U') || (x == 'A' && y == 'A') || (x == 'D' && y == 'D');
            std::string_view want = unmerged   ? "conflict"
                                    : has('R') ? "renamed"
                                    : has('C') ? "copied"
                                    : has('D') ? "deleted"
                                    : has('A') ? "added"
                                    : has('M') ? "modified"
                                    : has('T') ? "typechange"
                                    : has('?') ? "untracked"
                                               : "unknown";
            INFO("XY '" << x << y << "'");
            CHECK(f.status() == want);
            CHECK(f.staged() == (x != ' ' && x != '?'));
        }
    git_status st;
    CHECK(st.is_clean());
    st.files.push_back({"a", std::nullopt, '!', '!'});
    CHECK_FALSE(st.is_clean());
    CHECK_FALSE(st.has_untracked());
    CHECK(st.has_staged());  // '!' is not ' ' or '?'
    CHECK(to_string(git_reset_mode::keep) == "keep");
    CHECK(to_string(git_config_scope::system) == "system");
}

// =====================================================================
// Status parsing (§14.6): fixtures made by the real git
// =====================================================================

TEST_CASE("parse_status: real git, every kind of change", "[git]") {
    sandbox sb;
    sb.git("", {"init", "-q", "r"});
    for (auto f : {"m", "sm", "mm", "d", "sd", "t", "st"}) sb.write("r/"s + f, "content of "s + f + "\n");
    sb.git("r", {"add", "."});
    sb.git("r", {"commit", "-q", "-m", "base"});

    sb.write("r/m", "changed\n");                       // " M"
    sb.write("r/sm", "changed\n");                      // "M "
    sb.git("r", {"add", "sm"});
    sb.write("r/mm", "changed\n");                      // "MM"
    sb.git("r", {"add", "mm"});
    sb.write("r/mm", "changed again\n");
    sb.remove("r/d");                                   // " D"
    sb.git("r", {"rm", "-q", "sd"});                    // "D "
    sb.write("r/a", "new\n");                           // "A "
    sb.git("r", {"add", "a"});
    sb.write("r/am", "new\n");                          // "AM"
    sb.git("r", {"add", "am"});
    sb.write("r/am", "newer\n");
    sb.write("r/u", "untracked\n");                     // "??"
    sb.remove("r/t");                                   // " T"
    sb.symlink("m", "r/t");
    sb.remove("r/st");                                  // "T "
    sb.symlink("m", "r/st");
    sb.git("r", {"add", "st"});

    auto st = sb.status("r");
    INFO(sb.last_raw);
    CHECK(st.branch == "main");
    CHECK_FALSE(st.upstream);
    CHECK_FALSE(st.detached);
    CHECK(st.ahead == 0);
    CHECK(st.behind == 0);
    CHECK(st.files.size() == 10);
    check_file(st, "m", ' ', 'M', "modified");
    check_file(st, "sm", 'M', ' ', "modified");
    check_file(st, "mm", 'M', 'M', "modified");
    check_file(st, "d", ' ', 'D', "deleted");
    check_file(st, "sd", 'D', ' ', "deleted");
    check_file(st, "a", 'A', ' ', "added");
    check_file(st, "am", 'A', 'M', "added");
    check_file(st, "u", '?', '?', "untracked");
    check_file(st, "t", ' ', 'T', "typechange");
    check_file(st, "st", 'T', ' ', "typechange");
    CHECK(st.has_staged());
    CHECK(st.has_untracked());
    CHECK_FALSE(st.has_conflicts());
    CHECK_FALSE(st.is_clean());

    sb.git("r", {"add", "-A"});
    sb.git("r", {"commit", "-q", "-m", "all"});
    auto clean = sb.status("r");
    CHECK(clean.is_clean());
    CHECK(clean.branch == "main");
}

TEST_CASE("parse_status: real git, renames and copies", "[git]") {
    sandbox sb;
    sb.git("", {"init", "-q", "r"});
    std::string body;
    for (int i = 0; i < 20; ++i) body += "line " + std::to_string(i) + "\n";
    sb.write("r/old.txt", body);
    sb.write("r/moved.txt", "moved " + body);
    sb.write("r/g", "copy " + body);
    sb.write("r/w", "worktree " + body);
    sb.git("r", {"add", "."});
    sb.git("r", {"commit", "-q", "-m", "base"});

    fs::create_directories(sb.path("r/dir"));
    sb.git("r", {"mv", "old.txt", "dir/new name.txt"});   // "R " into a quoted name
    sb.git("r", {"mv", "moved.txt", "moved2.txt"});       // "RM": renamed, then changed
    sb.write("r/moved2.txt", "moved " + body + "extra\n");
    std::filesystem::copy_file(sb.path("r/g"), sb.path("r/gcopy"));  // "C " (copy detection on)
    sb.write("r/g", "copy " + body + "changed\n");
    sb.git("r", {"add", "g", "gcopy"});
    std::filesystem::rename(sb.path("r/w"), sb.path("r/w2"));         // " R": intent-to-add rename
    sb.git("r", {"add", "-N", "w2"});

    auto st = sb.status("r", {{"status.renames", "copies"}});
    INFO(sb.last_raw);
    CHECK(st.files.size() == 5);
    check_file(st, "\"dir/new name.txt\"", 'R', ' ', "renamed", "old.txt");
    check_file(st, "moved2.txt", 'R', 'M', "renamed", "moved.txt");
    check_file(st, "g", 'M', ' ', "modified");
    check_file(st, "gcopy", 'C', ' ', "copied", "g");
    check_file(st, "w2", ' ', 'R', "renamed", "w");
    CHECK(st.has_staged());
    CHECK_FALSE(st.has_untracked());
}

TEST_CASE("parse_status: real git, every conflict code", "[git]") {
    sandbox sb;
    SECTION("UU, AA, UD, DU") {
        sb.git("", {"init", "-q", "c"});
        for (auto f : {"uu", "ud", "du"}) sb.write("c/"s + f, "base "s + f + "\n");
        sb.git("c", {"add", "."});
        sb.git("c", {"commit", "-q", "-m", "base"});
        sb.git("c", {"checkout", "-q", "-b", "theirs"});
        sb.write("c/uu", "theirs\n");
        sb.remove("c/ud");
        sb.write("c/du", "theirs\n");
        sb.write("c/aa", "theirs\n");
        sb.git("c", {"add", "-A"});
        sb.git("c", {"commit", "-q", "-m", "theirs"});
        sb.git("c", {"checkout", "-q", "main"});
        sb.write("c/uu", "ours\n");
        sb.write("c/ud", "ours\n");
        sb.remove("c/du");
        sb.write("c/aa", "ours\n");
        sb.git("c", {"add", "-A"});
        sb.git("c", {"commit", "-q", "-m", "ours"});
        sb.git_fails("c", {"merge", "theirs"});

        auto st = sb.status("c");
        INFO(sb.last_raw);
        CHECK(st.branch == "main");
        REQUIRE(st.files.size() == 4);
        check_file(st, "uu", 'U', 'U', "conflict");
        check_file(st, "aa", 'A', 'A', "conflict");  // both added: unmerged (WIRE says "added")
        check_file(st, "ud", 'U', 'D', "conflict");
        check_file(st, "du", 'D', 'U', "conflict");
        CHECK(st.has_conflicts());
        CHECK(st.has_staged());
    }
    SECTION("DD, AU, UA (rename/rename)") {
        sb.git("", {"init", "-q", "r"});
        sb.write("r/f", "l1\nl2\nl3\nl4\nl5\nl6\nl7\nl8\n");
        sb.git("r", {"add", "."});
        sb.git("r", {"commit", "-q", "-m", "base"});
        sb.git("r", {"checkout", "-q", "-b", "other"});
        sb.git("r", {"mv", "f", "fa"});
        sb.git("r", {"commit", "-q", "-m", "to fa"});
        sb.git("r", {"checkout", "-q", "main"});
        sb.git("r", {"mv", "f", "fb"});
        sb.git("r", {"commit", "-q", "-m", "to fb"});
        sb.git_fails("r", {"merge", "other"});

        auto st = sb.status("r");
        INFO(sb.last_raw);
        REQUIRE(st.files.size() == 3);
        check_file(st, "f", 'D', 'D', "conflict");  // both deleted: unmerged (WIRE says "deleted")
        check_file(st, "fa", 'U', 'A', "conflict");
        check_file(st, "fb", 'A', 'U', "conflict");
        CHECK(st.has_conflicts());
    }
}

TEST_CASE("parse_status: real git, branches, upstreams and detached HEAD", "[git]") {
    sandbox sb;
    sb.git("", {"init", "-q", "--bare", "remote.git"});
    sb.git("", {"init", "-q", "w"});
    sb.git("w", {"remote", "add", "origin", "../remote.git"});

    SECTION("a repository without commits") {
        auto st = sb.status("w");
        INFO(sb.last_raw);
        CHECK(sb.last_raw == "## No commits yet on main\n");
        CHECK(st.branch == "main");
        CHECK_FALSE(st.upstream);
        CHECK_FALSE(st.detached);
        CHECK(st.is_clean());
        sb.write("w/a", "a\n");
        sb.git("w", {"add", "a"});
        sb.write("w/u", "u\n");
        auto st2 = sb.status("w");
        CHECK(st2.branch == "main");
        check_file(st2, "a", 'A', ' ', "added");
        check_file(st2, "u", '?', '?', "untracked");
    }

    sb.git("w", {"commit", "-q", "--allow-empty", "-m", "c1"});

    SECTION("no upstream") {
        auto st = sb.status("w");
        CHECK(sb.last_raw == "## main\n");
        CHECK(st.branch == "main");
        CHECK_FALSE(st.upstream);
    }

    SECTION("ahead, behind, both, gone") {
        sb.git("w", {"push", "-q", "-u", "origin", "main"});
        auto even = sb.status("w");
        INFO(sb.last_raw);
        CHECK(even.branch == "main");
        CHECK(even.upstream == "origin/main");
        CHECK((even.ahead == 0 && even.behind == 0));

        sb.git("w", {"commit", "-q", "--allow-empty", "-m", "c2"});
        auto ahead = sb.status("w");
        CHECK(sb.last_raw == "## main...origin/main [ahead 1]\n");
        CHECK((ahead.ahead == 1 && ahead.behind == 0));

        sb.git("w", {"push", "-q"});
        sb.git("w", {"reset", "-q", "--hard", "HEAD~1"});
        auto behind = sb.status("w");
        CHECK(sb.last_raw == "## main...origin/main [behind 1]\n");
        CHECK((behind.ahead == 0 && behind.behind == 1));

        for (int i = 0; i < 12; ++i) sb.git("w", {"commit", "-q", "--allow-empty", "-m", "n" + std::to_string(i)});
        auto both = sb.status("w");
        CHECK(sb.last_raw == "## main...origin/main [ahead 12, behind 1]\n");
        CHECK(both.branch == "main");
        CHECK(both.upstream == "origin/main");
        CHECK((both.ahead == 12 && both.behind == 1));

        sb.git("w", {"checkout", "-q", "-b", "feature"});
        sb.git("w", {"push", "-q", "-u", "origin", "feature"});
        sb.git("w", {"push", "-q", "origin", "--delete", "feature"});
        sb.git("w", {"fetch", "-q", "--prune"});
        auto gone = sb.status("w");
        CHECK(sb.last_raw == "## feature...origin/feature [gone]\n");
        CHECK(gone.branch == "feature");
        CHECK(gone.upstream == "origin/feature");
        CHECK((gone.ahead == 0 && gone.behind == 0));
    }

    SECTION("an unborn branch with an upstream") {
        sb.git("w", {"push", "-q", "origin", "main"});
        sb.git("", {"init", "-q", "u"});
        sb.git("u", {"remote", "add", "origin", "../remote.git"});
        sb.git("u", {"fetch", "-q"});
        sb.git("u", {"config", "branch.main.remote", "origin"});
        sb.git("u", {"config", "branch.main.merge", "refs/heads/main"});
        auto st = sb.status("u");
        INFO(sb.last_raw);
        CHECK(sb.last_raw.rfind("## No commits yet on main...origin/main", 0) == 0);
        CHECK(st.branch == "main");  // the Python SDK says "No commits yet on main"
        CHECK(st.upstream == "origin/main");
    }

    SECTION("detached HEAD") {
        sb.git("w", {"commit", "-q", "--allow-empty", "-m", "c2"});
        sb.git("w", {"checkout", "-q", "--detach", "HEAD~1"});
        sb.write("w/x", "x\n");
        auto st = sb.status("w");
        INFO(sb.last_raw);
        CHECK(st.detached);
        CHECK_FALSE(st.branch);
        CHECK_FALSE(st.upstream);
        check_file(st, "x", '?', '?', "untracked");
    }

    SECTION("branch names resembling the detached forms") {
        for (std::string name : {"HEAD-fix", "detached-work", "feature/x.y"}) {
            sb.git("w", {"checkout", "-q", "-b", name});
            auto st = sb.status("w");
            INFO(sb.last_raw);
            CHECK_FALSE(st.detached);
            CHECK(st.branch == name);
        }
    }
}

TEST_CASE("parse_status: real git, unusual file names stay C-quoted", "[git]") {
    sandbox sb;
    sb.git("", {"init", "-q", "n"});
    const std::vector<std::pair<std::string, std::string>> names = {
        {"plain.txt", "plain.txt"},
        {"a b", "\"a b\""},
        {"q\"u", "\"q\\\"u\""},
        {"n\nl", "\"n\\nl\""},
        {"t\tab", "\"t\\tab\""},
        {"bs\\x", "\"bs\\\\x\""},
        {"x -> y", "\"x -> y\""},
        {"\xc3\xa9", "\"\\303\\251\""},
        {"it's", "it's"},
    };
    for (auto& [name, shown] : names) sb.write("n/" + name, "same\n" + name);

    auto st = sb.status("n");
    INFO(sb.last_raw);
    REQUIRE(st.files.size() == names.size());
    for (auto& [name, shown] : names) check_file(st, shown, '?', '?', "untracked");

    auto raw = sb.status("n", {{"core.quotePath", "false"}});
    check_file(raw, "\xc3\xa9", '?', '?', "untracked");  // non-ASCII unquoted; the rest as before
    check_file(raw, "\"a b\"", '?', '?', "untracked");

    sb.git("n", {"add", "."});
    sb.git("n", {"commit", "-q", "-m", "names"});
    sb.git("n", {"mv", "x -> y", "z w"});
    sb.git("n", {"mv", "\xc3\xa9", "\xc3\xbc"});
    sb.git("n", {"mv", "plain.txt", "a -> b"});
    auto ren = sb.status("n");
    INFO(sb.last_raw);
    REQUIRE(ren.files.size() == 3);
    check_file(ren, "\"z w\"", 'R', ' ', "renamed", "\"x -> y\"");
    check_file(ren, "\"\\303\\274\"", 'R', ' ', "renamed", "\"\\303\\251\"");
    check_file(ren, "\"a -> b\"", 'R', ' ', "renamed", "plain.txt");
}

// =====================================================================
// Branch parsing (§14.7)
// =====================================================================

TEST_CASE("parse_branches: literals", "[git]") {
    using B = std::vector<git_branch>;
    CHECK(parse_branches("") == B{});
    CHECK(parse_branches("\n\n \n") == B{});
    CHECK(parse_branches("main\t*\n") == B{{"main", true}});
    CHECK(parse_branches("main\t*\ndev\t \nfeature\t \n") == B{{"main", true}, {"dev", false}, {"feature", false}});
    CHECK(parse_branches("main\t \ndev\t \n") == B{{"main", false}, {"dev", false}});
    CHECK(parse_branches("  main\t*  \r\n") == B{{"main", true}});
    CHECK(parse_branches("main") == B{{"main", false}});
    CHECK(parse_branches("a\t*\tx\n") == B{{"a", true}});
    CHECK(parse_branches("a\tb\tc\n") == B{{"a", false}});
    CHECK(parse_branches("a\t**\n") == B{{"a", false}});
    CHECK(parse_branches("\t*\n") == B{{"*", false}});  // leading tab stripped, as Python's strip()
    CHECK(parse_branches("(HEAD detached at 1a2b3c4)\t*\nmain\t \n") ==
          B{{"(HEAD detached at 1a2b3c4)", true}, {"main", false}});
}

TEST_CASE("parse_branches: real git", "[git]") {
    sandbox sb;
    sb.git("", {"init", "-q", "r"});
    CHECK(sb.branches("r").empty());  // no commits: no branches
    sb.git("r", {"commit", "-q", "--allow-empty", "-m", "c1"});
    sb.git("r", {"branch", "feature/x"});
    sb.git("r", {"branch", "HEAD-fix"});
    auto b = sb.branches("r");
    INFO(sb.last_raw);
    CHECK(b == std::vector<git_branch>{{"HEAD-fix", false}, {"feature/x", false}, {"main", true}});

    sb.git("r", {"checkout", "-q", "feature/x"});
    auto b2 = sb.branches("r");
    CHECK(b2 == std::vector<git_branch>{{"HEAD-fix", false}, {"feature/x", true}, {"main", false}});

    sb.git("r", {"checkout", "-q", "--detach"});
    auto b3 = sb.branches("r");
    INFO(sb.last_raw);
    REQUIRE(b3.size() == 4);
    CHECK(b3[0].name.rfind("(HEAD detached at ", 0) == 0);
    CHECK(b3[0].is_current);
    CHECK(std::none_of(b3.begin() + 1, b3.end(), [](auto& x) { return x.is_current; }));
}

// =====================================================================
// Fuzz: the parsers never throw
// =====================================================================

TEST_CASE("parse_status / parse_branches: arbitrary input never throws", "[git]") {
    std::uint32_t seed = 0xf022u;
    if (auto* env = std::getenv("WRENN_TEST_SEED")) seed = static_cast<std::uint32_t>(std::strtoul(env, nullptr, 0));
    std::cout << "git parser fuzz test: seed " << seed << "\n";
    std::mt19937 rng(seed);
    const std::vector<std::string> tokens = {
        "## ", "\n", "\r", "\t", " ", " [", "]", "...", " -> ", "\"", "\\", "?? ", "??", "ahead ", "behind ",
        "HEAD", "HEAD (detached at ", "HEAD (", ")", "No commits yet on ", "Initial commit on ", "detached",
        "UU ", "R  ", " R ", "C  ", "M", "A", "D", "T", "U", "!!", "*", "0", "7", "99999999999999999999",
        "main", "origin/main", "\xc3\xa9", "\xff", std::string(1, '\0'), ",", "-",
    };
    constexpr int count = 5000;
    const std::set<std::string_view> labels = {"conflict", "renamed", "copied", "deleted", "added",
                                               "modified", "typechange", "untracked", "unknown"};
    for (int i = 0; i < count; ++i) {
        std::string s;
        auto n = rng() % 40;
        for (unsigned k = 0; k < n; ++k) {
            if (rng() % 3 == 0) s += static_cast<char>(rng() % 256);
            else s += tokens[rng() % tokens.size()];
        }
        INFO("seed " << seed << ", case " << i);
        git_status st;
        REQUIRE_NOTHROW(st = parse_status(s));
        CHECK(st.ahead >= 0);
        CHECK(st.behind >= 0);
        for (auto& f : st.files) {
            CHECK(s.find(f.path) != std::string::npos);
            CHECK(f.path.find('\n') == std::string::npos);
            CHECK(labels.count(f.status()) == 1);
        }
        std::vector<git_branch> br;
        REQUIRE_NOTHROW(br = parse_branches(s));
        for (auto& b : br) {
            CHECK_FALSE(b.name.empty());
            CHECK(b.name.find('\n') == std::string::npos);
            CHECK(b.name.find('\t') == std::string::npos);
        }
    }
}

// =====================================================================
// Credentials (§14.4)
// =====================================================================

TEST_CASE("embed_credentials", "[git]") {
    CHECK(embed_credentials("https://github.com/user/repo.git", "user", "token") ==
          "https://user:token@github.com/user/repo.git");
    CHECK(embed_credentials("http://example.com/r", "u", "p") == "http://u:p@example.com/r");
    CHECK(embed_credentials("https://git.example.com:8443/repo.git", "u", "p") ==
          "https://u:p@git.example.com:8443/repo.git");
    CHECK(embed_credentials("HTTPS://GitHub.COM/Owner/Repo", "u", "p") == "https://u:p@github.com/Owner/Repo");
    CHECK(embed_credentials("https://old:secret@host/x", "u", "p") == "https://u:p@host/x");
    CHECK(embed_credentials("https://old@host/x", "u", "p") == "https://u:p@host/x");
    CHECK(embed_credentials("https://a:b@c@host/x", "u", "p") == "https://u:p@host/x");  // last '@' ends userinfo
    CHECK(embed_credentials("https://h/r.git?a=1&b=2#frag", "u", "p") == "https://u:p@h/r.git?a=1&b=2#frag");
    CHECK(embed_credentials("https://h?q", "u", "p") == "https://u:p@h?q");
    CHECK(embed_credentials("https://h", "u", "p") == "https://u:p@h");
    CHECK(embed_credentials("https://h:0/x", "u", "p") == "https://u:p@h/x");      // port 0 dropped
    CHECK(embed_credentials("https://h:/x", "u", "p") == "https://u:p@h/x");       // empty port dropped
    CHECK(embed_credentials("https://h:0080/x", "u", "p") == "https://u:p@h:80/x"); // normalised
    CHECK(embed_credentials("https://h:65535/x", "u", "p") == "https://u:p@h:65535/x");
    CHECK(embed_credentials("https://[::1]:8080/r", "u", "p") == "https://u:p@[::1]:8080/r");
    CHECK(embed_credentials("https://[FE80::1]/r", "u", "p") == "https://u:p@[fe80::1]/r");
    // Token characters pass; what would break the URL is percent-encoded.
    CHECK(embed_credentials("https://h/r", "x-access-token", "ghp_AZaz09-._~") ==
          "https://x-access-token:ghp_AZaz09-._~@h/r");
    CHECK(embed_credentials("https://h/r", "u", "!$&'()*+,;=") == "https://u:!$&'()*+,;=@h/r");
    CHECK(embed_credentials("https://h/r", "a:b", "p@ss/w:rd#?% x") == "https://a%3Ab:p%40ss%2Fw%3Ard%23%3F%25%20x@h/r");
    CHECK(embed_credentials("https://h/r", "\xc3\xa9", "\n") == "https://%C3%A9:%0A@h/r");

    for (auto url : {"git@github.com:o/r.git", "ssh://git@h/r", "file:///tmp/r", "/local/path", "ftp://h/x", "",
                     "relative/dir", "httpx://h/x"})
        CHECK_USAGE_MESSAGE(embed_credentials(url, "u", "p"), "Only http(s) URLs support embedded credentials.");
    for (auto url : {"https:///x", "https://", "https:h/x", "https://:8080/x", "https://u:p@/x", "https://[]/x"})
        CHECK_USAGE_CONTAINS(embed_credentials(url, "u", "p"), "no host");
    CHECK_USAGE_CONTAINS(embed_credentials("https://h:abc/x", "u", "p"), "not a number");
    CHECK_USAGE_CONTAINS(embed_credentials("https://h:65536/x", "u", "p"), "out of range");
    CHECK_USAGE_CONTAINS(embed_credentials("https://h:99999999999999999999/x", "u", "p"), "out of range");
    CHECK_USAGE_CONTAINS(embed_credentials("https://[::1/x", "u", "p"), "closing ']'");
    CHECK_USAGE_CONTAINS(embed_credentials("https://[::1]x/x", "u", "p"), "after the IPv6 host");
    CHECK_USAGE_CONTAINS(embed_credentials("https://h]/x", "u", "p"), "'['");
    // The error does not echo the URL's existing secret.
    auto e = usage_error_of([] { embed_credentials("https://old:hunter2@h:bad/x", "u", "p"); });
    CHECK(e.message().find("hunter2") == std::string::npos);
}

TEST_CASE("strip_credentials", "[git]") {
    CHECK(strip_credentials("https://user:token@github.com/user/repo.git") == "https://github.com/user/repo.git");
    CHECK(strip_credentials("https://u@h/x") == "https://h/x");
    CHECK(strip_credentials("https://:p@h/x") == "https://h/x");
    CHECK(strip_credentials("https://u:p@h:8443/x?q=1#f") == "https://h:8443/x?q=1#f");
    CHECK(strip_credentials("HTTPS://u:p@GitHub.COM/X") == "https://github.com/X");
    CHECK(strip_credentials("https://u:p@ss@h/x") == "https://h/x");
    CHECK(strip_credentials("https://u:p@h:0/x") == "https://h/x");
    CHECK(strip_credentials("https://u:p@[::1]:8080/x") == "https://[::1]:8080/x");
    CHECK(strip_credentials("https://u:p@h:bad/x") == "https://h:bad/x");  // never throws
    CHECK(strip_credentials("https://u:p@") == "https://");
    // Unchanged: not http(s), or no username and no password.
    for (auto url : {"git@github.com:o/r.git", "ssh://user:pw@h/r", "file:///x", "/abs/path", "",
                     "https://github.com/o/r", "HTTPS://GitHub.com/X", "https://@h/x", "https://:@h/x",
                     "https:u:p@h/x", "https://h/p@q"})
        CHECK(strip_credentials(url) == url);
}

TEST_CASE("credentials: strip(embed(url)) and git's own reading of the embedded URL", "[git]") {
    std::mt19937 rng(0xc0ffee);
    const std::vector<std::pair<std::string, std::string>> urls = {
        {"https://github.com/o/r.git", "https://github.com/o/r.git"},
        {"https://old:pw@Host.example:0443/a/b?c=d#e", "https://host.example:443/a/b?c=d#e"},
        {"http://[::1]:3000/r", "http://[::1]:3000/r"},
    };
    for (int i = 0; i < 500; ++i) {
        std::string u, p;
        for (auto n = 1 + rng() % 12; n > 0; --n) u += static_cast<char>(1 + rng() % 255);
        for (auto n = 1 + rng() % 24; n > 0; --n) p += static_cast<char>(1 + rng() % 255);
        for (auto& [url, stripped] : urls) {
            auto e = embed_credentials(url, u, p);
            INFO(e);
            CHECK(strip_credentials(e) == stripped);
            CHECK(e.find_first_of(" \n\t\"<>\\^`{|}") == std::string::npos);
        }
    }

    // git decodes the credentials from the URL exactly.
    require_git();
    for (auto [user, pass] : std::vector<std::pair<std::string, std::string>>{
             {"user", "token"},
             {"a:b", "p@ss/w:rd#?% x!$&*+'\"\\`"},
             {"x-access-token", "ghp_0123456789abcdefABCDEF"},
             {"\xc3\xa9t\xc3\xa9", "%41%"}}) {
        auto url = embed_credentials("https://github.com:8443/o/r.git", user, pass);
        auto r = run({"git", "credential", "fill"}, {}, {}, {}, "url=" + url + "\n\n");
        INFO(url << "\n" << r.out << r.err);
        REQUIRE(r.exit_code == 0);
        CHECK(r.out.find("host=github.com:8443\n") != std::string::npos);
        CHECK(r.out.find("\nusername=" + user + "\n") != std::string::npos);
        CHECK(r.out.find("\npassword=" + pass + "\n") != std::string::npos);
    }
}

TEST_CASE("clone_url and clone_repo_dir", "[git]") {
    CHECK_USAGE_MESSAGE(clone_url("https://h/r", "", "p"), "Username is required when using a password for git clone.");
    CHECK(clone_url("https://h/r", "u", "") == "https://h/r");
    CHECK(clone_url("https://h/r", "", "") == "https://h/r");
    CHECK(clone_url("git@h:o/r.git", "", "") == "git@h:o/r.git");
    CHECK(clone_url("https://h/r", "u", "p") == "https://u:p@h/r");
    CHECK_USAGE_MESSAGE(clone_url("git@h:o/r.git", "u", "p"), "Only http(s) URLs support embedded credentials.");

    CHECK(clone_repo_dir("https://h/o/repo.git", "", "") == "repo");
    CHECK(clone_repo_dir("https://h/o/repo.git", "", "/work") == "/work/repo");
    CHECK(clone_repo_dir("https://h/o/repo.git", "dest", "") == "dest");
    CHECK(clone_repo_dir("https://h/o/repo.git", "dest", "/work/") == "/work/dest");
    CHECK(clone_repo_dir("https://h/o/repo.git", "/abs", "/work") == "/abs");
    CHECK(clone_repo_dir("git@h:o/repo.git", "", "/work") == std::nullopt);
    CHECK(clone_repo_dir("git@h:o/repo.git", "d", "/work") == "/work/d");
    CHECK(clone_repo_dir("https://h/", "", "/work") == std::nullopt);
}

TEST_CASE("repo_dir_from_url", "[git]") {
    CHECK(repo_dir_from_url("https://github.com/user/repo.git") == "repo");
    CHECK(repo_dir_from_url("https://github.com/user/repo") == "repo");
    CHECK(repo_dir_from_url("http://github.com/user/repo.git/") == "repo");
    CHECK(repo_dir_from_url("https://github.com/user/repo.git//") == "repo");
    CHECK(repo_dir_from_url("https://github.com/user/repo.git?x=1#y") == "repo");
    CHECK(repo_dir_from_url("https://github.com/user/repo.git#y/z") == "repo");
    CHECK(repo_dir_from_url("https://u:p@github.com:8443/user/repo.git") == "repo");
    CHECK(repo_dir_from_url("HTTPS://h/A.GIT") == "A.GIT");  // the suffix test is case-sensitive
    CHECK(repo_dir_from_url("https://h/r.git;params") == "r");
    CHECK(repo_dir_from_url("https://h/r.git.git") == "r.git");
    CHECK(repo_dir_from_url("https://h/a%20b.git") == "a%20b");
    CHECK(repo_dir_from_url("https:h/o/r.git") == "r");  // no authority: the rest is the path
    for (auto url : {"https://h", "https://h/", "https://h/.git", "https://h/..", "https://h/.", "https://h?x/y",
                     "git@github.com:o/repo.git", "ssh://h/o/r.git", "file:///tmp/r.git", "/tmp/r.git", "",
                     "ftp://h/r.git"})
        CHECK(repo_dir_from_url(url) == std::nullopt);
}

TEST_CASE("posix_join", "[git]") {
    CHECK(posix_join("a", "b") == "a/b");
    CHECK(posix_join("a/", "b") == "a/b");
    CHECK(posix_join("a//", "b") == "a//b");
    CHECK(posix_join("", "b") == "b");
    CHECK(posix_join("a", "/b") == "/b");
    CHECK(posix_join("a", "") == "a/");
    CHECK(posix_join("/", "b") == "/b");
    CHECK(posix_join("/work/x", "repo/sub") == "/work/x/repo/sub");
}

// =====================================================================
// Results (§14.2, §14.5)
// =====================================================================

TEST_CASE("is_auth_error: each pattern, any case, stderr only", "[git]") {
    for (std::string p : {"authentication failed", "terminal prompts disabled", "could not read username",
                          "invalid username or password", "access denied", "permission denied", "not authorized"}) {
        INFO(p);
        CHECK(is_auth_error(p));
        CHECK(is_auth_error("fatal: " + p + " for 'https://h/r'\n"));
        std::string upper = p;
        for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        CHECK(is_auth_error(upper));
        std::string mixed = p;
        for (std::size_t i = 0; i < mixed.size(); i += 2)
            mixed[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(mixed[i])));
        CHECK(is_auth_error("x" + mixed + "y"));
        CHECK_FALSE(is_auth_error(p.substr(0, p.size() - 1)));
    }
    // Real git and forge messages.
    CHECK(is_auth_error("fatal: Authentication failed for 'https://github.com/o/r.git/'"));
    CHECK(is_auth_error("fatal: could not read Username for 'https://github.com': terminal prompts disabled"));
    CHECK(is_auth_error("remote: Invalid username or password."));
    CHECK(is_auth_error("git@github.com: Permission denied (publickey)."));
    CHECK(is_auth_error("remote: HTTP Basic: Access denied"));
    CHECK(is_auth_error("remote: You are not authorized to push code"));
    CHECK_FALSE(is_auth_error("remote: Permission to o/r.git denied to someone."));
    CHECK_FALSE(is_auth_error("fatal: repository 'https://github.com/o/r.git/' not found"));
    CHECK_FALSE(is_auth_error("error: pathspec 'foo' did not match any file(s) known to git"));
    CHECK_FALSE(is_auth_error("The requested URL returned error: 403"));
    CHECK_FALSE(is_auth_error(""));
    CHECK_FALSE(is_auth_error("permission\ndenied"));
    // Only the text given is searched: a pattern on stdout is not an auth
    // error (the caller passes stderr alone), and failure_message uses stdout.
    const std::string out = "Authentication failed (but on stdout)";
    CHECK_FALSE(is_auth_error(""));
    CHECK(failure_message("push", out, "", 1) == out);
}

TEST_CASE("failure_message and auth_failure_message", "[git]") {
    CHECK(failure_message("push", "out", "  fatal: bad thing \n", 1) == "fatal: bad thing");
    CHECK(failure_message("push", "  some output\n", " \n\t", 1) == "some output");
    CHECK(failure_message("push", "", "", 128) == "git push failed (exit 128)");
    CHECK(failure_message("clone (strip credentials)", "\n", "\r\n", -1) ==
          "git clone (strip credentials) failed (exit -1)");
    CHECK(failure_message("x", "", "line1\nline2\n", 2) == "line1\nline2");
    CHECK(auth_failure_message("clone") == "git clone: authentication failed");
}

// =====================================================================
// argv builders (§14.3)
// =====================================================================

TEST_CASE("argv builders: every flag", "[git]") {
    SECTION("clone") {
        CHECK(clone_argv("https://github.com/user/repo.git", "", "", std::nullopt) ==
              strings{"git", "clone", "https://github.com/user/repo.git"});
        CHECK(clone_argv("https://h/r.git", "/tmp/repo", "", std::nullopt) ==
              strings{"git", "clone", "https://h/r.git", "/tmp/repo"});
        CHECK(clone_argv("https://h/r.git", "", "main", std::nullopt) ==
              strings{"git", "clone", "--branch", "main", "--single-branch", "https://h/r.git"});
        CHECK(clone_argv("https://h/r.git", "", "", 1) == strings{"git", "clone", "--depth", "1", "https://h/r.git"});
        CHECK(clone_argv("https://h/r.git", "/tmp/repo", "dev", 5) ==
              strings{"git", "clone", "--branch", "dev", "--single-branch", "--depth", "5", "https://h/r.git",
                      "/tmp/repo"});
        CHECK(clone_argv("git@github.com:o/r.git", "d", "", std::nullopt) ==
              strings{"git", "clone", "git@github.com:o/r.git", "d"});
    }
    SECTION("init") {
        CHECK(init_argv("", false, "") == strings{"git", "init", "."});
        CHECK(init_argv("/repo", false, "") == strings{"git", "init", "/repo"});
        CHECK(init_argv("/repo", true, "") == strings{"git", "init", "--bare", "/repo"});
        CHECK(init_argv("/repo", false, "main") == strings{"git", "init", "--initial-branch", "main", "/repo"});
        CHECK(init_argv("r", true, "trunk") == strings{"git", "init", "--initial-branch", "trunk", "--bare", "r"});
    }
    SECTION("add") {
        CHECK(add_argv({}, false) == strings{"git", "add", "."});
        CHECK(add_argv({}, true) == strings{"git", "add", "-A"});
        CHECK(add_argv({"file1.py", "file2.py"}, false) == strings{"git", "add", "--", "file1.py", "file2.py"});
        CHECK(add_argv({"-weird", "a b"}, true) == strings{"git", "add", "--", "-weird", "a b"});
    }
    SECTION("commit") {
        CHECK(commit_argv("initial commit", false, "", "") == strings{"git", "commit", "-m", "initial commit"});
        CHECK(commit_argv("empty", true, "", "") == strings{"git", "commit", "-m", "empty", "--allow-empty"});
        CHECK(commit_argv("msg", false, "Bob", "") == strings{"git", "-c", "user.name=Bob", "commit", "-m", "msg"});
        CHECK(commit_argv("msg", false, "", "bob@test.com") ==
              strings{"git", "-c", "user.email=bob@test.com", "commit", "-m", "msg"});
        CHECK(commit_argv("-m looks like a flag", true, "Bob B", "b@t") ==
              strings{"git", "-c", "user.name=Bob B", "-c", "user.email=b@t", "commit", "-m", "-m looks like a flag",
                      "--allow-empty"});
    }
    SECTION("push") {
        CHECK(push_argv("", "", false, false) == strings{"git", "push", "origin"});
        CHECK(push_argv("origin", "main", false, false) == strings{"git", "push", "origin", "main"});
        CHECK(push_argv("", "", true, false) == strings{"git", "push", "--force", "origin"});
        CHECK(push_argv("", "", false, true) == strings{"git", "push", "--set-upstream", "origin"});
        CHECK(push_argv("up", "HEAD:refs/heads/x", true, true) ==
              strings{"git", "push", "--force", "--set-upstream", "up", "HEAD:refs/heads/x"});
        CHECK(push_argv("origin", "+main", false, false) == strings{"git", "push", "origin", "+main"});
    }
    SECTION("pull") {
        CHECK(pull_argv("", "", false, false) == strings{"git", "pull", "origin"});
        CHECK(pull_argv("", "", true, false) == strings{"git", "pull", "--rebase", "origin"});
        CHECK(pull_argv("", "", false, true) == strings{"git", "pull", "--ff-only", "origin"});
        CHECK(pull_argv("upstream", "feature", true, true) ==
              strings{"git", "pull", "--rebase", "--ff-only", "upstream", "feature"});
    }
    SECTION("status and branches") {
        CHECK(status_argv() == strings{"git", "status", "--porcelain=v1", "--branch"});
        CHECK(branches_argv() == strings{"git", "branch", "--format=%(refname:short)\t%(HEAD)"});
    }
    SECTION("branch operations") {
        CHECK(create_branch_argv("feat", "") == strings{"git", "checkout", "-b", "feat"});
        CHECK(create_branch_argv("feat", "abc123") == strings{"git", "checkout", "-b", "feat", "abc123"});
        CHECK(checkout_branch_argv("main") == strings{"git", "checkout", "main", "--"});
        CHECK(delete_branch_argv("old", false) == strings{"git", "branch", "-d", "old"});
        CHECK(delete_branch_argv("old", true) == strings{"git", "branch", "-D", "old"});
    }
    SECTION("remotes") {
        CHECK(remote_add_argv("origin", "https://example.com/repo.git", false) ==
              strings{"git", "remote", "add", "origin", "https://example.com/repo.git"});
        CHECK(remote_add_argv("origin", "https://example.com/repo.git", true) ==
              strings{"git", "remote", "add", "-f", "origin", "https://example.com/repo.git"});
        CHECK(remote_get_argv("origin") == strings{"git", "remote", "get-url", "origin"});
        CHECK(remote_get_argv("") == strings{"git", "remote", "get-url", "origin"});
        CHECK(remote_get_argv("up") == strings{"git", "remote", "get-url", "up"});
        CHECK(remote_set_url_argv("origin", "https://new.url/repo.git") ==
              strings{"git", "remote", "set-url", "origin", "https://new.url/repo.git"});
    }
    SECTION("reset") {
        CHECK(reset_argv(std::nullopt, "", {}) == strings{"git", "reset"});
        CHECK(reset_argv(git_reset_mode::hard, "", {}) == strings{"git", "reset", "--hard"});
        CHECK(reset_argv(git_reset_mode::soft, "HEAD~1", {}) == strings{"git", "reset", "--soft", "HEAD~1"});
        CHECK(reset_argv(std::nullopt, "", {"file.py"}) == strings{"git", "reset", "--", "file.py"});
        CHECK(reset_argv(git_reset_mode::mixed, "HEAD", {"a", "b"}) ==
              strings{"git", "reset", "--mixed", "HEAD", "--", "a", "b"});
        CHECK(reset_argv(git_reset_mode::merge, "", {}) == strings{"git", "reset", "--merge"});
        CHECK(reset_argv(git_reset_mode::keep, "", {}) == strings{"git", "reset", "--keep"});
    }
    SECTION("restore") {
        CHECK(restore_argv({"file.py"}, false, false, "") == strings{"git", "restore", "--worktree", "--", "file.py"});
        CHECK(restore_argv({"file.py"}, false, true, "") == strings{"git", "restore", "--worktree", "--", "file.py"});
        CHECK(restore_argv({"file.py"}, true, false, "") == strings{"git", "restore", "--staged", "--", "file.py"});
        CHECK(restore_argv({"a", "b"}, true, true, "") ==
              strings{"git", "restore", "--worktree", "--staged", "--", "a", "b"});
        CHECK(restore_argv({"file.py"}, false, false, "HEAD~1") ==
              strings{"git", "restore", "--worktree", "--source", "HEAD~1", "--", "file.py"});
    }
    SECTION("config") {
        CHECK(set_config_argv("user.name", "Bob", git_config_scope::local, "/repo") ==
              strings{"git", "-C", "/repo", "config", "--local", "user.name", "Bob"});
        CHECK(set_config_argv("user.name", "Bob", git_config_scope::local, "") ==
              strings{"git", "config", "--local", "user.name", "Bob"});
        CHECK(set_config_argv("user.name", "Bob", git_config_scope::global, "/repo") ==
              strings{"git", "config", "--global", "user.name", "Bob"});
        CHECK(set_config_argv("k.v", "", git_config_scope::system, "") ==
              strings{"git", "config", "--system", "k.v", ""});
        CHECK(get_config_argv("user.name", git_config_scope::global, "") ==
              strings{"git", "config", "--global", "--get", "user.name"});
        CHECK(get_config_argv("user.name", git_config_scope::local, "/r") ==
              strings{"git", "-C", "/r", "config", "--local", "--get", "user.name"});
        CHECK(get_config_argv("user.name", git_config_scope::system, "/r") ==
              strings{"git", "config", "--system", "--get", "user.name"});
    }
}

TEST_CASE("config scope parsing", "[git]") {
    CHECK(parse_config_scope("local") == git_config_scope::local);
    CHECK(parse_config_scope(" Local ") == git_config_scope::local);
    CHECK(parse_config_scope("GLOBAL") == git_config_scope::global);
    CHECK(parse_config_scope("system\n") == git_config_scope::system);
    for (auto s : {"", " ", "loc", "locals", "local global", "worktree", "--local"}) CHECK_FALSE(parse_config_scope(s));
    CHECK(require_config_scope("\tglobal") == git_config_scope::global);
    CHECK_USAGE_MESSAGE(require_config_scope("invalid"), "Git config scope must be one of: local, global, system.");
}

TEST_CASE("credential_approve_command", "[git]") {
    CHECK(credential_approve_command("user", "token123", "github.com", "https") ==
          "printf %s 'protocol=https\nhost=github.com\nusername=user\npassword=token123\n\n' | git credential approve");
    CHECK(credential_approve_command("u", "p", "", "") ==
          "printf %s 'protocol=https\nhost=github.com\nusername=u\npassword=p\n\n' | git credential approve");
    CHECK(credential_approve_command("u", "p", "  gitlab.example:8443 \n", " http\t") ==
          "printf %s 'protocol=http\nhost=gitlab.example:8443\nusername=u\npassword=p\n\n' | git credential approve");
    CHECK(credential_approve_command("u", "it's", "h", "https") ==
          "printf %s 'protocol=https\nhost=h\nusername=u\npassword=it'\"'\"'s\n\n' | git credential approve");

    CHECK_USAGE_MESSAGE(credential_approve_command("", "p", "", ""), "Both username and password are required.");
    CHECK_USAGE_MESSAGE(credential_approve_command("u", "", "", ""), "Both username and password are required.");
    CHECK_USAGE_MESSAGE(credential_approve_command("u\n", "p", "", ""), "Credentials must not contain newline characters.");
    CHECK_USAGE_MESSAGE(credential_approve_command("u", "to\nken", "", ""),
                        "Credentials must not contain newline characters.");
    CHECK_USAGE_CONTAINS(credential_approve_command("u", "p", "git\nhub.com", ""), "host must not contain newline");
    CHECK_USAGE_CONTAINS(credential_approve_command("u", "p", "", "ht\ntps"), "protocol must not contain newline");

    // The real shell and git store exactly these credentials.
    sandbox sb;
    auto store = sb.path("creds");
    kv_list helper = {{"credential.helper", "store --file=" + store}};
    for (auto [user, pass] : std::vector<std::pair<std::string, std::string>>{
             {"user", "token"}, {"a b'c", "p@ss w'o\"rd$`\\%!*?;|&<>(){}~#"}, {"\xc3\xa9", "\xe2\x9c\x93\t\x01"}}) {
        std::filesystem::remove(store);
        auto r = run_shell(credential_approve_command(user, pass, " example.com ", ""), sb.path(), helper);
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        auto fill = run({"git", "credential", "fill"}, sb.path(), helper, {}, "protocol=https\nhost=example.com\n\n");
        INFO(fill.out << fill.err);
        REQUIRE(fill.exit_code == 0);
        CHECK(fill.out == "protocol=https\nhost=example.com\nusername=" + user + "\npassword=" + pass + "\n");
    }
}

TEST_CASE("check_user_identity", "[git]") {
    CHECK_NOTHROW(check_user_identity("Bob", "b@t"));
    CHECK_USAGE_MESSAGE(check_user_identity("", "b@t"), "Both name and email are required.");
    CHECK_USAGE_MESSAGE(check_user_identity("Bob", ""), "Both name and email are required.");
}

TEST_CASE("argv builders: refusals", "[git]") {
    const std::optional<int> none;
    // Empty required values.
    CHECK_USAGE_MESSAGE(clone_argv("", "", "", none), "git.clone: the URL is empty");
    CHECK_USAGE_MESSAGE(commit_argv("", false, "", ""), "git.commit: the message is empty");
    CHECK_USAGE_MESSAGE(create_branch_argv("", ""), "git.create_branch: the branch name is empty");
    CHECK_USAGE_MESSAGE(checkout_branch_argv(""), "git.checkout_branch: the branch name is empty");
    CHECK_USAGE_MESSAGE(delete_branch_argv("", true), "git.delete_branch: the branch name is empty");
    CHECK_USAGE_MESSAGE(remote_add_argv("", "https://h/r", false), "git.remote_add: the remote name is empty");
    CHECK_USAGE_MESSAGE(remote_add_argv("o", "", false), "git.remote_add: the URL is empty");
    CHECK_USAGE_MESSAGE(remote_set_url_argv("", "https://h/r"), "git.remote_set_url: the remote name is empty");
    CHECK_USAGE_MESSAGE(remote_set_url_argv("o", ""), "git.remote_set_url: the URL is empty");
    CHECK_USAGE_MESSAGE(set_config_argv("", "v", git_config_scope::local, ""), "git.set_config: the key is empty");
    CHECK_USAGE_MESSAGE(get_config_argv("", git_config_scope::global, ""), "git.get_config: the key is empty");
    CHECK_USAGE_MESSAGE(restore_argv({}, false, false, ""), "At least one path is required.");
    CHECK_USAGE_MESSAGE(restore_argv({}, true, true, "HEAD"), "At least one path is required.");

    // Values git would read as options.
    const std::string opt = "' begins with '-', which git would read as an option";
    CHECK_USAGE_MESSAGE(clone_argv("--upload-pack=touch /tmp/x", "", "", none),
                        "git.clone: the URL begins with '-', which git would read as an option");
    CHECK_USAGE_MESSAGE(clone_argv("https://h/r", "-d", "", none),
                        "git.clone: the destination '-d" + opt + "; write './-d' for such a directory");
    CHECK_USAGE_MESSAGE(clone_argv("https://h/r", "", "-b", none), "git.clone: the branch '-b" + opt);
    CHECK_USAGE_MESSAGE(init_argv("--bare", false, ""),
                        "git.init: the path '--bare" + opt + "; write './--bare' for such a directory");
    CHECK_USAGE_MESSAGE(init_argv("r", false, "-x"), "git.init: the initial branch '-x" + opt);
    CHECK_USAGE_MESSAGE(push_argv("-f", "", false, false), "git.push: the remote '-f" + opt);
    CHECK_USAGE_MESSAGE(push_argv("origin", "--all", false, false), "git.push: the branch '--all" + opt);
    CHECK_USAGE_MESSAGE(pull_argv("--x", "", false, false), "git.pull: the remote '--x" + opt);
    CHECK_USAGE_MESSAGE(pull_argv("", "-b", false, false), "git.pull: the branch '-b" + opt);
    CHECK_USAGE_MESSAGE(create_branch_argv("-f", ""), "git.create_branch: the branch name '-f" + opt);
    CHECK_USAGE_MESSAGE(create_branch_argv("ok", "--orphan"), "git.create_branch: the start point '--orphan" + opt);
    CHECK_USAGE_MESSAGE(checkout_branch_argv("-f"), "git.checkout_branch: the branch name '-f" + opt);
    CHECK_USAGE_MESSAGE(delete_branch_argv("-D", false), "git.delete_branch: the branch name '-D" + opt);
    CHECK_USAGE_MESSAGE(remote_add_argv("-f", "https://h/r", false), "git.remote_add: the remote name '-f" + opt);
    CHECK_USAGE_MESSAGE(remote_add_argv("o", "--mirror=push", false),
                        "git.remote_add: the URL begins with '-', which git would read as an option");
    CHECK_USAGE_MESSAGE(remote_get_argv("--all"), "git.remote_get: the remote name '--all" + opt);
    CHECK_USAGE_MESSAGE(remote_set_url_argv("--push", "https://h/r"), "git.remote_set_url: the remote name '--push" + opt);
    CHECK_USAGE_MESSAGE(remote_set_url_argv("o", "--delete"),
                        "git.remote_set_url: the URL begins with '-', which git would read as an option");
    CHECK_USAGE_MESSAGE(reset_argv(std::nullopt, "--hard", {}), "git.reset: the ref '--hard" + opt);
    CHECK_USAGE_MESSAGE(restore_argv({"a"}, false, false, "-x"), "git.restore: the source '-x" + opt);
    CHECK_USAGE_MESSAGE(set_config_argv("--unset", "v", git_config_scope::local, ""), "git.set_config: the key '--unset" + opt);
    CHECK_USAGE_MESSAGE(get_config_argv("-l", git_config_scope::local, ""), "git.get_config: the key '-l" + opt);

    // Other values.
    CHECK_USAGE_MESSAGE(clone_argv("https://h/r", "", "", 0), "git.clone: depth must be at least 1 (got 0)");
    CHECK_USAGE_MESSAGE(clone_argv("https://h/r", "", "", -3), "git.clone: depth must be at least 1 (got -3)");
    CHECK_USAGE_MESSAGE(add_argv({"a", ""}, false), "git.add: a path in the list is empty");
    CHECK_USAGE_MESSAGE(reset_argv(std::nullopt, "", {""}), "git.reset: a path in the list is empty");
    CHECK_USAGE_MESSAGE(restore_argv({""}, false, false, ""), "git.restore: a path in the list is empty");

    // What is fine: option-like text where git takes it as a value or path.
    CHECK_NOTHROW(commit_argv("-m", false, "-n", "-e"));
    CHECK_NOTHROW(set_config_argv("k.v", "-value", git_config_scope::local, "-dir"));
    CHECK_NOTHROW(add_argv({"-p"}, false));
    CHECK_NOTHROW(clone_argv("https://h/r", "./-d", "", none));
}

// =====================================================================
// The argvs drive the real git
// =====================================================================

TEST_CASE("argv builders drive the real git through /bin/sh", "[git]") {
    sandbox sb;
    auto sh = [&](const strings& argv, const std::string& dir = "", const kv_list& cfg = {}) {
        auto r = run_shell(shell_join(argv), sb.path(dir), cfg);
        INFO(shell_join(argv) << "\nstdout: " << r.out << "\nstderr: " << r.err);
        REQUIRE(r.exit_code == 0);
        return r.out;
    };
    const std::string repo = "my repo 'quoted'";

    sh(init_argv(repo, false, "trunk"));
    sh(init_argv("bare $x.git", true, ""));
    CHECK(fs::exists(sb.path("bare $x.git/HEAD")));
    sb.write(repo + "/a b.txt", "one\n");
    sb.write(repo + "/c$d.txt", "two\n");
    sh(add_argv({"a b.txt"}, false), repo);
    CHECK(sb.status(repo).files.size() == 2);
    sh(add_argv({}, true), repo);
    sh(commit_argv("first: it's \"quoted\" $HOME `x`", false, "Ann O'Neil", "ann@example.invalid"), repo);
    CHECK(sb.git(repo, {"log", "-1", "--format=%s|%an|%ae"}) ==
          "first: it's \"quoted\" $HOME `x`|Ann O'Neil|ann@example.invalid\n");
    sh(commit_argv("empty", true, "", ""), repo);

    sh(create_branch_argv("feature/x", "HEAD~1"), repo);
    auto st = sb.status(repo);
    CHECK(st.branch == "feature/x");
    CHECK(st.is_clean());
    sh(checkout_branch_argv("trunk"), repo);
    sh(delete_branch_argv("feature/x", false), repo);
    CHECK(sb.branches(repo) == std::vector<git_branch>{{"trunk", true}});

    sh(remote_add_argv("origin", "../bare $x.git", false), repo);
    CHECK(sh(remote_get_argv(""), repo) == "../bare $x.git\n");
    sh(push_argv("", "trunk", false, true), repo);
    CHECK(sb.status(repo).upstream == "origin/trunk");
    sh(remote_set_url_argv("origin", "https://u:p@example.invalid/r.git"), repo);
    CHECK(sh(remote_get_argv("origin"), repo) == "https://u:p@example.invalid/r.git\n");
    sh(remote_set_url_argv("origin", strip_credentials("https://u:p@example.invalid/r.git")), repo);
    CHECK(sh(remote_get_argv("origin"), repo) == "https://example.invalid/r.git\n");
    sh(remote_set_url_argv("origin", "../bare $x.git"), repo);

    sb.write(repo + "/a b.txt", "changed\n");
    sh(add_argv({"a b.txt"}, false), repo);
    sh(restore_argv({"a b.txt"}, true, false, ""), repo);  // unstage
    check_file(sb.status(repo), "\"a b.txt\"", ' ', 'M', "modified");
    sh(restore_argv({"a b.txt"}, false, false, ""), repo);  // discard
    CHECK(sb.status(repo).is_clean());
    sh(reset_argv(git_reset_mode::soft, "HEAD~1", {}), repo);
    CHECK(sb.status(repo).behind == 1);
    sh(reset_argv(git_reset_mode::hard, "", {}), repo);

    sh(clone_argv("bare $x.git", "clone dir", "trunk", std::nullopt));
    CHECK(sb.status("clone dir").branch == "trunk");
    sh(clone_argv("file://" + sb.path("bare $x.git"), "shallow", "trunk", 1));
    CHECK(sb.git("shallow", {"rev-list", "--count", "HEAD"}) == "1\n");
    sh(pull_argv("", "", false, true), "clone dir");
    sh(pull_argv("origin", "trunk", true, false), "clone dir");

    sh(set_config_argv("wrenn.value", "it's $HOME", git_config_scope::local, sb.path(repo)));
    CHECK(sh(get_config_argv("wrenn.value", git_config_scope::local, sb.path(repo))) == "it's $HOME\n");
    sh(set_config_argv("wrenn.dash", "-x", git_config_scope::local, ""), repo);
    CHECK(sh(get_config_argv("wrenn.dash", git_config_scope::local, ""), repo) == "-x\n");
    auto global = sb.path("global config");
    auto r = run_shell(shell_join(set_config_argv("wrenn.g", "v", git_config_scope::global, "")), sb.path(), {},
                       {{"GIT_CONFIG_GLOBAL", global}});
    REQUIRE(r.exit_code == 0);
    auto g = run_shell(shell_join(get_config_argv("wrenn.g", git_config_scope::global, "")), sb.path(), {},
                       {{"GIT_CONFIG_GLOBAL", global}});
    CHECK(g.out == "v\n");
    auto missing = run_shell(shell_join(get_config_argv("wrenn.none", git_config_scope::local, "")), sb.path(repo));
    CHECK(missing.exit_code != 0);
    auto no_remote = run_shell(shell_join(remote_get_argv("nope")), sb.path(repo));
    CHECK(no_remote.exit_code != 0);
    CHECK(failure_message("remote_get", no_remote.out, no_remote.err, no_remote.exit_code).find("nope") !=
          std::string::npos);
}
