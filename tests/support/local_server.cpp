#include "local_server.hpp"

#include <wrenn/error.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

#ifndef WRENN_LOCAL_PATH
#error "WRENN_LOCAL_PATH must name the wrenn-local binary"
#endif

namespace wrenn_test {

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

namespace fs = std::filesystem;

namespace {
void sh(const std::string& cmd) {
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("test setup command failed: " + cmd);
}
} // namespace

const test_pki& test_pki::get() {
    static const test_pki pki = [] {
        test_pki p;
        char tmpl[] = "/tmp/wrenn-pki-XXXXXX";
        p.dir = ::mkdtemp(tmpl);
        auto f = [&](const char* n) { return p.dir + "/" + n; };
        p.ca_cert = f("ca.pem");
        p.server_cert = f("server.pem");
        p.server_key = f("server.key");
        p.wrong_host_cert = f("wrong.pem");
        p.wrong_host_key = f("wrong.key");
        p.expired_cert = f("expired.pem");
        p.expired_key = f("expired.key");
        p.self_signed_cert = f("self-signed.pem");
        p.self_signed_key = f("self-signed.key");
        std::string q = " >/dev/null 2>&1";
        sh("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=wrenn-test-ca -keyout " + f("ca.key") +
           " -out " + p.ca_cert + q);
        const std::string names = "IP:127.0.0.1,DNS:localhost,DNS:*.localhost,DNS:wrenn.localhost,DNS:*.wrenn.localhost";
        // `days` -1: valid until yesterday, i.e. expired
        auto leaf = [&](const std::string& key, const std::string& cert, const std::string& cn, const std::string& san,
                        int days = 2) {
            std::string ext = p.dir + "/" + cn + ".ext";
            sh("printf 'subjectAltName=" + san + "\\nbasicConstraints=CA:FALSE\\n' > " + ext);
            sh("openssl req -newkey rsa:2048 -nodes -subj /CN=" + cn + " -keyout " + key + " -out " + cert + ".csr" + q);
            sh("openssl x509 -req -in " + cert + ".csr -CA " + p.ca_cert + " -CAkey " + f("ca.key") +
               " -CAcreateserial -days " + std::to_string(days) + " -extfile " + ext + " -out " + cert + q);
        };
        leaf(p.server_key, p.server_cert, "localhost", names);
        leaf(p.wrong_host_key, p.wrong_host_cert, "wrong.example", "DNS:wrong.example");
        leaf(p.expired_key, p.expired_cert, "expired", names, -1);
        sh("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=self-signed -addext subjectAltName=" + names +
           " -keyout " + p.self_signed_key + " -out " + p.self_signed_cert + q);
        return p;
    }();
    return pki;
}

local_server::local_server(server_options opts) : tls_(opts.tls) {
    std::vector<std::string> args{WRENN_LOCAL_PATH};
    if (!opts.listen.empty()) args.insert(args.end(), {"--listen", opts.listen});
    if (opts.tls) {
        auto& pki = test_pki::get();
        std::string cert = pki.server_cert, key = pki.server_key;
        if (opts.cert == cert_kind::wrong_host) cert = pki.wrong_host_cert, key = pki.wrong_host_key;
        if (opts.cert == cert_kind::expired) cert = pki.expired_cert, key = pki.expired_key;
        if (opts.cert == cert_kind::self_signed) cert = pki.self_signed_cert, key = pki.self_signed_key;
        args.insert(args.end(), {"--tls-cert", cert, "--tls-key", key, "--proxy-domain", "wrenn.localhost"});
    }
    args.insert(args.end(), opts.extra_args.begin(), opts.extra_args.end());

    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // never outlive a crashed test
        ::dup2(out[1], 1);
        if (!opts.stderr_file.empty()) {
            int err = ::open(opts.stderr_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
            if (err < 0) ::_exit(126);
            ::dup2(err, 2);
        }
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(out[1]);

    // Wait (10 s at most) for the three WRENN_* lines the server prints when it listens.
    std::string text;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    auto lines = [&] { return std::count(text.begin(), text.end(), '\n'); };
    while (lines() < 3) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        pollfd p{out[0], POLLIN, 0};
        if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
        char buf[512];
        auto n = ::read(out[0], buf, sizeof buf);
        if (n <= 0) break;
        text.append(buf, static_cast<std::size_t>(n));
    }
    ::close(out[0]);
    auto value = [&](const std::string& key) {
        auto at = text.find(key + "=");
        if (at == std::string::npos) return std::string{};
        auto end = text.find('\n', at);
        return text.substr(at + key.size() + 1, end - at - key.size() - 1);
    };
    base_url_ = value("WRENN_BASE_URL");
    api_key_ = value("WRENN_API_KEY");
    proxy_domain_ = value("WRENN_PROXY_DOMAIN");
    if (base_url_.empty() || api_key_.empty() || proxy_domain_.empty()) {
        kill_now();
        throw std::runtime_error("wrenn-local did not announce itself within 10 s; it printed: " + text);
    }
}

local_server::~local_server() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGCONT);
    ::kill(pid_, SIGTERM);
    int status = 0;
    // Give it 5 s to clean up its capsules (wait on its exit via a pidfd), then insist.
    int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    if (fd >= 0) {
        pollfd p{fd, POLLIN, 0};
        ::poll(&p, 1, 5000);
        ::close(fd);
    }
    if (::waitpid(pid_, &status, WNOHANG) == pid_) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
}

void local_server::kill_now() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
}

void local_server::freeze() {
    if (pid_ > 0) ::kill(pid_, SIGSTOP);
}

void local_server::thaw() {
    if (pid_ > 0) ::kill(pid_, SIGCONT);
}

wrenn::config local_server::config() const {
    wrenn::config c;
    c.api_key = api_key_;
    c.base_url = base_url_;
    c.proxy_domain = proxy_domain_;
    if (tls_) c.ca_file = test_pki::get().ca_cert;
    return c;
}

} // namespace wrenn_test
