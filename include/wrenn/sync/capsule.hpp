// Blocking capsule, commands and the scoped capsule (destroyed when it goes
// out of scope, like Python's `with Capsule() as c:`).
#pragma once

#include <wrenn/capsule.hpp>
#include <wrenn/sync/client.hpp>
#include <wrenn/sync/git.hpp>
#include <wrenn/sync/process_stream.hpp>

namespace wrenn::sync {

class commands {
public:
    commands(std::shared_ptr<sync::runner> r, wrenn::commands c) : r_(std::move(r)), c_(std::move(c)) {}
    command_result run(std::string cmd, run_options opts = {}) const {
        return r_->run(c_.run(std::move(cmd), opts));
    }
    sync::process_stream stream(std::string cmd, stream_options opts = {}) const {
        return sync::process_stream(r_, r_->run(c_.stream(std::move(cmd), opts)));
    }
    sync::process_stream connect(int pid) const { return sync::process_stream(r_, r_->run(c_.connect(pid))); }
    sync::process_stream connect(std::string tag) const {
        return sync::process_stream(r_, r_->run(c_.connect(std::move(tag))));
    }
    std::vector<process_info> list() const { return r_->run(c_.list()); }
    void kill(int pid, kill_signal signal = kill_signal::sigkill) const { r_->run(c_.kill(pid, signal)); }
    void kill(std::string tag, kill_signal signal = kill_signal::sigkill) const {
        r_->run(c_.kill(std::move(tag), signal));
    }

private:
    std::shared_ptr<sync::runner> r_;
    wrenn::commands c_;
};

class files {
public:
    files(std::shared_ptr<sync::runner> r, wrenn::files f) : r_(std::move(r)), f_(std::move(f)) {}
    std::string read(std::string path) const { return r_->run(f_.read(std::move(path))); }
    std::vector<std::uint8_t> read_bytes(std::string path) const { return r_->run(f_.read_bytes(std::move(path))); }
    void write(std::string path, std::string_view data) const { r_->run(f_.write(std::move(path), data)); }
    void write(std::string path, std::span<const std::uint8_t> data) const { r_->run(f_.write(std::move(path), data)); }
    std::vector<file_entry> list(std::string path, unsigned depth = 1) const {
        return r_->run(f_.list(std::move(path), depth));
    }
    bool exists(std::string path) const { return r_->run(f_.exists(std::move(path))); }
    file_entry make_dir(std::string path) const { return r_->run(f_.make_dir(std::move(path))); }
    void remove(std::string path) const { r_->run(f_.remove(std::move(path))); }
    void upload_stream(std::string path, std::filesystem::path local, progress_callback progress = {}) const {
        r_->run(f_.upload_stream(std::move(path), std::move(local), std::move(progress)));
    }
    std::uint64_t download_stream(std::string path, std::filesystem::path local,
                                  progress_callback progress = {}) const {
        return r_->run(f_.download_stream(std::move(path), std::move(local), std::move(progress)));
    }

private:
    std::shared_ptr<sync::runner> r_;
    wrenn::files f_;
};

class capsule {
public:
    static capsule create(const client& c, create_options opts = {}) {
        return capsule(c, c.runner().run(wrenn::capsule::create(c.async(), std::move(opts))));
    }
    static capsule connect(const client& c, std::string capsule_id) {
        return capsule(c, c.runner().run(wrenn::capsule::connect(c.async(), std::move(capsule_id))));
    }
    static std::vector<capsule_info> list(const client& c) { return c.runner().run(wrenn::capsule::list(c.async())); }
    static void destroy(const client& c, std::string capsule_id) {
        c.runner().run(wrenn::capsule::destroy(c.async(), std::move(capsule_id)));
    }

    capsule(const client& c, wrenn::capsule inner)
        : commands(c.shared_runner(), inner.commands), files(c.shared_runner(), inner.files),
          git(c.shared_runner(), inner.git), r_(c.shared_runner()),
          cap_(std::move(inner)) {}

    const std::string& id() const noexcept { return cap_.id(); }
    std::optional<capsule_info> info() const { return cap_.info(); }

    capsule_info get_info() { return r_->run(cap_.get_info()); }
    bool is_running() { return r_->run(cap_.is_running()); }
    void wait_ready(wait_options opts = {}) { r_->run(cap_.wait_ready(opts)); }
    capsule_info pause(action_options opts = {}) { return r_->run(cap_.pause(opts)); }
    capsule_info resume(action_options opts = {}) { return r_->run(cap_.resume(opts)); }
    void ping() { r_->run(cap_.ping()); }
    void destroy(action_options opts = {}) { r_->run(cap_.destroy(opts)); }
    capsule_metrics metrics(std::string range = {}) { return r_->run(cap_.metrics(std::move(range))); }
    snapshot_result create_snapshot(std::string name, snapshot_options opts) {
        return r_->run(cap_.create_snapshot(std::move(name), opts));
    }
    snapshot_result create_snapshot(std::string name = {}, bool overwrite = false) {
        return r_->run(cap_.create_snapshot(std::move(name), overwrite));
    }
    std::string get_url(unsigned port) const { return cap_.get_url(port); }
    sync::pty_session pty(pty_options opts = {}) const { return sync::pty_session(r_, r_->run(cap_.pty(opts))); }
    sync::pty_session pty_connect(std::string tag) const {
        return sync::pty_session(r_, r_->run(cap_.pty_connect(std::move(tag))));
    }

    wrenn::capsule& async() noexcept { return cap_; }

    sync::commands commands;
    sync::files files;
    sync::git git;

private:
    std::shared_ptr<sync::runner> r_;
    wrenn::capsule cap_;
};

// Owns a capsule for one scope: destroyed when the scoped_capsule dies,
// also during stack unwinding. Errors from that final destroy are swallowed
// (a destructor must not throw); call destroy() yourself to see them.
class scoped_capsule {
public:
    explicit scoped_capsule(const client& c, create_options opts = {}) : cap_(capsule::create(c, std::move(opts))) {}
    scoped_capsule(scoped_capsule&& o) noexcept : cap_(std::move(o.cap_)), owned_(std::exchange(o.owned_, false)) {}
    scoped_capsule(const scoped_capsule&) = delete;
    scoped_capsule& operator=(const scoped_capsule&) = delete;
    scoped_capsule& operator=(scoped_capsule&&) = delete;
    ~scoped_capsule() {
        if (!owned_) return;
        try {
            cap_.destroy();
        } catch (...) {
        }
    }

    capsule* operator->() noexcept { return &cap_; }
    capsule& operator*() noexcept { return cap_; }
    void destroy() {
        owned_ = false;
        cap_.destroy();
    }
    // Keep the capsule running after this scope.
    capsule release() {
        owned_ = false;
        return cap_;
    }

private:
    capsule cap_;
    bool owned_ = true;
};

} // namespace wrenn::sync
