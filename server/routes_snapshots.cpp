// wrenn-local: snapshots (templates made from a capsule): creating one (a
// copy of the capsule's root, frozen meanwhile), listing and deleting them.
#include "api_errors.hpp"
#include "routes.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <algorithm>
#include <fstream>
#include <variant>

namespace wl {

namespace {

const std::string name_rule = "name must match ^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$";

void write_template_meta(app_state& app, const template_entry& t) {
    std::ofstream out(app.state_dir / "templates" / (t.name + ".json"));
    out << json_text(json::object{{"vcpus", t.vcpus},
                                  {"memory_mb", t.memory_mb},
                                  {"created_unix", static_cast<std::int64_t>(sys_clock::to_time_t(t.created_at))}});
}

asio::awaitable<bool> do_snapshot(app_state& app, std::shared_ptr<capsule> c, std::shared_ptr<template_entry> t,
                                  std::string prev, bool restore) {
    c->busy = true;
    if (prev == "running") co_await freeze(*c);
    std::error_code ec;
    {
        std::vector<std::string> cmd_{"rm", "-rf", "--one-file-system", t->dir.string()};
        if (fs::exists(t->dir, ec)) co_await run_host(std::move(cmd_));
    }
    std::vector<std::string> cmd_{"cp", "-a", "--", c->root.string(), t->dir.string()};
    int rc = co_await run_host(std::move(cmd_));
    bool ok = rc == 0 && c->status != "stopped";
    if (ok) {
        t->size_bytes = dir_size(t->dir);
        t->vcpus = c->vcpus;
        t->memory_mb = c->memory_mb;
        t->created_at = sys_clock::now();
        t->ready = true;
        write_template_meta(app, *t);
        log("snapshot %s of %s written (%lld bytes)", t->name.c_str(), c->id.c_str(),
            static_cast<long long>(t->size_bytes));
    } else {
        log("snapshot %s of %s failed (cp exit %d)", t->name.c_str(), c->id.c_str(), rc);
        auto it = app.templates.find(t->name);
        if (it != app.templates.end() && it->second == t) app.templates.erase(it);
        {
            std::vector<std::string> cmd_{"rm", "-rf", "--one-file-system", t->dir.string()};
            co_await run_host(std::move(cmd_));
        }
    }
    if (restore && c->status == "snapshotting") {
        if (prev == "running") thaw(*c);
        c->status = prev;
        c->touch();
    }
    c->busy = false;
    co_return ok;
}

} // namespace

asio::awaitable<answer> create_snapshot(app_state& app, const request& req) {
    auto checked_body = check_snapshot_body(req.body);
    if (auto* refusal = std::get_if<answer>(&checked_body)) co_return std::move(*refusal);
    auto sb = std::get<snapshot_body>(std::move(checked_body));
    const std::string sid = sb.sandbox_id;
    std::string name = sb.name;
    if (name.empty()) name = "template-" + random_hex(4);
    if (auto it = app.templates.find(name); it != app.templates.end()) {
        if (api_04()) co_return error_04(409, "conflict", "A snapshot named \"" + name + "\" already exists.");
        if (it->second->platform)
            co_return error_answer(409, "name_reserved", "template name is reserved by a global template");
        co_return error_answer(409, "template_name_taken",
                               "snapshot name already exists; delete the existing snapshot first to reuse this name");
    }
    auto c = find_capsule(app, sid);
    if (!c) co_return errors::capsule_not_found();
    if ((c->status != "running" && c->status != "paused") || c->busy) {
        if (api_04())
            co_return error_04(409, "conflict", "Sandbox must be running or paused to snapshot.", {{"status", c->status}});
        co_return error_answer(409, "invalid_state", "sandbox must be running or paused");
    }
    auto t = std::make_shared<template_entry>();
    t->name = name;
    t->type = "snapshot";
    t->ready = false;
    t->dir = app.state_dir / "templates" / name;
    t->created_at = sys_clock::now();
    app.templates[name] = t;
    std::string prev = c->status;
    if (app.snapshot_status == 202 || api_04()) {
        c->status = "snapshotting";
        c->touch();
        auto a = json_answer(202, capsule_json(*c, false));
        asio::co_spawn(app.io, do_snapshot(app, c, t, prev, true), asio::detached);
        co_return a;
    }
    c->status = "paused";
    c->touch();
    bool ok = co_await do_snapshot(app, c, t, prev, false);
    if (!ok) {
        if (prev == "running" && c->status == "paused") {
            thaw(*c);
            c->status = "running";
        }
        co_return error_answer(502, "agent_error", "failed to create snapshot");
    }
    co_return json_answer(201, template_json(*t));
}

answer list_snapshots(app_state& app, const std::map<std::string, std::string>& q) {
    std::string type = query_value(q, "type");
    std::string search = api_04() ? query_value(q, "q") : std::string();
    auto matches = [&](const template_entry& t) {
        if (search.empty()) return true;
        auto slug = t.platform ? std::string("wrenn") : std::string(local_team_slug);
        return t.name.find(search) != std::string::npos || slug.find(search) != std::string::npos;
    };
    std::vector<std::shared_ptr<template_entry>> v;
    for (auto& [n, t] : app.templates)
        if (t->ready && (type.empty() || t->type == type) && matches(*t)) v.push_back(t);
    std::stable_sort(v.begin(), v.end(), [](auto& a, auto& b) {
        if (a->platform != b->platform) return !a->platform;
        return a->created_at > b->created_at;
    });
    if (!api_04()) {
        json::array arr;
        for (auto& t : v) arr.push_back(template_json(*t));
        return json_answer(200, arr);
    }
    // 0.4.0: pages (page from 1, per_page 1-200, default 50; out of range is clamped)
    auto number = [&](const char* key, long dflt, long lo, long hi) {
        auto s = query_value(q, key);
        long n = dflt;
        if (!s.empty() && s.size() <= 9 && s.find_first_not_of("0123456789") == std::string::npos) n = std::stol(s);
        return std::clamp(n, lo, hi);
    };
    const long per_page = number("per_page", std::min(50L, app.snapshot_page_limit), 1, app.snapshot_page_limit);
    const long page = number("page", 1, 1, 1000000);
    const long total = static_cast<long>(v.size());
    const long pages = std::max(1L, (total + per_page - 1) / per_page);
    json::array arr;
    for (long i = (page - 1) * per_page; i < std::min(total, page * per_page); ++i)
        arr.push_back(template_json(*v[static_cast<std::size_t>(i)]));
    return json_answer(200, json::object{{"templates", std::move(arr)}, {"total", total}, {"page", page},
                                         {"per_page", per_page}, {"total_pages", pages}});
}

namespace {
// A template the team owns (0.4.0: platform ones are nobody's here), or the answer why not.
std::variant<std::shared_ptr<template_entry>, answer> owned_template(app_state& app, const std::string& name) {
    auto it = app.templates.find(name);
    if (it == app.templates.end() || !it->second->ready || it->second->platform)
        return error_04(404, "template_not_found", "Your team does not own a template named \"" + name + "\".");
    return it->second;
}
} // namespace

answer set_visibility(app_state& app, const std::string& name, const request& req) {
    auto checked_body = check_visibility_body(req.body);
    if (auto* refusal = std::get_if<answer>(&checked_body)) return std::move(*refusal);
    auto t = owned_template(app, name);
    if (auto* refusal = std::get_if<answer>(&t)) return std::move(*refusal);
    std::get<0>(t)->is_public = std::get<bool>(checked_body);
    return empty_answer(204);
}

answer rename_snapshot(app_state& app, const std::string& name, const request& req) {
    auto checked_body = check_rename_body(req.body);
    if (auto* refusal = std::get_if<answer>(&checked_body)) return std::move(*refusal);
    const auto& new_name = std::get<std::string>(checked_body);
    auto owned = owned_template(app, name);
    if (auto* refusal = std::get_if<answer>(&owned)) return std::move(*refusal);
    auto t = std::get<0>(owned);
    if (new_name == name) return empty_answer(204);
    if (app.templates.count(new_name))
        return error_04(409, "conflict", "A template named \"" + new_name + "\" already exists.");
    const auto dir = app.state_dir / "templates";
    std::error_code ec;
    fs::rename(dir / name, dir / new_name, ec);
    if (ec) return error_04(500, "internal_error", "Could not rename the template's files: " + ec.message());
    fs::rename(dir / (name + ".json"), dir / (new_name + ".json"), ec);
    app.templates.erase(name);
    t->name = new_name;
    t->dir = dir / new_name;
    t->is_public = false;  // renaming unpublishes (WIRE-0.4 §4.6)
    app.templates[new_name] = t;
    return empty_answer(204);
}

asio::awaitable<answer> delete_snapshot(app_state& app, const std::string& name) {
    if (!valid_name(name)) co_return error_answer(400, "invalid_request", "invalid snapshot name: " + name_rule);
    auto it = app.templates.find(name);
    const bool platform = name == "minimal" || (it != app.templates.end() && it->second->platform);
    if (api_04()) {  // the platform check comes first (WIRE-0.4 §4.3)
        if (platform) co_return error_04(403, "template_protected", "Platform templates cannot be deleted here.");
        if (it == app.templates.end() || !it->second->ready)
            co_return error_04(404, "template_not_found", "Template not found.");
    }
    if (name == "minimal") co_return error_answer(403, "forbidden", "the minimal template cannot be deleted");
    if (it == app.templates.end() || !it->second->ready)
        co_return error_answer(404, "not_found", "template not found");
    if (it->second->platform)
        co_return error_answer(403, "forbidden", "platform templates cannot be deleted here");
    auto t = it->second;
    app.templates.erase(it);
    std::error_code ec;
    fs::remove(app.state_dir / "templates" / (name + ".json"), ec);
    std::vector<std::string> cmd_{"rm", "-rf", "--one-file-system", t->dir.string()};
    int rc = co_await run_host(std::move(cmd_));
    if (rc != 0) co_return error_answer(500, "agent_error", "failed to delete snapshot files");
    log("snapshot %s deleted", name.c_str());
    co_return empty_answer(204);
}

} // namespace wl
