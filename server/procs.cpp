// wrenn-local: process output hubs. Every process the server starts through
// exec, the exec stream or a PTY has its output read here all the time and
// fanned out to the current subscribers (HTTP exec's collector, WebSocket
// streams); the exit is announced last.
#include "common.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>

#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

namespace wl {

namespace {

using namespace std::chrono_literals;
using asio::use_awaitable;

constexpr std::size_t read_chunk = 64 * 1024;  // like the real server's stream chunks
constexpr std::size_t input_queue_max = 64;    // PTY input writes waiting; more are dropped
constexpr auto exit_grace = 300ms;             // pipes held open by grandchildren after the exit

// Reads one pipe (or the PTY master) to its end, handing each chunk to the hub.
asio::awaitable<void> pump(std::shared_ptr<proc_hub> hub, asio::posix::stream_descriptor& sd,
                           proc_event::kind_t kind) {
    std::vector<char> buf(read_chunk);
    for (;;) {
        auto [ec, n] = co_await sd.async_read_some(asio::buffer(buf), asio::as_tuple(use_awaitable));
        if (n > 0) {
            proc_event e;
            e.kind = kind;
            e.data = std::string_view(buf.data(), n);
            hub->emit(e);
        }
        if (ec) co_return;  // EOF, EIO (PTY without slave), or cancelled after the grace period
    }
}

asio::awaitable<void> run_hub(std::shared_ptr<proc_hub> hub, std::shared_ptr<capsule> c, spawned sp, bool log_exit) {
    using namespace asio::experimental::awaitable_operators;
    auto ex = co_await asio::this_coro::executor;
    std::unique_ptr<asio::posix::stream_descriptor> out, err;
    if (sp.out_fd >= 0) out = std::make_unique<asio::posix::stream_descriptor>(ex, sp.out_fd);
    if (sp.err_fd >= 0) err = std::make_unique<asio::posix::stream_descriptor>(ex, sp.err_fd);
    asio::posix::stream_descriptor* master = hub->master();
    int readers_left = (out ? 1 : 0) + (err ? 1 : 0) + (master ? 1 : 0);
    asio::steady_timer grace(ex);
    int status = 0;

    auto reader = [&](asio::posix::stream_descriptor* sd, proc_event::kind_t kind) -> asio::awaitable<void> {
        if (!sd) co_return;
        co_await pump(hub, *sd, kind);
        if (--readers_left == 0) grace.cancel();
    };
    auto waiter = [&]() -> asio::awaitable<void> {
        status = co_await wait_child(sp.pid, sp.pidfd);
        if (readers_left > 0) {
            // A grandchild may keep the pipes open: give the output a moment,
            // then stop reading (like the foreground exec always did).
            grace.expires_after(exit_grace);
            auto [ec] = co_await grace.async_wait(asio::as_tuple(use_awaitable));
            if (!ec) {
                boost::system::error_code ig;
                if (out) out->cancel(ig);
                if (err) err->cancel(ig);
                if (master) master->cancel(ig);
            }
        }
    };
    // Output first (both pipes to their end), then the exit.
    auto read_out = reader(out.get(), proc_event::out);
    auto read_err = reader(err.get(), proc_event::err);
    auto read_master = reader(master, proc_event::out);
    auto wait = waiter();
    co_await (std::move(read_out) && std::move(read_err) && std::move(read_master) && std::move(wait));
    out.reset();
    err.reset();

    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    auto it = c->procs.find(sp.pid);
    if (it != c->procs.end() && it->second.hub == hub) {
        if (log_exit)
            log("capsule %s: process %d%s%s exited (code %d)", c->id.c_str(), sp.pid, it->second.tag.empty() ? "" : " ",
                it->second.tag.c_str(), code);
        c->procs.erase(it);
    }
    hub->finish(code);
}

} // namespace

std::vector<std::string> capsule_env(const std::map<std::string, std::string>* extra) {
    std::vector<std::pair<std::string, std::string>> kv{
        {"PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
        {"HOME", std::string(home_dir)},
        {"USER", "wrenn-user"},
        {"LOGNAME", "wrenn-user"}};
    if (extra)
        for (auto& [key, v] : *extra) {
            const std::string& k = key;  // clang 14 cannot capture a structured binding
            if (k.empty() || k.find('=') != std::string::npos || k.find('\0') != std::string::npos) continue;
            auto it = std::find_if(kv.begin(), kv.end(), [&](auto& p) { return p.first == k; });
            if (it != kv.end()) it->second = v;
            else kv.emplace_back(k, v);
        }
    std::vector<std::string> out;
    for (auto& [k, v] : kv) out.push_back(k + "=" + v);
    return out;
}

proc_hub::subscription& proc_hub::subscription::operator=(subscription&& o) noexcept {
    if (this != &o) {
        reset();
        hub_ = std::move(o.hub_);
        id_ = std::exchange(o.id_, 0);
    }
    return *this;
}

void proc_hub::subscription::reset() {
    if (id_ != 0)
        if (auto h = hub_.lock()) h->sinks_.erase(id_);
    id_ = 0;
    hub_.reset();
}

proc_hub::subscription proc_hub::subscribe(sink s) {
    if (finished_) return {};
    auto id = next_id_++;
    sinks_.emplace(id, std::make_shared<sink>(std::move(s)));
    return subscription(weak_from_this(), id);
}

void proc_hub::emit(const proc_event& e) {
    // A sink may unsubscribe itself or others while we go through them.
    std::vector<std::pair<std::uint64_t, std::shared_ptr<sink>>> now(sinks_.begin(), sinks_.end());
    for (auto& [id, s] : now) {
        if (!sinks_.count(id)) continue;
        try {
            (*s)(e);
        } catch (const std::exception& ex) {
            log("process %d: a subscriber failed: %s", pid_, ex.what());
        }
    }
}

void proc_hub::finish(int code) {
    if (finished_) return;
    finished_ = true;
    exit_code_ = code;
    proc_event e;
    e.kind = proc_event::exit;
    e.exit_code = code;
    emit(e);
    sinks_.clear();
    for (auto* t : exit_waiters_) t->cancel();
    exit_waiters_.clear();
    input_.clear();
    if (master_) {
        boost::system::error_code ig;
        master_->close(ig);  // a pending input write ends with operation_aborted
    }
}

asio::awaitable<bool> proc_hub::wait_exit(std::chrono::steady_clock::time_point deadline) {
    auto self = shared_from_this();
    asio::steady_timer t(co_await asio::this_coro::executor);
    while (!finished_ && std::chrono::steady_clock::now() < deadline) {
        t.expires_at(deadline);
        exit_waiters_.push_back(&t);
        (void)co_await t.async_wait(asio::as_tuple(use_awaitable));
        std::erase(exit_waiters_, &t);
    }
    co_return finished_;
}

void proc_hub::write_input(std::string bytes) {
    if (finished_ || !master_ || bytes.empty()) return;
    if (input_.size() >= input_queue_max) return;  // like the real server: a full queue drops input
    input_.push_back(std::move(bytes));
    if (!writing_input_) {
        writing_input_ = true;
        asio::co_spawn(master_->get_executor(), input_writer(), asio::detached);
    }
}

asio::awaitable<void> proc_hub::input_writer() {
    auto self = shared_from_this();
    while (!finished_ && !input_.empty()) {
        // Everything queued goes out in one write.
        std::string batch;
        for (auto& s : input_) batch += s;
        input_.clear();
        auto [ec, n] = co_await asio::async_write(*master_, asio::buffer(batch), asio::as_tuple(use_awaitable));
        if (ec) break;
    }
    writing_input_ = false;
}

void proc_hub::resize(unsigned cols, unsigned rows) {
    if (finished_ || !master_ || cols == 0 || rows == 0 || cols > 0xffff || rows > 0xffff) return;
    winsize ws{};
    ws.ws_col = static_cast<unsigned short>(cols);
    ws.ws_row = static_cast<unsigned short>(rows);
    ::ioctl(master_->native_handle(), TIOCSWINSZ, &ws);
}

std::shared_ptr<proc_hub> start_hub(app_state& app, const std::shared_ptr<capsule>& c, const spawned& sp,
                                    proc_entry entry, int pty_master) {
    auto hub = std::make_shared<proc_hub>(sp.pid);
    if (pty_master >= 0) hub->set_master(std::make_unique<asio::posix::stream_descriptor>(app.io, pty_master));
    entry.pid = sp.pid;
    entry.hub = hub;
    bool log_exit = entry.background || pty_master >= 0;
    c->procs[sp.pid] = std::move(entry);
    asio::co_spawn(app.io, run_hub(hub, c, sp, log_exit), [pid = sp.pid](std::exception_ptr e) {
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            log("process %d: output reader failed: %s", pid, ex.what());
        }
    });
    return hub;
}

} // namespace wl
