// Test support: a real wrenn-local process on an ephemeral loopback port
// (HTTP or TLS), and a throw-away PKI made with the openssl CLI.
#pragma once

#include <wrenn/config.hpp>

#include <sys/types.h>

#include <string>
#include <vector>

namespace wrenn_test {

// A CA, a server certificate for 127.0.0.1, localhost, *.localhost,
// wrenn.localhost and *.wrenn.localhost signed by it; and, for the faults,
// one for a different host name, an expired one (also signed by the CA) and
// a self-signed one for the right names. Made once per test process. (OpenSSL never lets `*.localhost`
// match `8888-cl-x.localhost`, a wildcard right under a single label; so TLS
// servers use the proxy domain wrenn.localhost.)
// A whole file's bytes; "" when it cannot be read.
std::string slurp(const std::string& path);

struct test_pki {
    std::string dir, ca_cert, server_cert, server_key, wrong_host_cert, wrong_host_key, expired_cert, expired_key,
        self_signed_cert, self_signed_key;
    static const test_pki& get();
};

// Which certificate a TLS server presents.
enum class cert_kind { valid, wrong_host, expired, self_signed };

struct server_options {
    bool tls = false;
    cert_kind cert = cert_kind::valid;
    std::vector<std::string> extra_args{};   // e.g. {"--snapshot-answer", "201"}
    // --listen's value; empty: no --listen at all (the server's default).
    std::string listen = "127.0.0.1:0";
    // When set, the server's stderr goes to this file (created or truncated).
    std::string stderr_file{};
};

class local_server {
public:
    explicit local_server(server_options opts = {});
    ~local_server();
    local_server(const local_server&) = delete;
    local_server& operator=(const local_server&) = delete;

    const std::string& base_url() const { return base_url_; }
    const std::string& api_key() const { return api_key_; }
    // WRENN_PROXY_DOMAIN: `localhost:<port>` (TLS: `wrenn.localhost:<port>`).
    const std::string& proxy_domain() const { return proxy_domain_; }
    // The same without the port: what a proxied name ends with.
    std::string proxy_host_suffix() const { return proxy_domain_.substr(0, proxy_domain_.rfind(':')); }
    pid_t pid() const { return pid_; }
    // A config that reaches this server and its proxy (with the test CA when TLS).
    wrenn::config config() const;
    // SIGKILL, for tests that need the server gone.
    void kill_now();
    // SIGSTOP / SIGCONT: a server that keeps its sockets open but answers
    // nothing (what an idle timeout is for).
    void freeze();
    void thaw();

private:
    pid_t pid_ = -1;
    bool tls_ = false;
    std::string base_url_, api_key_, proxy_domain_;
};

} // namespace wrenn_test
