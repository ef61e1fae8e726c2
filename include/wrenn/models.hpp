// Plain structs for every JSON shape of the protocol, with Boost.JSON
// conversions both ways (the SDK reads them, wrenn-local writes them).
// Readers are lenient: unknown fields are ignored, every field may be
// missing, and unknown enum strings are kept verbatim.
#pragma once

#include <wrenn/detail/config.hpp>

#include <boost/json/fwd.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace wrenn {

// Capsule status (WIRE.md §2.2). `unknown` keeps the raw string in capsule_status::raw.
enum class capsule_state {
    pending, starting, running, pausing, paused, snapshotting, resuming,
    stopping, hibernated, stopped, missing, error, unknown
};

WRENN_DECL std::string_view to_string(capsule_state s);
WRENN_DECL capsule_state parse_capsule_state(std::string_view s);

struct capsule_status {
    capsule_state state = capsule_state::unknown;
    std::string raw{};  // exactly what the server said

    capsule_status() = default;
    capsule_status(capsule_state s) : state(s), raw(to_string(s)) {}
    explicit capsule_status(std::string_view text) : state(parse_capsule_state(text)), raw(text) {}
    friend bool operator==(const capsule_status& a, capsule_state b) { return a.state == b; }
    friend bool operator==(const capsule_status& a, const capsule_status& b) { return a.raw == b.raw; }
};

using string_map = std::map<std::string, std::string>;

struct capsule_info {
    std::string id{};
    capsule_status status{};
    std::string template_name{};     // JSON "template"
    int vcpus = 0;
    int memory_mb = 0;
    int timeout_sec = 0;
    std::string created_at{};        // RFC 3339, as sent
    std::optional<std::string> started_at{};
    std::optional<std::string> last_active_at{};
    std::string last_updated{};
    string_map metadata{};
    std::optional<std::string> guest_ip{}, host_ip{};  // older servers
    std::optional<std::int64_t> disk_size_mb{}, disk_used_mb{};  // v0.2.0
};

struct template_info {
    std::string name{};
    std::string type{};              // "base", "snapshot", or whatever the server says
    int vcpus = 0;
    int memory_mb = 0;
    std::int64_t size_bytes = 0;
    std::string created_at{};
    bool platform = false;
    bool is_protected = false;     // JSON "protected"
    string_map metadata{};
    // API 0.4.0: sharing between teams
    bool is_public = false;        // JSON "public": launchable by others as <team_slug>/<name>
    bool owned = false;            // the caller's team owns it
    std::string team_slug{};       // the owning team's slug
};

// One page of GET /v1/snapshots. API 0.4.0 pages the list; older servers
// answer every template at once, which reads as one page of them all.
struct template_page {
    std::vector<template_info> templates{};
    int total = 0;        // templates on all pages
    int page = 1;         // 1-based
    int per_page = 0;
    int total_pages = 1;
};

// Which page of the list to ask for, and of what. Views, consumed before
// list_page() returns.
struct template_page_request {
    std::string_view type{};    // "base", "snapshot"; empty: both
    std::string_view search{};  // over template names and team slugs (API 0.4.0; older servers list everything)
    int page = 1;
    int per_page = 50;          // 1 to 200
};
static_assert(std::is_trivially_destructible_v<template_page_request>, "options must stay views");

struct metrics_point {
    std::int64_t timestamp_unix = 0;
    double cpu_pct = 0;
    std::int64_t mem_bytes = 0;
    std::int64_t disk_bytes = 0;
};

struct capsule_metrics {
    std::string capsule_id{};        // JSON "sandbox_id"
    std::string range{};
    std::vector<metrics_point> points{};
};

struct team_stats {
    std::string range{};
    struct current_t {
        int running_count = 0, vcpus_reserved = 0, memory_mb_reserved = 0;
        std::optional<std::string> sampled_at{};
    } current;
    struct peaks_t { int running_count = 0, vcpus = 0, memory_mb = 0; } peaks;
    struct series_t {
        std::vector<std::string> labels{};
        std::vector<std::int64_t> running{}, vcpus{}, memory_mb{};
    } series;
};

struct usage_point {
    std::string date{};
    double cpu_minutes = 0;
    double ram_mb_minutes = 0;
};

struct team_usage {
    std::string from{}, to{};
    std::vector<usage_point> points{};
};

// POST /v1/capsules body; only set fields are sent.
struct create_capsule_request {
    std::optional<std::string> template_name{};
    std::optional<int> vcpus{}, memory_mb{}, timeout_sec{};
    string_map metadata{};                 // API 0.4.0: labels (older servers ignore them)
    std::vector<std::string> volume_ids{};  // API 0.4.0: volumes to attach, by id or name
};

// POST /v1/capsules/{id}/exec body (WIRE.md §5.1).
struct exec_request {
    std::string cmd{};
    std::vector<std::string> args{};
    std::optional<int> timeout_sec{};
    bool background = false;
    std::optional<std::string> tag{};
    std::optional<string_map> envs{};
    std::optional<std::string> cwd{};
};

// What a command gave. Foreground: stdout/stderr hold the exact bytes and
// exit_code is set. Background (`.background = true`): the process keeps
// running; pid and tag identify it, output is empty and exit_code is -1.
struct exec_result {
    std::string stdout_text{};
    std::string stderr_text{};
    int exit_code = -1;
    std::optional<std::int64_t> duration_ms{};
    int pid = 0;            // background only
    std::string tag{};      // background only
};

// Background answer (202).
struct command_handle {
    int pid = 0;
    std::string tag{};
    std::string capsule_id{};
};

enum class kill_signal { sigkill, sigterm };

struct process_info {
    int pid = 0;
    std::optional<std::string> tag{}, cmd{};
    std::optional<std::vector<std::string>> args{};
};

// One entry of a directory listing (WIRE.md §10.3).
struct file_entry {
    std::string name{};
    std::string path{};
    std::string type{};          // "file", "directory", "symlink", "unknown" or newer
    std::int64_t size = 0;
    std::uint32_t mode = 0;      // permission bits (some servers send the full st_mode)
    std::string permissions{};   // e.g. "-rw-r--r--"
    std::string owner{}, group{};
    std::int64_t modified_at = 0;  // Unix seconds
    std::optional<std::string> symlink_target{};

    bool is_dir() const { return type == "directory"; }
    bool is_file() const { return type == "file"; }
};

// What POST /v1/snapshots answered: a Template (201, older servers) or the
// capsule now `snapshotting` (202, v0.2.0). `name` is known in both cases
// when the caller chose it.
struct snapshot_result {
    std::string name{};
    std::optional<wrenn::template_info> snapshot{};  // 201: the new template
    std::optional<capsule_info> capsule{};           // 202: the capsule, `snapshotting`
};

// ---- Boost.JSON conversions ----
#define WRENN_JSON_CONVERSIONS(T)                                                         \
    WRENN_DECL void tag_invoke(boost::json::value_from_tag, boost::json::value&, const T&); \
    WRENN_DECL T tag_invoke(boost::json::value_to_tag<T>, const boost::json::value&);

WRENN_JSON_CONVERSIONS(capsule_info)
WRENN_JSON_CONVERSIONS(template_info)
WRENN_JSON_CONVERSIONS(metrics_point)
WRENN_JSON_CONVERSIONS(capsule_metrics)
WRENN_JSON_CONVERSIONS(team_stats)
WRENN_JSON_CONVERSIONS(usage_point)
WRENN_JSON_CONVERSIONS(team_usage)
WRENN_JSON_CONVERSIONS(create_capsule_request)
WRENN_JSON_CONVERSIONS(exec_request)
WRENN_JSON_CONVERSIONS(process_info)
WRENN_JSON_CONVERSIONS(file_entry)
#undef WRENN_JSON_CONVERSIONS

} // namespace wrenn

#ifdef WRENN_HEADER_ONLY
#include <wrenn/impl/models.ipp>
#endif
