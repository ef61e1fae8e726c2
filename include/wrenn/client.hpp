// The low-level client: one method per REST call, returning the models.
// A client is a cheap handle (copies share one connection pool); it runs on
// the executor it was made with and starts no threads.
#pragma once

#include <wrenn/config.hpp>
#include <wrenn/detail/config.hpp>
#include <wrenn/models.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace wrenn {

namespace detail {
class client_impl;
}

class capsules_api;
class snapshots_api;

class client {
public:
    using executor_type = boost::asio::any_io_executor;

    // Resolves `cfg` (explicit > environment > default); throws config_error
    // before any I/O when no API key can be found.
    explicit client(executor_type ex, config cfg = {});
    // The same on `ctx`'s executor. Not a template: the conversion of an
    // io_context executor to any_io_executor is compiled in the library,
    // not in every file that makes a client (a quarter of the cost of
    // compiling <boost/asio.hpp>).
    explicit client(boost::asio::io_context& ctx, config cfg = {});

    executor_type get_executor() const;
    const config& settings() const;  // the resolved configuration

    capsules_api capsules() const;
    snapshots_api snapshots() const;

    // Connection-pool figures for the API origin (open, idle, waiting, created).
    struct pool_figures { std::size_t open, idle, waiting, created; };
    pool_figures pool() const;

    const std::shared_ptr<detail::client_impl>& impl() const { return impl_; }

private:
    std::shared_ptr<detail::client_impl> impl_;
};

// /v1/capsules and the per-capsule lifecycle calls.
class capsules_api {
public:
    explicit capsules_api(std::shared_ptr<detail::client_impl> c) : c_(std::move(c)) {}

    boost::asio::awaitable<capsule_info> create(create_capsule_request req = {}) const;
    boost::asio::awaitable<std::vector<capsule_info>> list() const;
    boost::asio::awaitable<capsule_info> get(std::string id) const;
    boost::asio::awaitable<void> destroy(std::string id) const;
    boost::asio::awaitable<capsule_info> pause(std::string id) const;
    boost::asio::awaitable<capsule_info> resume(std::string id) const;
    boost::asio::awaitable<void> ping(std::string id) const;
    // range: 5m, 10m, 1h, 2h, 6h, 12h, 24h; empty = server default (10m).
    boost::asio::awaitable<capsule_metrics> metrics(std::string id, std::string range = {}) const;
    // Team-wide figures. range: 5m, 1h, 6h, 24h, 30d; dates YYYY-MM-DD.
    boost::asio::awaitable<team_stats> stats(std::string range = {}) const;
    boost::asio::awaitable<team_usage> usage(std::string from = {}, std::string to = {}) const;

    // POST /exec, foreground. `timeout` is the server-side limit; the HTTP
    // idle timeout is stretched to timeout + 10 s as the Python SDK does.
    boost::asio::awaitable<exec_result> exec(std::string id, exec_request req) const;
    // POST /exec with background = true.
    boost::asio::awaitable<command_handle> exec_background(std::string id, exec_request req) const;
    // Processes the capsule's agent tracks (background, running, PTYs).
    boost::asio::awaitable<std::vector<process_info>> processes(std::string id) const;
    // selector: a pid in decimal, or a tag (WIRE.md §6.2).
    boost::asio::awaitable<void> kill_process(std::string id, std::string selector,
                                              kill_signal signal = kill_signal::sigkill) const;

private:
    std::shared_ptr<detail::client_impl> c_;
};

// /v1/snapshots (templates made from capsules).
class snapshots_api {
public:
    explicit snapshots_api(std::shared_ptr<detail::client_impl> c) : c_(std::move(c)) {}

    // Answers 201 Template (older servers) or 202 with the capsule
    // `snapshotting` (v0.2.0); both are returned in snapshot_result.
    // `overwrite` is sent as ?overwrite=true but servers ignore it.
    boost::asio::awaitable<snapshot_result> create(std::string capsule_id, std::string name = {},
                                                   bool overwrite = false) const;
    // type: "base", "snapshot" (or anything a newer server knows); empty = all.
    boost::asio::awaitable<std::vector<template_info>> list(std::string type = {}) const;
    boost::asio::awaitable<void> remove(std::string name) const;

private:
    std::shared_ptr<detail::client_impl> c_;
};

} // namespace wrenn

#ifdef WRENN_HEADER_ONLY
#include <wrenn/impl/client.ipp>
#endif
