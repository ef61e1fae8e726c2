// wrenn-local: a local capsule server speaking the Wrenn wire protocol.
#include "api_errors.hpp"
#include "common.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/signal_set.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include <sys/resource.h>
#include <unistd.h>

namespace {

const char* usage_text =
    "usage: wrenn-local [options]\n"
    "\n"
    "A local Wrenn capsule server: real processes in bubblewrap sandboxes.\n"
    "\n"
    "  --listen HOST:PORT       address to listen on (default 127.0.0.1:0: loopback, an\n"
    "                           ephemeral port). Any other address than loopback makes\n"
    "                           the API reachable from the network (the API key guards\n"
    "                           it) and the capsule proxy too (no key: WIRE.md 12.2);\n"
    "                           the server warns on stderr when it does\n"
    "  --api-key KEY            API key clients must send as X-API-Key\n"
    "                           (default: a fresh wrn_<32 hex> key)\n"
    "  --tls-cert FILE          serve HTTPS with this certificate chain (PEM)\n"
    "  --tls-key FILE           ... and this private key (PEM)\n"
    "  --state-dir DIR          where capsules and snapshots live\n"
    "                           (default: a temporary directory removed at exit)\n"
    "  --prefix PATH            path prefix of the API (default /api)\n"
    "  --api 0.2|0.4            the API generation to speak (default 0.2 until wrenn-local\n"
    "                           speaks all of 0.4.0): 0.4 adds X-Request-ID to every answer\n"
    "                           and answers errors in the 0.4.0 envelope and code catalog\n"
    "  --snapshot-page-limit N  (--api 0.4) the largest page of the snapshot list, 1-200\n"
    "                           (default 200, as the real server; tests make it small)\n"
    "  --snapshot-answer 202|201\n"
    "                           202 (v0.2.0, default): answer the capsule `snapshotting`;\n"
    "                           201 (older servers): answer the template, capsule stays paused\n"
    "  --pty-ping-interval-ms N the PTY keepalive {\"type\":\"ping\"} period in milliseconds\n"
    "                           (default 30000, as the real server; tests make it short)\n"
    "  --header-timeout-ms N    a request's header block must arrive within N ms of its\n"
    "                           first byte (default 10000, as the real server); slower\n"
    "                           clients are disconnected\n"
    "  --proxy-domain D         the domain of capsule proxy URLs, {port}-{capsule id}.D\n"
    "                           (default localhost; `:<bound port>` is added when D has\n"
    "                           no port). Any Host of the form {port}-{capsule id}.* is\n"
    "                           proxied whatever D is; D is what clients are told.\n"
    "  --help                   this text\n"
    "\n"
    "On start it prints WRENN_BASE_URL=..., WRENN_API_KEY=... and WRENN_PROXY_DOMAIN=...\n"
    "on stdout.\n"
    "\n"
    "Networking: when bwrap --unshare-net works, slirp4netns is on PATH and the server\n"
    "runs as root, every capsule has its own network namespace (its own 127.0.0.1 and\n"
    "ports; outside access through slirp4netns, 10.0.2.100/24); else capsules share\n"
    "the host's network. Either way (with bubblewrap) `host.wrenn.internal`, in the\n"
    "capsule's /etc/hosts, reaches the host's loopback from inside a capsule, and the\n"
    "proxy reaches 127.0.0.1:{port} inside the capsule.\n"
    "\n"
    "The template code-runner-beta starts a Jupyter server in the capsule on port 8888\n"
    "(kernelspec `wrenn`, no token; needs python3-jupyter-server and python3-ipykernel).\n";

[[noreturn]] void die(const std::string& msg) {
    std::fprintf(stderr, "wrenn-local: %s\n", msg.c_str());
    std::exit(2);
}

} // namespace

int main(int argc, char** argv) {
    using namespace wl;
    std::string listen = "127.0.0.1:0", api_key, cert, key, state_dir, prefix = "/api", proxy_domain = "localhost";
    int snapshot_status = 202;
    long long snapshot_page_limit = 200;
    long long pty_ping_ms = 30000, header_timeout_ms = 10000;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i], val;
        bool has_inline = false;
        if (auto eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
            val = a.substr(eq + 1);
            a = a.substr(0, eq);
            has_inline = true;
        }
        auto value = [&]() -> std::string {
            if (has_inline) return val;
            if (i + 1 >= argc) die("option " + a + " needs a value");
            return argv[++i];
        };
        if (a == "--help" || a == "-h") {
            std::fputs(usage_text, stdout);
            return 0;
        } else if (a == "--listen") listen = value();
        else if (a == "--api-key") api_key = value();
        else if (a == "--tls-cert") cert = value();
        else if (a == "--tls-key") key = value();
        else if (a == "--state-dir") state_dir = value();
        else if (a == "--prefix") prefix = value();
        else if (a == "--proxy-domain") {
            proxy_domain = value();
            if (proxy_domain.empty() || proxy_domain.find_first_of("/ \t@") != std::string::npos ||
                proxy_domain.front() == '.' || proxy_domain.front() == ':')
                die("--proxy-domain wants a domain such as localhost or wrenn.localhost[:port]");
        }
        else if (a == "--api") {
            auto v = value();
            if (v == "0.4") wl::set_api(wl::api_generation::v0_4);
            else if (v == "0.2") wl::set_api(wl::api_generation::v0_2);
            else die("--api must be 0.2 or 0.4");
        } else if (a == "--snapshot-answer") {
            auto v = value();
            if (v == "202") snapshot_status = 202;
            else if (v == "201") snapshot_status = 201;
            else die("--snapshot-answer must be 202 or 201");
        } else if (a == "--snapshot-page-limit") {
            auto v = value();
            if (v.empty() || v.size() > 3 || v.find_first_not_of("0123456789") != std::string::npos ||
                (snapshot_page_limit = std::stoll(v)) < 1 || snapshot_page_limit > 200)
                die("--snapshot-page-limit wants a number from 1 to 200");
        } else if (a == "--pty-ping-interval-ms") {
            auto v = value();
            if (v.empty() || v.size() > 9 || v.find_first_not_of("0123456789") != std::string::npos ||
                (pty_ping_ms = std::stoll(v)) <= 0)
                die("--pty-ping-interval-ms wants a positive number of milliseconds");
        } else if (a == "--header-timeout-ms") {
            auto v = value();
            if (v.empty() || v.size() > 9 || v.find_first_not_of("0123456789") != std::string::npos ||
                (header_timeout_ms = std::stoll(v)) <= 0)
                die("--header-timeout-ms wants a positive number of milliseconds");
        } else die("unknown option " + a + " (see --help)");
    }
    if (cert.empty() != key.empty()) die("--tls-cert and --tls-key go together");

    // HOST:PORT, [V6]:PORT
    std::string host;
    unsigned long port = 0;
    {
        auto colon = listen.rfind(':');
        if (colon == std::string::npos) die("--listen wants HOST:PORT");
        host = listen.substr(0, colon);
        auto p = listen.substr(colon + 1);
        if (p.empty() || p.find_first_not_of("0123456789") != std::string::npos || p.size() > 5 ||
            (port = std::stoul(p)) > 65535)
            die("bad port in --listen");
        if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
        if (host.empty() || host == "localhost") host = "127.0.0.1";
    }
    while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
    if (!prefix.empty() && prefix.front() != '/') prefix = "/" + prefix;

    std::signal(SIGPIPE, SIG_IGN);
    // Every WebSocket stream holds a socket, two pipes and a pidfd.
    if (rlimit nofile{}; ::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &nofile);
    }
    asio::io_context io(1);
    app_state app(io);
    app.prefix = prefix;
    app.snapshot_status = snapshot_status;
    app.snapshot_page_limit = static_cast<long>(snapshot_page_limit);
    app.pty_ping_interval = std::chrono::milliseconds(pty_ping_ms);
    app.header_timeout = std::chrono::milliseconds(header_timeout_ms);
    app.api_key = api_key.empty() ? "wrn_" + random_hex(16) : api_key;

    bool temp_state = state_dir.empty();
    if (temp_state) {
        char tmpl[] = "/tmp/wrenn-local-XXXXXX";
        if (!::mkdtemp(tmpl)) die("cannot create a temporary state directory");
        state_dir = tmpl;
    }
    app.state_dir = fs::absolute(state_dir);
    std::error_code ec;
    fs::create_directories(app.state_dir / "capsules", ec);
    fs::create_directories(app.state_dir / "templates", ec);
    if (ec) die("cannot create state directory " + app.state_dir.string() + ": " + ec.message());

    detect_sandbox();
    if (!sandbox.bwrap) {
        std::fprintf(stderr,
                     "\n"
                     "************************************************************************\n"
                     "* WARNING: bubblewrap (bwrap) is not available: capsules are NOT       *\n"
                     "* isolated. Commands run directly on this machine, as this user, in    *\n"
                     "* the capsule's directory. Install bubblewrap for real sandboxes.      *\n"
                     "************************************************************************\n\n");
    }
    log("state dir %s%s; sandbox: %s; freezer: %s", app.state_dir.c_str(), temp_state ? " (temporary)" : "",
        sandbox.bwrap ? "bubblewrap" : "NONE (unisolated)",
        sandbox.freezer_root.empty() ? "SIGSTOP fallback" : sandbox.freezer_root.c_str());
    load_templates(app);

    unsigned short bound = 0;
    try {
        bound = start_http(app, host, static_cast<unsigned short>(port),
                           cert.empty() ? std::nullopt : std::optional<tls_files>(tls_files{cert, key}));
    } catch (const std::exception& e) {
        kill_everything(app);
        if (temp_state) fs::remove_all(app.state_dir, ec);
        die(std::string("cannot listen on ") + listen + ": " + e.what());
    }
    start_reaper(app);

    std::string shown_host = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    if (boost::system::error_code aec; !asio::ip::make_address(host, aec).is_loopback() || aec) {
        std::fprintf(stderr,
                     "\n"
                     "************************************************************************\n"
                     "* WARNING: listening on %s, which is not a loopback address: the\n"
                     "* API can be reached from the network. The API key guards every API\n"
                     "* route and WebSocket; keep it secret (and prefer --tls-cert/--tls-key).\n"
                     "* The capsule proxy ({port}-{capsule id}.<domain>) needs no key (as on\n"
                     "* the real server): every port a capsule listens on is reachable by\n"
                     "* anyone who knows the capsule's id.\n"
                     "************************************************************************\n\n",
                     shown_host.c_str());
    }
    // A domain without a port gets the bound one ("[v6]" has colons of its own).
    if (proxy_domain.find(':', proxy_domain.rfind(']') == std::string::npos ? 0 : proxy_domain.rfind(']')) ==
        std::string::npos)
        proxy_domain += ":" + std::to_string(bound);
    std::printf("WRENN_BASE_URL=%s://%s:%u%s\nWRENN_API_KEY=%s\nWRENN_PROXY_DOMAIN=%s\n",
                cert.empty() ? "http" : "https", shown_host.c_str(), static_cast<unsigned>(bound), prefix.c_str(),
                app.api_key.c_str(), proxy_domain.c_str());
    std::fflush(stdout);
    log("listening on %s:%u", shown_host.c_str(), static_cast<unsigned>(bound));

    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& sec, int sig) {
        if (sec) return;
        log("signal %d: stopping every capsule", sig);
        io.stop();
    });
    io.run();
    kill_everything(app);
    if (temp_state) fs::remove_all(app.state_dir, ec);
    log("bye");
    return 0;
}
