// wrenn-local: a capsule's namespaces and network in bwrap mode: its
// long-lived namespace holder, its slirp4netns link, its /etc/hosts, and
// sockets made inside its network namespace (capsule_init.cpp). state.cpp
// keeps one per capsule (ensure_init); commands join it (sandbox.cpp).
#pragma once

#include "common.hpp"

namespace wl {

// bwrap mode: the capsule's long-lived namespace holder (`bwrap ... sleep
// infinity`), and with sandbox.netns its network link (slirp4netns).
struct capsule_init {
    spawned init;            // the bwrap process (out/err fds closed)
    pid_t ns_pid = -1;       // the pid-namespace init inside
    int netns_fd = -1;       // /proc/<ns_pid>/ns/net (netns mode), O_CLOEXEC
    spawned slirp;           // slirp4netns (netns mode; pid -1 when it did not come up)
    int slirp_exit_fd = -1;  // closing it stops slirp4netns
};
// Starts it without blocking the server (waits up to 5 s for each step).
// The capsule's /etc/hosts is written to <root's parent>/hosts.
asio::awaitable<capsule_init> spawn_capsule_init(const fs::path& root, const std::string& cgroup_procs);
// The /etc/hosts a capsule sees: the host's, plus `capsule` and
// `host.wrenn.internal` (the host's loopback: 10.0.2.2 through slirp4netns
// with a network namespace, else 127.0.0.1). Written next to the capsule root.
fs::path write_capsule_hosts(const fs::path& root);
// A TCP socket (non-blocking, close-on-exec) created inside the network
// namespace `netns_fd` (-1: the server's own). Throws std::system_error.
int socket_in_netns(int netns_fd);

} // namespace wl
