// Test support: a git smart-HTTP server on loopback that requires basic
// auth, serving bare repositories from a temporary directory through the
// real `git http-backend` (CGI). What `git clone/push/pull` inside a capsule
// talks to in the git integration tests.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

namespace wrenn_test {

class git_http_server {
public:
    git_http_server(std::string username, std::string password);
    ~git_http_server();
    git_http_server(const git_http_server&) = delete;
    git_http_server& operator=(const git_http_server&) = delete;

    // Creates a bare repository `name` (e.g. "demo.git") holding one commit
    // with README.md on branch main; returns its URL (no credentials).
    std::string create_repo(const std::string& name);
    std::string url(const std::string& name) const;
    const std::string& root() const { return root_; }
    // Requests refused for missing or wrong credentials so far.
    int refused() const { return refused_.load(); }

private:
    void serve();
    void handle(int fd);

    std::string user_, password_, root_;
    int listen_fd_ = -1;
    unsigned short port_ = 0;
    std::atomic<bool> stopping_{false};
    std::atomic<int> refused_{0};
    std::thread thread_;
};

} // namespace wrenn_test
