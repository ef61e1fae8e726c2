// wrenn-local: the REST routes' table (WIRE.md §1.3, §3, §4, §5, §6): runs
// the route plan_route chose (front.hpp) with its handler, one source per
// resource (routes.hpp; files in files.cpp).
#include "api_errors.hpp"
#include "routes.hpp"
#include "files.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <algorithm>

namespace wl {

asio::awaitable<answer> handle_request(app_state& app, request req) {
    route_plan plan = plan_route(app, req);
    if (plan.early) co_return std::move(*plan.early);
    const std::string& id = plan.id;
    switch (plan.route) {
    case route_id::list_capsules: {
        std::vector<std::shared_ptr<capsule>> v;
        for (auto& [cid, c] : app.capsules)
            if (c->status != "stopped" && c->status != "error") v.push_back(c);
        std::sort(v.begin(), v.end(), [](auto& a, auto& b) {
            return a->created_at != b->created_at ? a->created_at > b->created_at : a->id > b->id;
        });
        json::array arr;
        for (auto& c : v) arr.push_back(capsule_json(*c, false));
        co_return json_answer(200, arr);
    }
    case route_id::create_capsule:
        co_return co_await create_capsule(app, req);
    case route_id::get_capsule: {
        auto c = find_capsule(app, id);
        if (!c) co_return errors::capsule_not_found();
        co_return json_answer(200, capsule_json(*c, true));
    }
    case route_id::delete_capsule: {
        auto c = find_capsule(app, id);
        if (!c) co_return errors::capsule_not_found("resource not found");
        if (api_04()) {  // 202 at once; stopping, then stopped (WIRE-0.4 §3.4)
            if (c->status != "stopped" && c->status != "error" && c->status != "stopping") {
                c->status = "stopping";
                c->touch();
                asio::co_spawn(app.io, destroy_capsule(app, c), asio::detached);
            }
            co_return empty_answer(202);
        }
        if (c->status != "stopped") co_await destroy_capsule(app, c);
        co_return empty_answer(204);
    }
    case route_id::capsule_action:
        co_return co_await capsule_action(app, id, plan.arg);
    case route_id::exec:
        co_return co_await exec(app, id, req);
    case route_id::metrics:
        co_return metrics(app, id, plan.query);
    case route_id::list_processes:
        co_return co_await list_processes(app, id);
    case route_id::kill_process:
        co_return co_await kill_process(app, id, plan.arg, plan.query);
    case route_id::files:
        co_return co_await file_route(app, id, plan.arg, req);
    case route_id::stats:
        co_return stats(app, plan.query);
    case route_id::usage:
        co_return usage(app, plan.query);
    case route_id::create_snapshot:
        co_return co_await create_snapshot(app, req);
    case route_id::list_snapshots:
        co_return list_snapshots(app, plan.query);
    case route_id::delete_snapshot:
        co_return co_await delete_snapshot(app, id);
    case route_id::set_visibility:
        co_return set_visibility(app, id, req);
    case route_id::rename_snapshot:
        co_return rename_snapshot(app, id, req);
    }
    co_return error_answer(404, "not_found", "route not found");
}

} // namespace wl
