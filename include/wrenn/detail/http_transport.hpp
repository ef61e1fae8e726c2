// The transport to one origin: a keep-alive connection pool (its decisions
// are protocol::connection_pool's; this class does their I/O), the watchdog
// that keeps pooled connections' timeouts, and the request/answer exchanges.
// Internal: the SDK sees it through detail/http.hpp.
#pragma once

#include <wrenn/detail/http.hpp>
#include <wrenn/detail/http_connection.hpp>
#include <wrenn/protocol/connection_pool.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>

namespace wrenn::detail {

using transport_clock = std::chrono::steady_clock;

// `deadline`, or `d` from now when that is sooner.
inline transport_clock::time_point earlier(transport_clock::time_point deadline, std::chrono::milliseconds d) {
    auto now = transport_clock::now();
    return (deadline - now) < d ? deadline : now + d;
}

// "30 s", "250 ms": a timeout as error messages show it.
inline std::string describe_ms(std::chrono::milliseconds d) {
    if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + " s";
    return std::to_string(d.count()) + " ms";
}

// What happened during one exchange, to decide whether a replay is safe.
struct exchange_state {
    bool write_failed = false;  // the request never fully left us
    bool got_answer_bytes = false;
    bool keep_alive = false;  // the connection may carry another request
};

// The head and the body in one write, straight from their strings.
inline std::array<boost::asio::const_buffer, 2> request_buffers(const http_connection& c, const http_request& req) {
    return {boost::asio::buffer(c.head), boost::asio::buffer(req.content_type.empty() ? std::string_view() : req.body)};
}

class http_transport : public std::enable_shared_from_this<http_transport> {
public:
    using clock = transport_clock;

    // Thread safety: the pool (pool_, waiters_, the watchdog timer) is
    // guarded by mu_, so requests may come from any thread of any
    // io_context. A leased connection belongs to its lease alone and is used
    // without the lock; its expiry is under its own watch_mu (see watch()).
    // Lock order: mu_, then a watch_mu.
    WRENN_DECL http_transport(boost::asio::any_io_executor ex, transport_settings s);

    // Static, the transport held by the frame: the free send() returns this
    // awaitable as it is, without a coroutine frame of its own.
    WRENN_DECL static boost::asio::awaitable<http_response> send(std::shared_ptr<http_transport> self, http_request req);
    WRENN_DECL boost::asio::awaitable<http_response> send_streaming(http_request head, body_chunks chunks);
    WRENN_DECL boost::asio::awaitable<http_body_stream> open_body_stream(http_request req);

    // A new connection outside the pool, for a WebSocket (counted in
    // `created`). `ex` is the executor of the connection's socket: a
    // WebSocket runs on a strand of its own.
    boost::asio::awaitable<std::unique_ptr<http_connection>> connect_unpooled(clock::time_point deadline,
                                                                             boost::asio::any_io_executor ex) {
        return connect(deadline, std::move(ex));
    }

    const boost::asio::any_io_executor& get_executor() const noexcept { return ex_; }
    const transport_settings& settings() const noexcept { return s_; }
    const std::string& host_header() const noexcept { return host_header_; }
    const std::string& user_agent() const noexcept { return user_agent_; }
    WRENN_DECL pool_stats stats() const;

    // Turns a Beast/Asio failure into the SDK's typed error (cancellation stays as is).
    [[noreturn]] WRENN_DECL void fail(boost::system::error_code ec, const http_request& req,
                                      clock::time_point deadline, const char* phase) const;
    // An answer the reader refused (`why`: the reader's failure).
    [[noreturn]] WRENN_DECL void bad_answer(const http_request& req, const std::string& why) const;
    // What an operation on `c` failed with: the watchdog's cancel is a timeout.
    WRENN_DECL static boost::system::error_code cause(const http_connection& c, const boost::system::system_error& e);

    // Timeouts of pooled connections. Beast's per-stream timer is started and
    // cancelled around every read and write (a timer-queue insert, a cancel
    // and one more completion each); instead each operation stores its expiry
    // in its connection (watch) and one timer per transport wakes at the
    // earliest of them, cancelling what has waited too long.
    WRENN_DECL void watch(http_connection& c, clock::time_point deadline, std::chrono::milliseconds idle);
    WRENN_DECL static void unwatch(http_connection& c) noexcept;

    // A connection leased from the pool; back to it (or closed) when the lease ends.
    struct lease {
        http_transport* owner;
        std::unique_ptr<http_connection> conn;
        bool reusable = false;
        explicit lease(http_transport* o) : owner(o) {}
        lease(lease&& other) noexcept
            : owner(std::exchange(other.owner, nullptr)), conn(std::move(other.conn)), reusable(other.reusable) {}
        lease(const lease&) = delete;
        ~lease() {
            if (owner) owner->release(std::move(conn), reusable);
        }
    };

    // The deadline and idle limit of a request.
    struct limits {
        clock::time_point deadline;
        std::chrono::milliseconds idle;
    };
    WRENN_DECL limits limits_for(const http_request& req) const;

    // A connection for a request: an idle one that is still usable, else a
    // new one, else the next one released (until `deadline`). `fresh`: none
    // of the idle ones (a reused one just turned out stale).
    WRENN_DECL boost::asio::awaitable<lease> acquire(clock::time_point deadline, bool fresh, bool& reused,
                                                    bool resendable = false);
    // An idle connection that is still usable, leased without a coroutine
    // frame (the common case under load); nullopt when there is none.
    WRENN_DECL std::optional<lease> take_idle(bool resendable);
    // The request head, into c.head.
    WRENN_DECL void write_head(http_connection& c, const http_request& req, bool chunked) const;

private:
    using pool_type = protocol::connection_pool<http_connection>;

    // A new connection whose socket runs on `ex`; a plain one moves to `home` once connected.
    WRENN_DECL boost::asio::awaitable<std::unique_ptr<http_connection>> connect(clock::time_point deadline,
                                                                               boost::asio::any_io_executor ex,
                                                                               boost::asio::any_io_executor home = {});
    WRENN_DECL void release(std::unique_ptr<http_connection> c, bool reusable);
    // Waits until release() wakes it (a connection came free) or `timer`
    // expires; the waiter is queued under the lock, so no wake-up is lost.
    auto wait_for_release(const std::shared_ptr<boost::asio::steady_timer>& timer);
    WRENN_DECL double jitter();
    // One attempt for the observability hook (config.on_attempt).
    WRENN_DECL void report(const http_request& req, unsigned attempt, clock::time_point started,
                           std::optional<unsigned> status, std::string_view error,
                           std::optional<std::chrono::milliseconds> retry_in,
                           std::string_view request_id = {}) const;
    // Sends `req` (unless its body went already: send_streaming) and reads
    // the answer, in one coroutine frame.
    template <class Stream>
    boost::asio::awaitable<http_response> exchange(Stream& stream, http_connection& c, const http_request& req,
                                                   clock::time_point deadline, std::chrono::milliseconds idle,
                                                   exchange_state& st, bool write = true);
    template <class Stream>
    boost::asio::awaitable<void> write_chunked(Stream& stream, http_connection& c, const http_request& head,
                                               body_chunks& chunks, clock::time_point deadline,
                                               std::chrono::milliseconds idle);
    void arm_watchdog(clock::time_point at);  // under mu_
    void on_watchdog();

    boost::asio::any_io_executor ex_;
    transport_settings s_;
    std::string host_header_, user_agent_;
    std::shared_ptr<boost::asio::ssl::context> ssl_;  // shared with other transports (shared_tls_context)
    mutable std::mutex mu_;                           // see the class comment
    pool_type pool_;
    std::deque<std::shared_ptr<boost::asio::steady_timer>> waiters_;
    std::minstd_rand rng_{std::random_device{}()};  // retry jitter
    std::uniform_real_distribution<double> jitter_{0.0, 1.0};
    boost::asio::steady_timer watchdog_;
    // When it is armed for; written under mu_, read by watch() without it.
    std::atomic<clock::time_point> watchdog_at_ = clock::time_point::max();
};

} // namespace wrenn::detail
