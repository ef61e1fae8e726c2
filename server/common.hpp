// wrenn-local: declarations shared by the server's translation units.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
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
// The JSON envelope {"error":{"code":..,"message":..}}; invalid UTF-8 in the
// message (it may quote the request) becomes U+FFFD.
answer error_answer(unsigned status, std::string_view code, std::string_view message);
answer empty_answer(unsigned status);

// ---- small helpers ----
std::string random_bytes(std::size_t n);
std::string random_hex(std::size_t nbytes);
std::string new_capsule_id();
bool valid_capsule_id(std::string_view s);
bool valid_name(std::string_view s);        // ^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$
bool valid_utf8(std::string_view s);
// Like Go's encoding/json: every byte that does not start a valid UTF-8
// sequence becomes U+FFFD (so a character split across two chunks becomes
// U+FFFD in both).
std::string utf8_replace_invalid(std::string_view s);
// Constant time: how long it takes depends on the length of `secret` only.
bool same_secret(std::string_view given, std::string_view secret);
std::string rfc3339(sys_clock::time_point t);
std::string iso_date(sys_clock::time_point t);  // YYYY-MM-DD (UTC)
// YYYY-MM-DD, a real day of the years min_date_year..max_date_year (UTC).
inline constexpr int min_date_year = 1900, max_date_year = 2200;
std::optional<sys_clock::time_point> parse_date(std::string_view s);

// Strict request-body decoding (Go encoding/json semantics): the body must be
// a JSON object; a known field of the wrong type is an error.
enum class jtype { string, int32, uint32, boolean, string_array, string_map };
std::optional<json::object> parse_object_body(std::string_view body,
                                              std::initializer_list<std::pair<std::string_view, jtype>> fields);

// ---- processes in sandboxes (sandbox.cpp, spawn.cpp) ----
struct spawn_spec {
    std::vector<std::string> argv;      // cmd + args
    std::vector<std::string> env;       // "K=V"
    std::string cwd;                    // inside the capsule (absolute, normalised)
    fs::path root;                      // capsule root on the host
    std::string cgroup_procs;           // freezer cgroup.procs to join, or empty
    bool capture = true;                // stdout/stderr pipes, else /dev/null
    int tty_fd = -1;                    // a PTY slave: the child's controlling tty and fds 0-2 (no pipes)
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
    std::string setsid_path;             // PTYs: the terminal's session starts inside the capsule
    std::vector<std::string> usr_links;  // "usr/bin:/bin" etc. present on host
    std::string freezer_root;            // our freezer parent cgroup, or empty
    // One network namespace per capsule (bwrap --unshare-net, its outside
    // link by slirp4netns); false: capsules share the host's network.
    bool netns = false;
    std::string slirp_path;
    int host_netns_fd = -1;              // the server's own network namespace (setns back)
};
extern sandbox_config sandbox;

void detect_sandbox();
// Resolves a request cwd to an absolute path inside the capsule; nullopt if it
// is not an existing directory.
std::optional<std::string> resolve_cwd(const fs::path& root, std::string_view cwd);
spawned spawn_process(const spawn_spec& spec);  // throws std::system_error
// The same, without blocking the server while the child gets to exec. Closes
// spec.tty_fd once the child has it. `spec` must live until it completes.
asio::awaitable<spawned> spawn_process_async(const spawn_spec& spec);
// Waits (without blocking the thread) for the child to exit and reaps it.
asio::awaitable<int> wait_child(pid_t pid, int pidfd);
// Runs a host helper (cp, rm) and returns its exit status (-1 on spawn failure).
asio::awaitable<int> run_host(std::vector<std::string> argv);

// ---- process output hubs (procs.cpp) ----
// What a process produces, as its hub hands it to subscribers.
struct proc_event {
    enum kind_t { out, err, exit } kind = out;
    std::string_view data;  // out / err (a PTY's output is `out`); valid during the call only
    int exit_code = 0;      // exit: the exit status, -1 when killed by a signal
};

// The server side of one process started by exec (any kind), the exec stream
// or a PTY: its output is read all the time (the program never blocks on a
// full pipe) and handed to zero or more subscribers; without subscribers it is
// dropped. No replay: a subscriber sees what is read after it subscribed. The
// exit comes last, once both pipes reached EOF (or, when a grandchild keeps
// them open, 300 ms after the process exited).
class proc_hub : public std::enable_shared_from_this<proc_hub> {
public:
    using sink = std::function<void(const proc_event&)>;

    // RAII: unsubscribes when destroyed (or reset).
    class subscription {
    public:
        subscription() = default;
        subscription(std::weak_ptr<proc_hub> h, std::uint64_t id) : hub_(std::move(h)), id_(id) {}
        subscription(subscription&& o) noexcept : hub_(std::move(o.hub_)), id_(std::exchange(o.id_, 0)) {}
        subscription& operator=(subscription&& o) noexcept;
        subscription(const subscription&) = delete;
        subscription& operator=(const subscription&) = delete;
        ~subscription() { reset(); }
        void reset();

    private:
        std::weak_ptr<proc_hub> hub_;
        std::uint64_t id_ = 0;
    };

    explicit proc_hub(pid_t pid) : pid_(pid) {}
    pid_t pid() const { return pid_; }
    bool finished() const { return finished_; }
    int exit_code() const { return exit_code_; }
    bool is_pty() const { return master_ != nullptr; }

    // The sink is called synchronously from the hub's reader; it must not block.
    // After the exit event the hub drops every subscriber.
    [[nodiscard]] subscription subscribe(sink s);
    // true once the process has ended; false at the deadline.
    asio::awaitable<bool> wait_exit(std::chrono::steady_clock::time_point deadline);

    // PTY only (no-ops otherwise or once finished): input bytes, queued (64
    // writes at most, further ones dropped) and coalesced; window size.
    void write_input(std::string bytes);
    void resize(unsigned cols, unsigned rows);

    // ---- for procs.cpp's reader ----
    void emit(const proc_event& e);
    void finish(int code);  // the exit event, then no more subscribers
    asio::posix::stream_descriptor* master() { return master_.get(); }
    void set_master(std::unique_ptr<asio::posix::stream_descriptor> m) { master_ = std::move(m); }

private:
    asio::awaitable<void> input_writer();

    pid_t pid_;
    bool finished_ = false;
    int exit_code_ = 0;
    std::uint64_t next_id_ = 1;
    std::map<std::uint64_t, std::shared_ptr<sink>> sinks_;
    std::vector<asio::steady_timer*> exit_waiters_;
    std::unique_ptr<asio::posix::stream_descriptor> master_;  // PTY master
    std::deque<std::string> input_;
    bool writing_input_ = false;
};

// ---- server state (state.cpp) ----
struct proc_entry {
    pid_t pid = 0;
    std::string tag;
    std::string cmd;
    std::vector<std::string> args;
    bool background = false;
    std::shared_ptr<proc_hub> hub;  // set by start_hub
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
    int netns_fd = -1;                       // its network namespace (netns mode)
    pid_t slirp_pid = -1;                    // its slirp4netns (netns mode)
    int slirp_exit_fd = -1;                  // closing it stops slirp4netns
    std::shared_ptr<asio::steady_timer> init_starting;  // set while ensure_init spawns (cancelled when done)
    std::map<pid_t, proc_entry> procs;
    std::vector<metric_sample> samples;     // every 2 s, trimmed to 24 h
    std::vector<metric_sample> paused_samples;
    double last_cpu_ticks = -1;
    std::chrono::steady_clock::time_point last_cpu_time;
    std::int64_t disk_bytes = 0;
    std::chrono::steady_clock::time_point disk_checked{};
    bool busy = false;                       // a create/snapshot copy is in progress
    std::map<std::string, std::string> labels;  // 0.4: the metadata it was created with

    void touch() { last_updated = sys_clock::now(); }
};

struct template_entry {
    std::string name, type;
    int vcpus = 0, memory_mb = 0;
    std::int64_t size_bytes = 0;
    sys_clock::time_point created_at;
    bool platform = false, is_protected = false, ready = true;
    bool is_public = false;  // API 0.4.0: published to other teams
    fs::path dir;  // snapshot files (empty for base templates)
};

struct app_state {
    asio::io_context& io;
    std::string api_key;
    std::string prefix;
    std::chrono::milliseconds pty_ping_interval{30000};
    // From a request's first byte to the end of its header block (Go's
    // ReadHeaderTimeout on the real server: 10 s); --header-timeout-ms.
    std::chrono::milliseconds header_timeout{10000};
    fs::path state_dir;
    int snapshot_status = 202;
    long snapshot_page_limit = 200;  // the largest per_page of GET /v1/snapshots (0.4)
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
// bwrap mode: (re)starts the namespace holder (and its network link) when it
// is not alive; concurrent calls wait for the one start. Throws std::system_error.
asio::awaitable<void> ensure_init(app_state& app, std::shared_ptr<capsule> c);
// Starts `spec` in capsule `c`: its namespace holder first (ensure_init),
// then the process inside it. Throws std::system_error.
asio::awaitable<spawned> spawn_in_capsule(app_state& app, std::shared_ptr<capsule> c, spawn_spec spec);
// A spawn_spec for a process in capsule `c` (its root and freezer cgroup).
spawn_spec capsule_spec(const capsule& c, std::vector<std::string> argv, std::vector<std::string> env, std::string cwd);
// Closes the capsule's network link (slirp4netns exits) and namespace fd.
void close_capsule_net(capsule& c);
asio::awaitable<void> destroy_capsule(app_state& app, std::shared_ptr<capsule> c);
void kill_everything(app_state& app);     // at exit, synchronous
void start_reaper(app_state& app);
std::int64_t dir_size(const fs::path& p);
void sample_metrics(capsule& c);

// Registers the process in c->procs (with `entry`'s tag, cmd, args) and starts
// reading its output: pipes sp.out_fd/sp.err_fd, or `pty_master` (owned from
// now on). Takes ownership of sp's fds. When the process has ended its entry
// leaves c->procs, then subscribers get the exit.
std::shared_ptr<proc_hub> start_hub(app_state& app, const std::shared_ptr<capsule>& c, const spawned& sp,
                                    proc_entry entry, int pty_master = -1);
// The environment of a command in a capsule, with `extra` on top.
std::vector<std::string> capsule_env(const std::map<std::string, std::string>* extra);

// ---- routes (routes.cpp) ----
// True for the routes whose body the HTTP layer must not buffer: they get it
// through request::read_body (multipart uploads).
bool streamed_body(const app_state& app, std::string_view method, std::string_view target);
asio::awaitable<answer> handle_request(app_state& app, request req);

// The WebSocket routes (WIRE.md §8, §9, §11): {prefix}/v1/capsules/{id}/exec/stream,
// .../processes/{selector}/stream, .../pty.
struct ws_route {
    enum kind_t { exec_stream, process_stream, pty } kind = exec_stream;
    std::string capsule_id;  // not yet validated
    std::string selector;    // process_stream
};
std::optional<ws_route> match_ws_route(const app_state& app, std::string_view target);

// ---- HTTP server (http.cpp; capsule_http_status: proxy.cpp) ----
struct tls_files { std::string cert, key; };
// GET http://127.0.0.1:<port><target> inside the capsule (its network
// namespace when it has one); the answer's status, or 0 when the connection
// or the exchange failed. At most `timeout`.
asio::awaitable<unsigned> capsule_http_status(app_state& app, std::shared_ptr<capsule> c, unsigned short port,
                                              std::string target, std::chrono::milliseconds timeout);
// Binds and starts accepting; returns the bound port.
unsigned short start_http(app_state& app, const std::string& host, unsigned short port,
                          const std::optional<tls_files>& tls);

} // namespace wl
