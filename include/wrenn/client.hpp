// The low-level client: one method per REST call, returning the models.
// A client is a cheap handle (copies share one connection pool); it runs on
// the executor it was made with and starts no threads.
#pragma once

#include <wrenn/config.hpp>
#include <wrenn/completion.hpp>
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
struct client_access;
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

private:
    friend class capsule;
    friend struct detail::client_access;
    client() = default;  // an empty capsule's (see capsule())
    std::shared_ptr<detail::client_impl> impl_;
};

// /v1/capsules and the per-capsule lifecycle calls.
class capsules_api {
public:
    explicit capsules_api(std::shared_ptr<detail::client_impl> c) : c_(std::move(c)) {}
    boost::asio::any_io_executor get_executor() const;  // the client's

    boost::asio::awaitable<capsule_info> create(create_capsule_request req = {}) const;
    template <class CompletionToken>
    auto create(create_capsule_request req, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), create(std::move(req)),
                                     std::forward<CompletionToken>(token));
    }
    boost::asio::awaitable<std::vector<capsule_info>> list() const;
    template <class CompletionToken>
    auto list(CompletionToken&& token) const {
        return detail::complete_with(get_executor(), list(),
                                     std::forward<CompletionToken>(token));
    }
    boost::asio::awaitable<capsule_info> get(std::string id) const;
    template <class CompletionToken>
    auto get(std::string id, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), get(std::move(id)),
                                     std::forward<CompletionToken>(token));
    }
    boost::asio::awaitable<void> destroy(std::string id) const;
    template <class CompletionToken>
    auto destroy(std::string id, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), destroy(std::move(id)),
                                     std::forward<CompletionToken>(token));
    }
    boost::asio::awaitable<capsule_info> pause(std::string id) const;
    template <class CompletionToken>
    auto pause(std::string id, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), pause(std::move(id)),
                                     std::forward<CompletionToken>(token));
    }
    boost::asio::awaitable<capsule_info> resume(std::string id) const;
    template <class CompletionToken>
    auto resume(std::string id, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), resume(std::move(id)),
                                     std::forward<CompletionToken>(token));
    }
    boost::asio::awaitable<void> ping(std::string id) const;
    template <class CompletionToken>
    auto ping(std::string id, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), ping(std::move(id)),
                                     std::forward<CompletionToken>(token));
    }
    // range: 5m, 10m, 1h, 2h, 6h, 12h, 24h; empty = server default (10m).
    boost::asio::awaitable<capsule_metrics> metrics(std::string id, std::string range = {}) const;
    template <class CompletionToken>
    auto metrics(std::string id, std::string range, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), metrics(std::move(id), std::move(range)),
                                     std::forward<CompletionToken>(token));
    }
    // Team-wide figures. range: 5m, 1h, 6h, 24h, 30d; dates YYYY-MM-DD.
    boost::asio::awaitable<team_stats> stats(std::string range = {}) const;
    template <class CompletionToken>
    auto stats(std::string range, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), stats(std::move(range)),
                                     std::forward<CompletionToken>(token));
    }
    boost::asio::awaitable<team_usage> usage(std::string from = {}, std::string to = {}) const;
    template <class CompletionToken>
    auto usage(std::string from, std::string to, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), usage(std::move(from), std::move(to)),
                                     std::forward<CompletionToken>(token));
    }

    // POST /exec, foreground. `timeout` is the server-side limit; the HTTP
    // idle timeout is stretched to timeout + 10 s as the Python SDK does.
    boost::asio::awaitable<exec_result> exec(std::string id, exec_request req) const;
    template <class CompletionToken>
    auto exec(std::string id, exec_request req, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), exec(std::move(id), std::move(req)),
                                     std::forward<CompletionToken>(token));
    }
    // POST /exec with background = true.
    boost::asio::awaitable<command_handle> exec_background(std::string id, exec_request req) const;
    template <class CompletionToken>
    auto exec_background(std::string id, exec_request req, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), exec_background(std::move(id), std::move(req)),
                                     std::forward<CompletionToken>(token));
    }
    // Processes the capsule's agent tracks (background, running, PTYs).
    boost::asio::awaitable<std::vector<process_info>> processes(std::string id) const;
    template <class CompletionToken>
    auto processes(std::string id, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), processes(std::move(id)),
                                     std::forward<CompletionToken>(token));
    }
    // selector: a pid in decimal, or a tag (WIRE.md §6.2).
    boost::asio::awaitable<void> kill_process(std::string id, std::string selector,
                                              kill_signal signal = kill_signal::sigkill) const;
    template <class CompletionToken>
    auto kill_process(std::string id, std::string selector, kill_signal signal, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), kill_process(std::move(id), std::move(selector), signal),
                                     std::forward<CompletionToken>(token));
    }

private:
    std::shared_ptr<detail::client_impl> c_;
};

// /v1/snapshots (templates made from capsules).
class snapshots_api {
public:
    explicit snapshots_api(std::shared_ptr<detail::client_impl> c) : c_(std::move(c)) {}
    boost::asio::any_io_executor get_executor() const;  // the client's

    // Answers 201 Template (older servers) or 202 with the capsule
    // `snapshotting` (v0.2.0); both are returned in snapshot_result.
    // `overwrite` is sent as ?overwrite=true but servers ignore it.
    boost::asio::awaitable<snapshot_result> create(std::string capsule_id, std::string name = {},
                                                   bool overwrite = false) const;
    template <class CompletionToken>
    auto create(std::string capsule_id, std::string name, bool overwrite, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), create(std::move(capsule_id), std::move(name), overwrite),
                                     std::forward<CompletionToken>(token));
    }
    // Every template, all pages read (API 0.4.0 pages the list; older
    // servers answer it whole). type: "base", "snapshot" (or anything a
    // newer server knows); empty = all.
    boost::asio::awaitable<std::vector<template_info>> list(std::string type = {}) const;
    template <class CompletionToken>
    auto list(std::string type, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), list(std::move(type)),
                                     std::forward<CompletionToken>(token));
    }
    // One page, as the server has it.
    boost::asio::awaitable<template_page> list_page(template_page_request req) const;
    template <class CompletionToken>
    auto list_page(template_page_request req, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), list_page(std::move(req)),
                                     std::forward<CompletionToken>(token));
    }
    // API 0.4.0: publish a template of the caller's team (others launch it
    // as <team_slug>/<name>) or take it back.
    boost::asio::awaitable<void> set_public(std::string name, bool is_public) const;
    template <class CompletionToken>
    auto set_public(std::string name, bool is_public, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), set_public(std::move(name), is_public),
                                     std::forward<CompletionToken>(token));
    }
    // API 0.4.0: renaming also unpublishes it.
    boost::asio::awaitable<void> rename(std::string name, std::string new_name) const;
    template <class CompletionToken>
    auto rename(std::string name, std::string new_name, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), rename(std::move(name), std::move(new_name)),
                                     std::forward<CompletionToken>(token));
    }
    boost::asio::awaitable<void> remove(std::string name) const;
    template <class CompletionToken>
    auto remove(std::string name, CompletionToken&& token) const {
        return detail::complete_with(get_executor(), remove(std::move(name)),
                                     std::forward<CompletionToken>(token));
    }

private:
    std::shared_ptr<detail::client_impl> c_;
};

} // namespace wrenn

#ifdef WRENN_HEADER_ONLY
#include <wrenn/impl/client.ipp>
#endif
