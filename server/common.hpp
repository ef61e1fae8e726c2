// wrenn-local: declarations shared by the server's translation units.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <chrono>
#include <deque>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <sys/types.h>

namespace wl {

namespace asio = boost::asio;
namespace json = boost::json;
namespace fs = std::filesystem;
using sys_clock = std::chrono::system_clock;

inline constexpr std::string_view server_version = "0.1.0";
inline constexpr std::string_view agent_version = "wrenn-local 0.1.0";
inline constexpr std::string_view home_dir = "/home/wrenn-user";

// ---- logging (stderr only; stdout carries the two start-up lines) ----
void log(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// ---- HTTP answer as the router produces it (no Beast types here) ----
// An open file sent as the body, read and written 64 KiB at a time: with a
// Content-Length of `length` bytes, or chunked when `length` is absent.
struct file_body {
    int fd = -1;
    std::optional<std::uint64_t> length;
    file_body(int f, std::optional<std::uint64_t> len) : fd(f), length(len) {}
    file_body(const file_body&) = delete;
    file_body& operator=(const file_body&) = delete;
    ~file_body();
};

struct answer {
    unsigned status = 200;
    std::string body;
    std::string content_type = "application/json";
    std::vector<std::pair<std::string, std::string>> headers;
    std::shared_ptr<file_body> file;  // when set, replaces `body`
};

// A request body handed over piece by piece (upload routes, see
// streamed_body): `data` is valid until the next call; `end` once the whole
// body has been read; `failed` when the connection broke or timed out.
struct body_piece {
    std::string_view data;
    bool end = false;
    bool failed = false;
};

struct request {
    std::string method;
    std::string target;
    std::optional<std::string> api_key;   // X-API-Key
    std::optional<std::string> authorization;
    std::string content_type;
    std::optional<std::uint64_t> content_length;
    std::string body;                                   // buffered routes
    std::function<asio::awaitable<body_piece>()> read_body;  // streamed routes
};

std::string json_text(const json::value& v);  // Go-style: <>& escaped, trailing "\n"
answer json_answer(unsigned status, const json::value& v);
answer error_answer(unsigned status, std::string_view code, std::string_view message);
answer empty_answer(unsigned status);

// ---- small helpers ----
std::string random_bytes(std::size_t n);
std::string random_hex(std::size_t nbytes);
std::string new_capsule_id();
bool valid_capsule_id(std::string_view s);
bool valid_name(std::string_view s);        // ^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$
bool valid_utf8(std::string_view s);
std::string rfc3339(sys_clock::time_point t);
std::string iso_date(sys_clock::time_point t);  // YYYY-MM-DD (UTC)
std::optional<sys_clock::time_point> parse_date(std::string_view s);
std::string percent_decode(std::string_view s);

// Strict request-body decoding (Go encoding/json semantics): the body must be
// a JSON object; a known field of the wrong type is an error.
enum class jtype { string, int32, uint32, boolean, string_array, string_map };
std::optional<json::object> parse_object_body(std::string_view body,
                                              std::initializer_list<std::pair<std::string_view, jtype>> fields);

// ---- sandbox / processes (sandbox.cpp) ----
struct spawn_spec {
    std::vector<std::string> argv;      // cmd + args
    std::vector<std::string> env;       // "K=V"
    std::string cwd;                    // inside the capsule (absolute, normalised)
    fs::path root;                      // capsule root on the host
    std::string cgroup_procs;           // freezer cgroup.procs to join, or empty
    bool capture = true;                // stdout/stderr pipes, else /dev/null
    pid_t ns_pid = -1;                  // bwrap mode: a process inside the capsule's namespaces
};

struct spawned {
    pid_t pid = -1;
    int out_fd = -1, err_fd = -1, pidfd = -1;
};

struct sandbox_config {
    bool bwrap = false;
    std::string bwrap_path;
    std::string nsenter_path;            // with setpriv: one namespace set per capsule
    std::vector<std::string> usr_links;  // "usr/bin:/bin" etc. present on host
    std::string freezer_root;            // our freezer parent cgroup, or empty
};
extern sandbox_config sandbox;

void detect_sandbox();
// Resolves a request cwd to an absolute path inside the capsule; nullopt if it
// is not an existing directory.
std::optional<std::string> resolve_cwd(const fs::path& root, std::string_view cwd);
spawned spawn_process(const spawn_spec& spec);  // throws std::system_error
// bwrap mode: starts the capsule's long-lived namespace holder (`bwrap ...
// sleep infinity`); returns it and sets ns_pid to the pid-namespace init.
spawned spawn_capsule_init(const fs::path& root, const std::string& cgroup_procs, pid_t& ns_pid);
// Waits (without blocking the thread) for the child to exit and reaps it.
asio::awaitable<int> wait_child(pid_t pid, int pidfd);
// Runs a host helper (cp, rm) and returns its exit status (-1 on spawn failure).
asio::awaitable<int> run_host(std::vector<std::string> argv);

std::vector<pid_t> process_tree(const std::vector<pid_t>& roots);  // roots + descendants that exist
std::string proc_comm(pid_t pid);
void signal_tree(pid_t root, int sig, bool skip_bwrap);

// Freezer cgroup per capsule (empty strings / no-ops when unavailable).
std::string freezer_dir(std::string_view capsule_id);
bool freezer_create(std::string_view capsule_id);
bool freezer_set(std::string_view capsule_id, bool frozen);
std::string freezer_state(std::string_view capsule_id);
std::vector<pid_t> freezer_procs(std::string_view capsule_id);
void freezer_remove(std::string_view capsule_id);

// ---- server state (state.cpp) ----
struct proc_entry {
    pid_t pid = 0;
    std::string tag;
    std::string cmd;
    std::vector<std::string> args;
    bool background = false;
};

struct metric_sample {
    std::int64_t t = 0;
    double cpu_pct = 0;
    std::int64_t mem_bytes = 0, disk_bytes = 0;
};

struct capsule {
    std::string id, status, template_name;
    int vcpus = 1, memory_mb = 512, timeout_sec = 0;
    sys_clock::time_point created_at, last_updated;
    std::optional<sys_clock::time_point> started_at, last_active_at;
    fs::path dir, root;
    bool has_cgroup = false;
    pid_t init_pid = -1, ns_pid = -1;        // bwrap mode: namespace holder
    std::map<pid_t, proc_entry> procs;
    std::vector<metric_sample> samples;     // every 2 s, trimmed to 24 h
    std::vector<metric_sample> paused_samples;
    double last_cpu_ticks = -1;
    std::chrono::steady_clock::time_point last_cpu_time;
    std::int64_t disk_bytes = 0;
    std::chrono::steady_clock::time_point disk_checked{};
    bool busy = false;                       // a create/snapshot copy is in progress

    void touch() { last_updated = sys_clock::now(); }
};

struct template_entry {
    std::string name, type;
    int vcpus = 0, memory_mb = 0;
    std::int64_t size_bytes = 0;
    sys_clock::time_point created_at;
    bool platform = false, is_protected = false, ready = true;
    fs::path dir;  // snapshot files (empty for base templates)
};

struct app_state {
    asio::io_context& io;
    std::string api_key;
    std::string prefix;
    fs::path state_dir;
    int snapshot_status = 202;
    std::map<std::string, std::shared_ptr<capsule>> capsules;
    std::map<std::string, std::shared_ptr<template_entry>> templates;
    std::map<std::string, std::pair<double, double>> usage;  // date -> cpu min, ram MB min
    int peak_running = 0, peak_vcpus = 0, peak_memory = 0;
    std::deque<std::pair<std::int64_t, std::array<int, 3>>> stats_history;  // every 30 s

    explicit app_state(asio::io_context& ctx) : io(ctx) {}
};

json::value capsule_json(const capsule& c, bool single);
json::value template_json(const template_entry& t);
void load_templates(app_state& app);
std::shared_ptr<capsule> find_capsule(app_state& app, std::string_view id);

// Lifecycle operations; they do not check preconditions (the routes do).
asio::awaitable<void> freeze(capsule& c);
// running -> pausing -> paused, freezing its processes (API pause and TTL auto-pause).
asio::awaitable<void> pause_capsule(capsule& c);
void thaw(capsule& c);
asio::awaitable<void> kill_all(capsule& c);
// bwrap mode: (re)starts the namespace holder when it is not alive.
void ensure_init(app_state& app, const std::shared_ptr<capsule>& c);
asio::awaitable<void> destroy_capsule(app_state& app, std::shared_ptr<capsule> c);
void kill_everything(app_state& app);     // at exit, synchronous
void start_reaper(app_state& app);
std::int64_t dir_size(const fs::path& p);
void sample_metrics(capsule& c);

// ---- routes (routes.cpp) ----
// True for the routes whose body the HTTP layer must not buffer: they get it
// through request::read_body (multipart uploads).
bool streamed_body(const app_state& app, std::string_view method, std::string_view target);
asio::awaitable<answer> handle_request(app_state& app, request req);

// ---- file routes (files.cpp), after authentication ----
// op: write, read, list, mkdir, remove, stream/write, stream/read
asio::awaitable<answer> file_route(app_state& app, const std::string& id, const std::string& op, request& req);

// ---- HTTP server (http.cpp) ----
struct tls_files { std::string cert, key; };
// Binds and starts accepting; returns the bound port.
unsigned short start_http(app_state& app, const std::string& host, unsigned short port,
                          const std::optional<tls_files>& tls);

} // namespace wl
