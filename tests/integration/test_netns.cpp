// wrenn-local's network namespace per capsule: capsules listen on the same
// port at once, cannot see each other's ports, reach the host's loopback as
// host.wrenn.internal, and leave no slirp4netns process or descriptor behind.
// A real wrenn-local, the SDK, a raw Beast client for the proxy.
//
// Without a network namespace (not root, no slirp4netns, no bwrap
// --unshare-net) capsules share the host's network: then only the
// host.wrenn.internal test applies, the others say so and stop.
//
// Compiler notes (g++ 12): never co_await inside CHECK/REQUIRE or `?:`, and
// never build an owning temporary inside a co_await expression: name it first.
#include <catch2/catch.hpp>

#include <wrenn/wrenn.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "async.hpp"
#include "local_server.hpp"
#include "run.hpp"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;
using asio::use_awaitable;
using namespace std::chrono_literals;
using wrenn::capsule;
using wrenn_test::local_server;

namespace {

// What wrenn-local needs for a namespace per capsule (see its detect_sandbox).
bool netns_expected() {
    return ::geteuid() == 0 &&
           std::system("command -v slirp4netns >/dev/null 2>&1 && bwrap --unshare-net --unshare-pid --ro-bind / / "
                       "true >/dev/null 2>&1") == 0;
}

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// The server's children named slirp4netns.
int slirp_children(pid_t server) {
    int n = 0;
    std::error_code ec;
    for (auto& d : fs::directory_iterator("/proc", ec)) {
        auto name = d.path().filename().string();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::string stat = read_text("/proc/" + name + "/stat");
        auto lp = stat.find('('), rp = stat.rfind(')');
        if (lp == std::string::npos || rp == std::string::npos || rp + 4 > stat.size()) continue;
        std::istringstream rest(stat.substr(rp + 2));
        char state = 0;
        pid_t ppid = 0;
        rest >> state >> ppid;
        if (ppid == server && stat.substr(lp + 1, rp - lp - 1) == "slirp4netns") ++n;
    }
    return n;
}

// The server's open descriptors other than sockets (client connections come
// and go): pipes, pidfds, namespace fds are what a capsule could leak.
int non_socket_fds(pid_t server) {
    int n = 0;
    std::error_code ec;
    for (auto& d : fs::directory_iterator("/proc/" + std::to_string(server) + "/fd", ec)) {
        std::error_code lec;
        auto target = fs::read_symlink(d.path(), lec).string();
        if (!lec && target.rfind("socket:", 0) != 0) ++n;
    }
    return n;
}

std::string server_port(const local_server& srv) {
    std::string rest = srv.base_url().substr(srv.base_url().find("://") + 3);
    rest = rest.substr(0, rest.find('/'));
    return rest.substr(rest.rfind(':') + 1);
}

struct reply {
    unsigned status = 0;
    std::string body;
};

// GET `target` through the proxy: Host `{port}-{id}.{proxy domain}`.
asio::awaitable<reply> proxy_get(const local_server& srv, unsigned port, std::string id, std::string target) {
    beast::tcp_stream s(co_await asio::this_coro::executor);
    s.expires_after(20s);
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(std::stoi(server_port(srv))));
    auto [ec] = co_await s.async_connect(ep, asio::as_tuple(use_awaitable));
    if (ec) throw std::runtime_error("connect: " + ec.message());
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, std::to_string(port) + "-" + id + "." + srv.proxy_domain());
    auto [wec, wn] = co_await http::async_write(s, req, asio::as_tuple(use_awaitable));
    if (wec) throw std::runtime_error("write: " + wec.message());
    beast::flat_buffer buf;
    http::response<http::string_body> res;
    auto [rec, rn] = co_await http::async_read(s, buf, res, asio::as_tuple(use_awaitable));
    if (rec) throw std::runtime_error("read: " + rec.message());
    co_return reply{res.result_int(), res.body()};
}

// Polls through the proxy (every 50 ms, 20 s at most) until the upstream
// answers, i.e. not the proxy's 502.
asio::awaitable<reply> wait_upstream(const local_server& srv, unsigned port, std::string id, std::string target) {
    auto deadline = std::chrono::steady_clock::now() + 20s;
    reply r;
    while (std::chrono::steady_clock::now() < deadline) {
        r = co_await proxy_get(srv, port, id, target);
        if (r.status != 502) co_return r;
        co_await wrenn_test::sleep_for(50ms);
    }
    co_return r;
}

// A static file server in the capsule on 127.0.0.1:`port`, serving site/id.txt = the capsule id.
asio::awaitable<void> serve_id(capsule& cap, unsigned port) {
    std::string cmd = "mkdir -p site && printf %s " + cap.id() + " > site/id.txt && cd site && exec /usr/bin/python3 -m " +
                      "http.server " + std::to_string(port) + " --bind 127.0.0.1 >/dev/null 2>&1";
    auto r = co_await cap.commands.run(cmd, {.background = true, .tag = "site"});
    REQUIRE(r.pid > 0);
}

// Connects from inside the capsule to 127.0.0.1:`port`; "open" or "refused".
asio::awaitable<std::string> probe_port(capsule& cap, unsigned port) {
    std::string cmd = "/usr/bin/python3 -c 'import socket,sys\n"
                      "try:\n socket.create_connection((\"127.0.0.1\", " +
                      std::to_string(port) +
                      "), 5).close(); print(\"open\")\n"
                      "except ConnectionRefusedError: print(\"refused\")'";
    auto r = co_await cap.commands.run(cmd);
    co_return r.stdout_text;
}

} // namespace

TEST_CASE("network namespaces: two capsules listen on the same port, each reached through the proxy", "[netns]") {
    if (!netns_expected()) {
        WARN("no network namespace per capsule here (needs root, slirp4netns, bwrap --unshare-net)");
        return;
    }
    local_server srv;
    wrenn_test::run(srv.config(), [&srv](wrenn::client c) -> asio::awaitable<void> {
        auto a = co_await capsule::create(c, {.wait = true});
        auto b = co_await capsule::create(c, {.wait = true});
        co_await serve_id(a, 8000);
        co_await serve_id(b, 8000);
        const std::string target = "/id.txt";
        auto ra = co_await wait_upstream(srv, 8000, a.id(), target);
        auto rb = co_await wait_upstream(srv, 8000, b.id(), target);
        CHECK(ra.status == 200);
        CHECK(ra.body == a.id());
        CHECK(rb.status == 200);
        CHECK(rb.body == b.id());
        // Both servers are still up (neither lost the port to the other).
        auto ps_a = co_await a.commands.list();
        auto ps_b = co_await b.commands.list();
        auto has_site = [](const std::vector<wrenn::process_info>& ps) {
            for (auto& p : ps)
                if (p.tag == std::optional<std::string>("site")) return true;
            return false;
        };
        CHECK(has_site(ps_a));
        CHECK(has_site(ps_b));
        ra = co_await proxy_get(srv, 8000, a.id(), target);
        CHECK(ra.body == a.id());

        // A port only `a` listens on: `b` does not see it, nor does the host.
        auto c2 = co_await capsule::create(c, {.wait = true});
        co_await serve_id(c2, 8123);
        auto rc = co_await wait_upstream(srv, 8123, c2.id(), target);
        CHECK(rc.body == c2.id());
        auto seen_by_c2 = co_await probe_port(c2, 8123);
        CHECK(seen_by_c2 == "open\n");
        auto seen_by_a = co_await probe_port(a, 8123);
        CHECK(seen_by_a == "refused\n");
        auto through_b = co_await proxy_get(srv, 8123, b.id(), target);
        CHECK(through_b.status == 502);
        CHECK(through_b.body == "proxy error: dial tcp 127.0.0.1:8123: Connection refused\n");
        co_await a.destroy();
        co_await b.destroy();
        co_await c2.destroy();
    });
}

TEST_CASE("network namespaces: host.wrenn.internal is the host's loopback", "[netns]") {
    local_server srv;
    // A one-answer HTTP server on the host's 127.0.0.1 (ephemeral port).
    wrenn_test::run(srv.config(), [](wrenn::client c) -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        auto acceptor = std::make_shared<tcp::acceptor>(ex, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        const unsigned port = acceptor->local_endpoint().port();
        auto served = std::make_shared<int>(0);
        asio::co_spawn(
            ex,
            [acceptor, served]() -> asio::awaitable<void> {
                for (;;) {
                    auto [ec, sock] = co_await acceptor->async_accept(asio::as_tuple(use_awaitable));
                    if (ec) co_return;
                    beast::tcp_stream s(std::move(sock));
                    s.expires_after(10s);
                    beast::flat_buffer buf;
                    http::request<http::string_body> req;
                    auto [rec, rn] = co_await http::async_read(s, buf, req, asio::as_tuple(use_awaitable));
                    if (rec) continue;
                    http::response<http::string_body> res{http::status::ok, 11};
                    res.body() = "from the host, asked for " + std::string(req[http::field::host]);
                    res.keep_alive(false);
                    res.prepare_payload();
                    (void)co_await http::async_write(s, res, asio::as_tuple(use_awaitable));
                    ++*served;
                }
            },
            asio::detached);

        auto cap = co_await capsule::create(c, {.wait = true});
        auto hosts = co_await cap.commands.run("getent hosts host.wrenn.internal");
        CHECK(hosts.exit_code == 0);
        CHECK(hosts.stdout_text.find("host.wrenn.internal") != std::string::npos);
        auto own = co_await cap.commands.run("getent hosts capsule");
        CHECK(own.stdout_text.rfind("127.0.1.1", 0) == 0);
        std::string cmd = "/usr/bin/python3 -c 'import urllib.request; print(urllib.request.urlopen("
                          "\"http://host.wrenn.internal:" +
                          std::to_string(port) + "/\", timeout=10).read().decode())'";
        auto r = co_await cap.commands.run(cmd);
        CAPTURE(r.stderr_text);
        CHECK(r.exit_code == 0);
        CHECK(r.stdout_text == "from the host, asked for host.wrenn.internal:" + std::to_string(port) + "\n");
        CHECK(*served == 1);
        acceptor->close();
        co_await cap.destroy();
    });
}

TEST_CASE("network namespaces: destroyed capsules leave no slirp4netns and no descriptors", "[netns]") {
    if (!netns_expected()) {
        WARN("no network namespace per capsule here (needs root, slirp4netns, bwrap --unshare-net)");
        return;
    }
    local_server srv;
    const pid_t server = srv.pid();
    wrenn_test::run(srv.config(), [&srv, server](wrenn::client c) -> asio::awaitable<void> {
        (void)co_await capsule::list(c);  // the client's connection is up
        const int fds_before = non_socket_fds(server);
        CHECK(slirp_children(server) == 0);
        std::vector<capsule> caps;
        for (int i = 0; i < 3; ++i) {
            auto cap = co_await capsule::create(c, {.wait = true});
            caps.push_back(cap);
        }
        CHECK(slirp_children(server) == 3);
        CHECK(non_socket_fds(server) > fds_before);  // each holds its namespace and slirp's exit pipe
        // Used: a command, and a proxied connection into the namespace.
        co_await serve_id(caps[0], 8000);
        const std::string target = "/id.txt";
        auto r = co_await wait_upstream(srv, 8000, caps[0].id(), target);
        CHECK(r.body == caps[0].id());
        auto who = co_await caps[1].commands.run("echo hi");
        CHECK(who.stdout_text == "hi\n");
        for (auto& cap : caps) co_await cap.destroy();
        bool gone = co_await wrenn_test::eventually([server]() -> asio::awaitable<bool> {
            co_return slirp_children(server) == 0;
        });
        CHECK(gone);
        bool closed = co_await wrenn_test::eventually([server, fds_before]() -> asio::awaitable<bool> {
            co_return non_socket_fds(server) == fds_before;
        });
        CAPTURE(fds_before, non_socket_fds(server));
        CHECK(closed);
    });
}
