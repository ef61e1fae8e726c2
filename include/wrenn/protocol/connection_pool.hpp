// The keep-alive connection pool's decisions, sans-I/O: which idle connection
// a request takes, whether it must be looked at first, when a new one may be
// opened, when the request must wait, and what a released connection
// becomes. The transport keeps one under its lock and does the I/O (the
// probe, the connect, the close, the waiting) outside it; tests drive it with
// scripted connections and clocks (tests/unit/test_connection_pool.cpp).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <memory>
#include <vector>

namespace wrenn::protocol {

using pool_clock = std::chrono::steady_clock;

// What an idle connection may do for the next request.
enum class idle_verdict {
    stale,   // idle longer than the pool keeps connections: close it
    usable,  // take it as it is
    probe,   // look first (a peek that does not wait) whether the server closed it
};

// A request that send() may send again for free if its connection turns out
// stale (`resendable`: idempotent) skips the probe on a connection whose last
// answer came moments ago: servers drop idle connections after seconds, and
// the probe is a system call per request under load.
inline idle_verdict judge_idle(pool_clock::duration idle_for, std::chrono::milliseconds max_idle_age,
                               bool resendable) {
    if (idle_for > max_idle_age) return idle_verdict::stale;
    if (resendable && idle_for < std::chrono::milliseconds(100)) return idle_verdict::usable;
    return idle_verdict::probe;
}

// Whether a connection may carry another request after an answer: the server
// kept it alive and sent nothing past the answer (bytes after it leave the
// connection in no known state).
inline bool reusable_after_answer(bool server_keeps_alive, std::size_t bytes_after_answer) {
    return server_keeps_alive && bytes_after_answer == 0;
}

// `Connection` has a member `pool_clock::time_point idle_since`. Leased
// connections are owned by their lease; the pool keeps a pointer to each,
// for the watchdog of their timeouts.
template <class Connection>
class connection_pool {
public:
    connection_pool(std::size_t max_connections, std::chrono::milliseconds max_idle_age)
        : max_(std::max<std::size_t>(max_connections, 1)), max_idle_age_(max_idle_age) {}

    enum class action {
        use,    // `conn` is the request's, already counted busy
        probe,  // look whether `conn` is still open: then leased(*conn), or closed() and ask again
        drop,   // `conn` is stale and no longer counted: close it and ask again
        open,   // a slot is reserved: connect, then leased(*conn) — or release(nullptr) when that failed
        wait,   // every connection is busy: wait for a release (or must_wait() turning false), ask again
    };
    struct step {
        action what;
        std::unique_ptr<Connection> conn{};  // use, probe, drop
    };

    // The next step for a request that wants a connection, the newest idle
    // one first (the likeliest to be open, and the others age out).
    step next(pool_clock::time_point now, bool resendable) {
        if (!idle_.empty()) {
            auto c = std::move(idle_.back());
            idle_.pop_back();
            switch (judge_idle(now - c->idle_since, max_idle_age_, resendable)) {
            case idle_verdict::usable: leased(*c); return {action::use, std::move(c)};
            case idle_verdict::probe: return {action::probe, std::move(c)};
            case idle_verdict::stale: --open_; return {action::drop, std::move(c)};
            }
        }
        if (open_ < max_) {
            ++open_;
            return {action::open};
        }
        return {action::wait};
    }

    // A probed or newly opened connection now carries a request.
    void leased(Connection& c) { busy_.push_back(&c); }
    // A connection counted open that is gone without a lease (its probe found it closed).
    void closed() { --open_; }
    // A new connection was made (counted for the statistics).
    void opened() { ++created_; }

    // Whether a request asking now would have to wait.
    bool must_wait() const { return idle_.empty() && open_ >= max_; }

    // A lease's end: a reusable connection goes back to the idle list; any
    // other (or none: a reserved slot whose connect failed) frees its slot.
    // Returns what to close, outside any lock. A waiter may proceed after
    // every release.
    std::unique_ptr<Connection> release(std::unique_ptr<Connection> c, bool reusable, pool_clock::time_point now) {
        if (c) {
            if (auto it = std::find(busy_.begin(), busy_.end(), c.get()); it != busy_.end()) {
                *it = busy_.back();
                busy_.pop_back();
            }
        }
        if (reusable && c) {
            c->idle_since = now;
            idle_.push_back(std::move(c));
            return nullptr;
        }
        --open_;
        return c;
    }

    // A reused connection just failed as stale: the other idle ones probably
    // are too. Returns them, no longer counted, to close outside any lock.
    std::vector<std::unique_ptr<Connection>> take_idle() {
        open_ -= idle_.size();
        return std::exchange(idle_, {});
    }

    const std::vector<Connection*>& busy() const { return busy_; }
    std::size_t open() const { return open_; }
    std::size_t idle() const { return idle_.size(); }
    std::size_t created() const { return created_; }
    std::size_t max_connections() const { return max_; }

private:
    std::size_t max_;
    std::chrono::milliseconds max_idle_age_;
    std::vector<std::unique_ptr<Connection>> idle_;
    std::vector<Connection*> busy_;
    std::size_t open_ = 0, created_ = 0;
};

} // namespace wrenn::protocol
