#pragma once

#include <wrenn/models.hpp>

#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>
#include <boost/json/object.hpp>
#include <boost/json/array.hpp>

#include <wrenn/impl/json_read.hpp>

#include <array>
#include <cmath>

namespace wrenn {

namespace json = boost::json;



namespace detail {
inline constexpr std::array<std::string_view, 12> state_names{
    "pending", "starting", "running", "pausing", "paused", "snapshotting",
    "resuming", "stopping", "hibernated", "stopped", "missing", "error"};
} // namespace detail

WRENN_DECL std::string_view to_string(capsule_state s) {
    auto i = static_cast<std::size_t>(s);
    return i < detail::state_names.size() ? detail::state_names[i] : std::string_view("unknown");
}

WRENN_DECL capsule_state parse_capsule_state(std::string_view s) {
    for (std::size_t i = 0; i < detail::state_names.size(); ++i)
        if (detail::state_names[i] == s) return static_cast<capsule_state>(i);
    return capsule_state::unknown;
}

// ---- capsule_info ----
WRENN_DECL void tag_invoke(json::value_from_tag, json::value& jv, const capsule_info& c) {
    json::object o;
    o["id"] = c.id;
    o["status"] = c.status.raw;
    o["template"] = c.template_name;
    o["vcpus"] = c.vcpus;
    o["memory_mb"] = c.memory_mb;
    o["timeout_sec"] = c.timeout_sec;
    if (c.guest_ip) o["guest_ip"] = *c.guest_ip;
    if (c.host_ip) o["host_ip"] = *c.host_ip;
    o["created_at"] = c.created_at;
    if (c.started_at) o["started_at"] = *c.started_at;
    if (c.last_active_at) o["last_active_at"] = *c.last_active_at;
    o["last_updated"] = c.last_updated;
    if (!c.metadata.empty()) o["metadata"] = detail::js::map_to_object(c.metadata);
    if (c.disk_size_mb) o["disk_size_mb"] = *c.disk_size_mb;
    if (c.disk_used_mb) o["disk_used_mb"] = *c.disk_used_mb;
    jv = std::move(o);
}

WRENN_DECL capsule_info tag_invoke(json::value_to_tag<capsule_info>, const json::value& v) {
    using namespace detail::js;
    capsule_info c;
    c.id = str(v, "id");
    c.status = capsule_status(str(v, "status"));
    c.template_name = str(v, "template");
    c.vcpus = i32(v, "vcpus");
    c.memory_mb = i32(v, "memory_mb");
    c.timeout_sec = i32(v, "timeout_sec");
    c.guest_ip = opt_str(v, "guest_ip");
    c.host_ip = opt_str(v, "host_ip");
    c.created_at = str(v, "created_at");
    c.started_at = opt_str(v, "started_at");
    c.last_active_at = opt_str(v, "last_active_at");
    c.last_updated = str(v, "last_updated");
    c.metadata = str_map(v, "metadata");
    c.disk_size_mb = opt_int(v, "disk_size_mb");
    c.disk_used_mb = opt_int(v, "disk_used_mb");
    return c;
}

// ---- template_info ----
WRENN_DECL void tag_invoke(json::value_from_tag, json::value& jv, const template_info& t) {
    json::object o;
    o["name"] = t.name;
    o["type"] = t.type;
    if (t.vcpus) o["vcpus"] = t.vcpus;
    if (t.memory_mb) o["memory_mb"] = t.memory_mb;
    o["size_bytes"] = t.size_bytes;
    o["created_at"] = t.created_at;
    o["platform"] = t.platform;
    o["protected"] = t.is_protected;
    o["public"] = t.is_public;
    o["owned"] = t.owned;
    if (!t.team_slug.empty()) o["team_slug"] = t.team_slug;
    if (!t.metadata.empty()) o["metadata"] = detail::js::map_to_object(t.metadata);
    jv = std::move(o);
}

WRENN_DECL template_info tag_invoke(json::value_to_tag<template_info>, const json::value& v) {
    using namespace detail::js;
    template_info t;
    t.name = str(v, "name");
    t.type = str(v, "type");
    t.vcpus = i32(v, "vcpus");
    t.memory_mb = i32(v, "memory_mb");
    t.size_bytes = i64(v, "size_bytes");
    t.created_at = str(v, "created_at");
    t.platform = boolean(v, "platform");
    t.is_protected = boolean(v, "protected");
    t.metadata = str_map(v, "metadata");
    t.is_public = boolean(v, "public");
    t.owned = boolean(v, "owned");
    t.team_slug = str(v, "team_slug");
    return t;
}

// ---- metrics ----
WRENN_DECL void tag_invoke(json::value_from_tag, json::value& jv, const metrics_point& p) {
    jv = {{"timestamp_unix", p.timestamp_unix}, {"cpu_pct", p.cpu_pct},
          {"mem_bytes", p.mem_bytes}, {"disk_bytes", p.disk_bytes}};
}

WRENN_DECL metrics_point tag_invoke(json::value_to_tag<metrics_point>, const json::value& v) {
    using namespace detail::js;
    return {i64(v, "timestamp_unix"), num(v, "cpu_pct"), i64(v, "mem_bytes"), i64(v, "disk_bytes")};
}

WRENN_DECL void tag_invoke(json::value_from_tag, json::value& jv, const capsule_metrics& m) {
    json::array pts;
    for (auto& p : m.points) pts.push_back(json::value_from(p));
    jv = {{"sandbox_id", m.capsule_id}, {"range", m.range}, {"points", std::move(pts)}};
}

WRENN_DECL capsule_metrics tag_invoke(json::value_to_tag<capsule_metrics>, const json::value& v) {
    using namespace detail::js;
    return {str(v, "sandbox_id"), str(v, "range"), list_of<metrics_point>(v, "points")};
}

// ---- team stats / usage ----
WRENN_DECL void tag_invoke(json::value_from_tag, json::value& jv, const team_stats& s) {
    json::object cur{{"running_count", s.current.running_count},
                     {"vcpus_reserved", s.current.vcpus_reserved},
                     {"memory_mb_reserved", s.current.memory_mb_reserved}};
    cur["sampled_at"] = s.current.sampled_at ? json::value(*s.current.sampled_at) : json::value(nullptr);
    json::array labels, running, vcpus, mem;
    for (auto& l : s.series.labels) labels.push_back(json::value(l));
    for (auto x : s.series.running) running.push_back(x);
    for (auto x : s.series.vcpus) vcpus.push_back(x);
    for (auto x : s.series.memory_mb) mem.push_back(x);
    jv = {{"range", s.range},
          {"current", std::move(cur)},
          {"peaks", {{"running_count", s.peaks.running_count}, {"vcpus", s.peaks.vcpus},
                     {"memory_mb", s.peaks.memory_mb}}},
          {"series", {{"labels", std::move(labels)}, {"running", std::move(running)},
                      {"vcpus", std::move(vcpus)}, {"memory_mb", std::move(mem)}}}};
}

WRENN_DECL team_stats tag_invoke(json::value_to_tag<team_stats>, const json::value& v) {
    using namespace detail::js;
    team_stats s;
    s.range = str(v, "range");
    if (auto* c = find(v, "current")) {
        s.current.running_count = i32(*c, "running_count");
        s.current.vcpus_reserved = i32(*c, "vcpus_reserved");
        s.current.memory_mb_reserved = i32(*c, "memory_mb_reserved");
        s.current.sampled_at = opt_str(*c, "sampled_at");
    }
    if (auto* p = find(v, "peaks")) {
        s.peaks.running_count = i32(*p, "running_count");
        s.peaks.vcpus = i32(*p, "vcpus");
        s.peaks.memory_mb = i32(*p, "memory_mb");
    }
    if (auto* se = find(v, "series")) {
        s.series.labels = opt_str_list(*se, "labels").value_or(std::vector<std::string>{});
        s.series.running = int_list(*se, "running");
        s.series.vcpus = int_list(*se, "vcpus");
        s.series.memory_mb = int_list(*se, "memory_mb");
    }
    return s;
}

WRENN_DECL void tag_invoke(json::value_from_tag, json::value& jv, const usage_point& p) {
    jv = {{"date", p.date}, {"cpu_minutes", p.cpu_minutes}, {"ram_mb_minutes", p.ram_mb_minutes}};
}

WRENN_DECL usage_point tag_invoke(json::value_to_tag<usage_point>, const json::value& v) {
    using namespace detail::js;
    return {str(v, "date"), num(v, "cpu_minutes"), num(v, "ram_mb_minutes")};
}

WRENN_DECL void tag_invoke(json::value_from_tag, json::value& jv, const team_usage& u) {
    json::array pts;
    for (auto& p : u.points) pts.push_back(json::value_from(p));
    jv = {{"from", u.from}, {"to", u.to}, {"points", std::move(pts)}};
}

WRENN_DECL team_usage tag_invoke(json::value_to_tag<team_usage>, const json::value& v) {
    using namespace detail::js;
    return {str(v, "from"), str(v, "to"), list_of<usage_point>(v, "points")};
}

// ---- requests ----
WRENN_DECL void tag_invoke(json::value_from_tag, json::value& jv, const create_capsule_request& r) {
    json::object o;
    if (r.template_name) o["template"] = *r.template_name;
    if (r.vcpus) o["vcpus"] = *r.vcpus;
    if (r.memory_mb) o["memory_mb"] = *r.memory_mb;
    if (r.timeout_sec) o["timeout_sec"] = *r.timeout_sec;
    if (!r.metadata.empty()) o["metadata"] = detail::js::map_to_object(r.metadata);
    if (!r.volume_ids.empty()) {
        json::array ids;
        for (auto& id : r.volume_ids) ids.push_back(json::value(id));
        o["volume_ids"] = std::move(ids);
    }
    jv = std::move(o);
}

WRENN_DECL create_capsule_request tag_invoke(json::value_to_tag<create_capsule_request>,
                                             const json::value& v) {
    using namespace detail::js;
    create_capsule_request r;
    r.template_name = opt_str(v, "template");
    if (auto x = opt_int(v, "vcpus")) r.vcpus = static_cast<int>(*x);
    if (auto x = opt_int(v, "memory_mb")) r.memory_mb = static_cast<int>(*x);
    if (auto x = opt_int(v, "timeout_sec")) r.timeout_sec = static_cast<int>(*x);
    r.metadata = str_map(v, "metadata");
    if (auto ids = opt_str_list(v, "volume_ids")) r.volume_ids = *ids;
    return r;
}

WRENN_DECL void tag_invoke(json::value_from_tag, json::value& jv, const exec_request& r) {
    json::object o;
    o["cmd"] = r.cmd;
    json::array args;
    for (auto& a : r.args) args.push_back(json::value(a));
    o["args"] = std::move(args);
    o["background"] = r.background;
    if (r.timeout_sec) o["timeout_sec"] = *r.timeout_sec;
    if (r.tag) o["tag"] = *r.tag;
    if (r.envs) o["envs"] = detail::js::map_to_object(*r.envs);
    if (r.cwd) o["cwd"] = *r.cwd;
    jv = std::move(o);
}

WRENN_DECL exec_request tag_invoke(json::value_to_tag<exec_request>, const json::value& v) {
    using namespace detail::js;
    exec_request r;
    r.cmd = str(v, "cmd");
    r.args = opt_str_list(v, "args").value_or(std::vector<std::string>{});
    r.background = boolean(v, "background");
    if (auto x = opt_int(v, "timeout_sec")) r.timeout_sec = static_cast<int>(*x);
    r.tag = opt_str(v, "tag");
    if (find(v, "envs")) r.envs = str_map(v, "envs");
    r.cwd = opt_str(v, "cwd");
    return r;
}

WRENN_DECL void tag_invoke(json::value_from_tag, json::value& jv, const process_info& p) {
    json::object o;
    o["pid"] = p.pid;
    if (p.tag && !p.tag->empty()) o["tag"] = *p.tag;
    if (p.cmd) o["cmd"] = *p.cmd;
    if (p.args && !p.args->empty()) {
        json::array a;
        for (auto& s : *p.args) a.push_back(json::value(s));
        o["args"] = std::move(a);
    }
    jv = std::move(o);
}

WRENN_DECL process_info tag_invoke(json::value_to_tag<process_info>, const json::value& v) {
    using namespace detail::js;
    process_info p;
    p.pid = i32(v, "pid");
    p.tag = opt_str(v, "tag");
    p.cmd = opt_str(v, "cmd");
    p.args = opt_str_list(v, "args");
    return p;
}

WRENN_DECL void tag_invoke(json::value_from_tag, json::value& jv, const file_entry& e) {
    json::object o;
    o["name"] = e.name;
    o["path"] = e.path;
    o["type"] = e.type;
    o["size"] = e.size;
    o["mode"] = e.mode;
    o["permissions"] = e.permissions;
    o["owner"] = e.owner;
    o["group"] = e.group;
    o["modified_at"] = e.modified_at;
    if (e.symlink_target) o["symlink_target"] = *e.symlink_target;
    jv = std::move(o);
}

WRENN_DECL file_entry tag_invoke(json::value_to_tag<file_entry>, const json::value& v) {
    using namespace detail::js;
    file_entry e;
    e.name = str(v, "name");
    e.path = str(v, "path");
    e.type = str(v, "type");
    e.size = i64(v, "size");
    auto mode = opt_int(v, "mode");
    e.mode = mode && *mode >= 0 && *mode <= UINT32_MAX ? static_cast<std::uint32_t>(*mode) : 0;
    e.permissions = str(v, "permissions");
    e.owner = str(v, "owner");
    e.group = str(v, "group");
    e.modified_at = i64(v, "modified_at");
    e.symlink_target = opt_str(v, "symlink_target");
    return e;
}

} // namespace wrenn
