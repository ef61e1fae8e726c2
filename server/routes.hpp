// wrenn-local: the REST routes' handlers, one source per resource, as the
// route table (routes.cpp, handle_request) calls them once plan_route
// (front.hpp) has chosen the route and checked the API key. Also the answers
// and look-ups these handlers share.
#pragma once

#include "api_errors.hpp"
#include "common.hpp"
#include "front.hpp"

#include <map>
#include <string>

namespace wl {

inline answer bad_id() {
    return api_04() ? error_04(400, "invalid_request", "Invalid sandbox ID.")
                    : error_answer(400, "invalid_request", "invalid sandbox ID");
}
inline answer not_running(const capsule& c) {
    return errors::not_running(c.status, "sandbox is not running (status: " + c.status + ")");
}

// The value of query parameter `k`; "" when absent.
inline std::string query_value(const query_map& m, const std::string& k) {
    auto it = m.find(k);
    return it == m.end() ? std::string{} : it->second;
}

// ---- capsules (routes_capsules.cpp) ----
asio::awaitable<answer> create_capsule(app_state& app, const request& req);
// action: pause, resume or ping.
asio::awaitable<answer> capsule_action(app_state& app, const std::string& id, const std::string& action);

// ---- commands and processes (routes_processes.cpp) ----
asio::awaitable<answer> exec(app_state& app, const std::string& id, const request& req);
asio::awaitable<answer> list_processes(app_state& app, const std::string& id);
// selector: a pid or a tag.
asio::awaitable<answer> kill_process(app_state& app, const std::string& id, const std::string& selector,
                                     const std::map<std::string, std::string>& q);

// ---- metrics, team stats and usage (routes_metrics.cpp) ----
answer metrics(app_state& app, const std::string& id, const std::map<std::string, std::string>& q);
answer stats(app_state& app, const std::map<std::string, std::string>& q);
answer usage(app_state& app, const std::map<std::string, std::string>& q);

// ---- snapshots (routes_snapshots.cpp) ----
asio::awaitable<answer> create_snapshot(app_state& app, const request& req);
answer list_snapshots(app_state& app, const std::map<std::string, std::string>& q);
asio::awaitable<answer> delete_snapshot(app_state& app, const std::string& name);
answer set_visibility(app_state& app, const std::string& name, const request& req);
answer rename_snapshot(app_state& app, const std::string& name, const request& req);

} // namespace wl
