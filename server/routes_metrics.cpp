// wrenn-local: a capsule's metrics, the team's stats and usage: the samples
// the server keeps (state.cpp), bucketed for the requested range.
#include "api_errors.hpp"
#include "routes.hpp"

#include <wrenn/models.hpp>

#include <boost/json/value_from.hpp>

#include <algorithm>

namespace wl {

answer metrics(app_state& app, const std::string& id, const std::map<std::string, std::string>& q) {
    if (!valid_capsule_id(id)) return bad_id();
    std::string range = query_value(q, "range");
    if (range.empty()) range = "10m";
    static const std::map<std::string, std::pair<int, int>> ranges{
        {"5m", {300, 0}},       {"10m", {600, 0}},      {"1h", {3600, 30}}, {"2h", {7200, 30}},
        {"6h", {21600, 300}},   {"12h", {43200, 300}},  {"24h", {86400, 300}}};
    auto rit = ranges.find(range);
    if (rit == ranges.end())
        return errors::bad_range("5m, 10m, 1h, 2h, 6h, 12h, 24h");
    auto c = find_capsule(app, id);
    if (!c) return errors::capsule_not_found();
    if (c->status != "running" && c->status != "paused") return errors::metrics_unavailable(c->status);
    auto [window, bucket] = rit->second;
    auto now = static_cast<std::int64_t>(sys_clock::to_time_t(sys_clock::now()));
    wrenn::capsule_metrics m;
    m.capsule_id = c->id;
    m.range = range;
    std::int64_t cur_bucket = -1;
    int n = 0;
    for (auto& s : c->samples) {
        if (s.t < now - window) continue;
        if (bucket == 0) {
            m.points.push_back({s.t, s.cpu_pct, s.mem_bytes, s.disk_bytes});
            continue;
        }
        std::int64_t b = s.t / bucket * bucket;
        if (b != cur_bucket) {
            if (n > 0) {
                auto& p = m.points.back();
                p.cpu_pct /= n;
                p.mem_bytes /= n;
                p.disk_bytes /= n;
            }
            m.points.push_back({b, 0, 0, 0});
            cur_bucket = b;
            n = 0;
        }
        auto& p = m.points.back();
        p.cpu_pct += s.cpu_pct;
        p.mem_bytes += s.mem_bytes;
        p.disk_bytes += s.disk_bytes;
        ++n;
    }
    if (bucket != 0 && n > 0) {
        auto& p = m.points.back();
        p.cpu_pct /= n;
        p.mem_bytes /= n;
        p.disk_bytes /= n;
    }
    return json_answer(200, json::value_from(m));
}

answer stats(app_state& app, const std::map<std::string, std::string>& q) {
    std::string range = query_value(q, "range");
    if (range.empty()) range = "1h";
    static const std::map<std::string, int> ranges{
        {"5m", 300}, {"1h", 3600}, {"6h", 21600}, {"24h", 86400}, {"30d", 30 * 86400}};
    auto rit = ranges.find(range);
    if (rit == ranges.end())
        return errors::bad_range("5m, 1h, 6h, 24h, 30d");
    wrenn::team_stats s;
    s.range = range;
    for (auto& [id, c] : app.capsules)
        if (c->status == "running") {
            ++s.current.running_count;
            s.current.vcpus_reserved += c->vcpus;
            s.current.memory_mb_reserved += c->memory_mb;
        }
    s.current.sampled_at = rfc3339(sys_clock::now());
    s.peaks = {s.current.running_count, s.current.vcpus_reserved, s.current.memory_mb_reserved};
    auto now = static_cast<std::int64_t>(sys_clock::to_time_t(sys_clock::now()));
    const std::int64_t step = std::max<std::int64_t>(30, rit->second / 60);
    std::int64_t cur = -1;
    for (auto& [t, v] : app.stats_history) {
        if (t < now - rit->second) continue;
        s.peaks.running_count = std::max(s.peaks.running_count, v[0]);
        s.peaks.vcpus = std::max(s.peaks.vcpus, v[1]);
        s.peaks.memory_mb = std::max(s.peaks.memory_mb, v[2]);
        std::int64_t b = t / step * step;
        if (b != cur) {
            cur = b;
            s.series.labels.push_back(rfc3339(sys_clock::from_time_t(b)));
            s.series.running.push_back(v[0]);
            s.series.vcpus.push_back(v[1]);
            s.series.memory_mb.push_back(v[2]);
        } else {
            s.series.running.back() = std::max<std::int64_t>(s.series.running.back(), v[0]);
            s.series.vcpus.back() = std::max<std::int64_t>(s.series.vcpus.back(), v[1]);
            s.series.memory_mb.back() = std::max<std::int64_t>(s.series.memory_mb.back(), v[2]);
        }
    }
    return json_answer(200, json::value_from(s));
}

answer usage(app_state& app, const std::map<std::string, std::string>& q) {
    auto today = *parse_date(iso_date(sys_clock::now()));
    auto from = today - std::chrono::hours(24 * 30), to = today;
    if (auto f = query_value(q, "from"); !f.empty()) {
        auto d = parse_date(f);
        if (!d) return error_answer(400, "invalid_request", "invalid 'from' date, expected YYYY-MM-DD");
        from = *d;
    }
    if (auto t = query_value(q, "to"); !t.empty()) {
        auto d = parse_date(t);
        if (!d) return error_answer(400, "invalid_request", "invalid 'to' date, expected YYYY-MM-DD");
        to = *d;
    }
    if (from > to) return error_answer(400, "invalid_request", "'from' must not be after 'to'");
    if (to - from > std::chrono::hours(24 * 366))
        return error_answer(400, "invalid_request", "date range must not exceed 366 days");
    wrenn::team_usage u;
    u.from = iso_date(from);
    u.to = iso_date(to);
    for (auto d = from; d <= to; d += std::chrono::hours(24)) {
        auto key = iso_date(d);
        auto it = app.usage.find(key);
        u.points.push_back({key, it == app.usage.end() ? 0.0 : it->second.first,
                            it == app.usage.end() ? 0.0 : it->second.second});
    }
    return json_answer(200, json::value_from(u));
}

} // namespace wl
