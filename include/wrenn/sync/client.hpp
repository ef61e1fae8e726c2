// The blocking API: the same classes and names as the awaitable API, each
// call a thin wrapper running the same coroutine on a private io_context.
#pragma once

#include <wrenn/capsule.hpp>
#include <wrenn/client.hpp>
#include <wrenn/sync/runner.hpp>

#include <memory>

namespace wrenn::sync {

class capsules_api;
class snapshots_api;

class client {
public:
    explicit client(config cfg = {})
        : runner_(std::make_shared<sync::runner>()), async_(runner_->get_executor(), std::move(cfg)) {}

    const config& settings() const { return async_.settings(); }
    capsules_api capsules() const;
    snapshots_api snapshots() const;

    // The awaitable client underneath, and the runner that drives it.
    const wrenn::client& async() const { return async_; }
    sync::runner& runner() const { return *runner_; }
    const std::shared_ptr<sync::runner>& shared_runner() const { return runner_; }

private:
    std::shared_ptr<sync::runner> runner_;
    wrenn::client async_;
};

class capsules_api {
public:
    explicit capsules_api(const client& c) : c_(c) {}
    capsule_info create(create_capsule_request req = {}) const { return run(api().create(std::move(req))); }
    std::vector<capsule_info> list() const { return run(api().list()); }
    capsule_info get(std::string id) const { return run(api().get(id)); }
    void destroy(std::string id) const { run(api().destroy(id)); }
    capsule_info pause(std::string id) const { return run(api().pause(id)); }
    capsule_info resume(std::string id) const { return run(api().resume(id)); }
    void ping(std::string id) const { run(api().ping(id)); }
    capsule_metrics metrics(std::string id, std::string range = {}) const { return run(api().metrics(id, range)); }
    team_stats stats(std::string range = {}) const { return run(api().stats(range)); }
    team_usage usage(std::string from = {}, std::string to = {}) const { return run(api().usage(from, to)); }
    exec_result exec(std::string id, exec_request req) const { return run(api().exec(id, std::move(req))); }
    command_handle exec_background(std::string id, exec_request req) const {
        return run(api().exec_background(id, std::move(req)));
    }

private:
    wrenn::capsules_api api() const { return c_.async().capsules(); }
    template <class T>
    T run(boost::asio::awaitable<T> op) const { return c_.runner().run(std::move(op)); }
    client c_;
};

class snapshots_api {
public:
    explicit snapshots_api(const client& c) : c_(c) {}
    snapshot_result create(std::string capsule_id, std::string name = {}, bool overwrite = false) const {
        return c_.runner().run(c_.async().snapshots().create(capsule_id, name, overwrite));
    }
    std::vector<template_info> list(std::string type = {}) const {
        return c_.runner().run(c_.async().snapshots().list(type));
    }
    void remove(std::string name) const { c_.runner().run(c_.async().snapshots().remove(name)); }

private:
    client c_;
};

inline capsules_api client::capsules() const { return capsules_api(*this); }
inline snapshots_api client::snapshots() const { return snapshots_api(*this); }

} // namespace wrenn::sync
