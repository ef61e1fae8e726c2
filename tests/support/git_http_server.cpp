#include "git_http_server.hpp"

#include <wrenn/protocol/base64.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

namespace wrenn_test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace fs = std::filesystem;

namespace {

int run(const std::string& cmd) { return std::system(cmd.c_str()); }

// Runs `argv` with `env`, feeding `input` to stdin; returns its stdout.
std::string run_cgi(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                    const std::string& input) {
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(in[0], 0);
        ::dup2(out[1], 1);
        std::vector<char*> a, e;
        for (auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
        a.push_back(nullptr);
        for (auto& s : env) e.push_back(const_cast<char*>(s.c_str()));
        e.push_back(nullptr);
        ::execve(a[0], a.data(), e.data());
        ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    // write stdin and read stdout together (the CGI may answer before reading it all)
    std::string result;
    std::size_t written = 0;
    bool in_open = true;
    if (input.empty()) {
        ::close(in[1]);
        in_open = false;
    }
    char buf[65536];
    for (;;) {
        pollfd p[2] = {{out[0], POLLIN, 0}, {in_open ? in[1] : -1, POLLOUT, 0}};
        if (::poll(p, 2, 30000) <= 0) break;
        if (p[1].revents & (POLLOUT | POLLERR | POLLHUP)) {
            auto n = ::write(in[1], input.data() + written, input.size() - written);
            if (n > 0) written += static_cast<std::size_t>(n);
            if (n < 0 || written == input.size()) {
                ::close(in[1]);
                in_open = false;
            }
        }
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            auto n = ::read(out[0], buf, sizeof buf);
            if (n <= 0) break;
            result.append(buf, static_cast<std::size_t>(n));
        }
    }
    if (in_open) ::close(in[1]);
    ::close(out[0]);
    int st = 0;
    ::waitpid(pid, &st, 0);
    return result;
}

} // namespace

git_http_server::git_http_server(std::string username, std::string password)
    : user_(std::move(username)), password_(std::move(password)) {
    char tmpl[] = "/tmp/wrenn-git-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    root_ = tmpl;
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listen_fd_, 64) != 0)
        throw std::runtime_error("git_http_server: cannot listen");
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
}

git_http_server::~git_http_server() {
    stopping_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    if (thread_.joinable()) thread_.join();
    std::error_code ec;
    fs::remove_all(root_, ec);
}

std::string git_http_server::url(const std::string& name) const {
    // host.wrenn.internal: the host's loopback as seen from inside a capsule
    // (wrenn-local puts it in every capsule's /etc/hosts).
    return "http://host.wrenn.internal:" + std::to_string(port_) + "/" + name;
}

std::string git_http_server::create_repo(const std::string& name) {
    auto bare = root_ + "/" + name;
    auto work = root_ + "/.work-" + name;
    std::string git = "GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 git -c user.name=Seed -c user.email=seed@x "
                      "-c init.defaultBranch=main ";
    if (run(git + "init -q --bare '" + bare + "'") != 0 || run(git + "init -q '" + work + "'") != 0 ||
        run("printf 'hello\\n' > '" + work + "/README.md'") != 0 ||
        run(git + "-C '" + work + "' add README.md") != 0 ||
        run(git + "-C '" + work + "' commit -q -m seed") != 0 ||
        run(git + "-C '" + work + "' push -q '" + bare + "' main") != 0)
        throw std::runtime_error("git_http_server: could not create " + name);
    std::error_code ec;
    fs::remove_all(work, ec);
    return url(name);
}

void git_http_server::serve() {
    while (!stopping_) {
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) {
            if (stopping_) return;
            continue;
        }
        std::thread([this, fd] { handle(fd); }).detach();
    }
}

void git_http_server::handle(int fd) {
    asio::io_context io;
    asio::ip::tcp::socket sock(io, asio::ip::tcp::v4(), fd);
    beast::flat_buffer buf;
    boost::system::error_code ec;
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.body_limit(512 * 1024 * 1024);
        http::read(sock, buf, parser, ec);
        if (ec) return;
        auto& req = parser.get();
        http::response<http::string_body> res;
        res.version(11);
        res.keep_alive(req.keep_alive());
        std::string expected = "Basic " + wrenn::protocol::base64_encode(user_ + ":" + password_);
        if (req[http::field::authorization] != expected) {
            ++refused_;
            res.result(http::status::unauthorized);
            res.set(http::field::www_authenticate, "Basic realm=\"git\"");
            res.body() = "authentication required\n";
        } else {
            std::string target(req.target());
            auto q = target.find('?');
            std::string path = target.substr(0, q);
            std::string query = q == std::string::npos ? "" : target.substr(q + 1);
            std::vector<std::string> env{"GIT_PROJECT_ROOT=" + root_,
                                         "GIT_HTTP_EXPORT_ALL=1",
                                         "REMOTE_USER=" + user_,
                                         "REMOTE_ADDR=127.0.0.1",
                                         "GATEWAY_INTERFACE=CGI/1.1",
                                         "REQUEST_METHOD=" + std::string(req.method_string()),
                                         "PATH_INFO=" + path,
                                         "QUERY_STRING=" + query,
                                         "CONTENT_TYPE=" + std::string(req[http::field::content_type]),
                                         "CONTENT_LENGTH=" + std::to_string(req.body().size()),
                                         "PATH=/usr/bin:/bin"};
            if (auto it = req.find(http::field::content_encoding); it != req.end())
                env.push_back("HTTP_CONTENT_ENCODING=" + std::string(it->value()));
            if (auto it = req.find("Git-Protocol"); it != req.end())
                env.push_back("HTTP_GIT_PROTOCOL=" + std::string(it->value()));
            auto out = run_cgi({"/usr/lib/git-core/git-http-backend"}, env, req.body());
            // CGI answer: headers, blank line, body
            auto sep = out.find("\r\n\r\n");
            std::size_t skip = 4;
            if (sep == std::string::npos) {
                sep = out.find("\n\n");
                skip = 2;
            }
            res.result(http::status::ok);
            if (sep == std::string::npos) {
                res.result(http::status::internal_server_error);
                res.body() = out;
            } else {
                std::string head = out.substr(0, sep);
                res.body() = out.substr(sep + skip);
                std::size_t pos = 0;
                while (pos < head.size()) {
                    auto end = head.find('\n', pos);
                    if (end == std::string::npos) end = head.size();
                    std::string line = head.substr(pos, end - pos);
                    if (!line.empty() && line.back() == '\r') line.pop_back();
                    pos = end + 1;
                    auto colon = line.find(':');
                    if (colon == std::string::npos) continue;
                    std::string k = line.substr(0, colon), v = line.substr(colon + 1);
                    while (!v.empty() && v.front() == ' ') v.erase(0, 1);
                    if (beast::iequals(k, "Status")) res.result(static_cast<unsigned>(std::atoi(v.c_str())));
                    else res.set(k, v);
                }
            }
        }
        res.prepare_payload();
        http::write(sock, res, ec);
        if (ec || !res.keep_alive()) return;
    }
}

} // namespace wrenn_test
