#pragma once

#include <wrenn/detail/http.hpp>
#include <wrenn/error.hpp>
#include <wrenn/protocol/answers.hpp>
#include <wrenn/protocol/http_answer.hpp>
#include <wrenn/protocol/request_head.hpp>
#include <wrenn/protocol/retry.hpp>
#include <wrenn/version.hpp>

#include <boost/asio/append.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/system_executor.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <vector>

namespace wrenn::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using clock = std::chrono::steady_clock;

WRENN_DECL const char* to_string(http_method m) {
    switch (m) {
    case http_method::get: return "GET";
    case http_method::post: return "POST";
    case http_method::put: return "PUT";
    case http_method::del: return "DELETE";
    }
    return "GET";
}

// Bytes read from a connection that the answer reader has not taken yet.
class read_buffer {
public:
    const char* data() const noexcept { return bytes_.get() + begin_; }
    std::size_t size() const noexcept { return end_ - begin_; }
    void consume(std::size_t n) noexcept {
        begin_ += n;
        if (begin_ == end_) begin_ = end_ = 0;
    }
    // Room to read into, in a buffer of at least `capacity` bytes (allocated
    // on first use, so an idle pooled connection costs nothing here).
    asio::mutable_buffer room(std::size_t capacity) {
        if (capacity_ < capacity) {
            std::unique_ptr<char[]> bigger(new char[capacity]);
            if (size() > 0) std::memcpy(bigger.get(), data(), size());
            end_ = size();
            begin_ = 0;
            bytes_ = std::move(bigger);
            capacity_ = capacity;
        } else if (begin_ > 0 && capacity_ - end_ < capacity_ / 4) {
            std::memmove(bytes_.get(), data(), size());  // a partial head or chunk line: move it to the front
            end_ = size();
            begin_ = 0;
        }
        return {bytes_.get() + end_, capacity_ - end_};
    }
    void commit(std::size_t n) noexcept { end_ += n; }

private:
    std::unique_ptr<char[]> bytes_;
    std::size_t capacity_ = 0, begin_ = 0, end_ = 0;
};

struct http_connection {
    // Plain connections are read and written through plain->socket(): Beast's
    // tcp_stream would add its timer and rate bookkeeping to every operation,
    // and the watchdog (watch/unwatch) keeps the deadlines instead.
    std::optional<beast::tcp_stream> plain;
    std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
    read_buffer in;
    protocol::answer_reader reader;  // kept with the connection: its buffers are reused
    std::string head;  // the request head being sent (reused: it keeps its capacity)
    clock::time_point idle_since{};
    // While a read or write is under way on a pooled connection: when it has
    // waited too long. The transport's watchdog cancels it then and sets
    // timed_out, so the failure reads as the timeout it is. Both under
    // `watch_mu`: the lease's holder and the watchdog (maybe on another
    // thread) are the only ones to take it, so requests on different
    // connections never wait for each other here.
    std::mutex watch_mu;
    clock::time_point expiry = clock::time_point::max();
    std::atomic<bool> timed_out = false;

    beast::tcp_stream& tcp() { return tls ? tls->next_layer() : *plain; }
};

// What happened during one exchange, to decide whether a replay is safe.
struct exchange_state {
    bool write_failed = false;    // the request never fully left us
    bool got_answer_bytes = false;
    bool keep_alive = false;
};

// One TLS client context per (CA file, verification) for the whole process,
// shared by every transport that asks while one is alive: setting one up
// loads the system trust store (tens of ms of CPU with OpenSSL 3), which a
// program making a client per task would otherwise pay each time. A context
// is safe to share once set up.
WRENN_DECL std::shared_ptr<asio::ssl::context> shared_tls_context(const std::string& ca_file, bool verify) {
    static std::mutex mu;
    static std::map<std::pair<std::string, bool>, std::weak_ptr<asio::ssl::context>> cache;
    std::lock_guard lock(mu);
    auto& slot = cache[{ca_file, verify}];
    if (auto ctx = slot.lock()) return ctx;
    auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
    boost::system::error_code ec;
    ctx->set_default_verify_paths(ec);  // the system trust store; missing is not fatal
    if (!ca_file.empty()) {
        ctx->load_verify_file(ca_file, ec);
        if (ec)
            throw config_error("invalid_ca_file",
                               "Could not load the CA file '" + ca_file + "' (config.ca_file): " + ec.message());
    }
    ctx->set_verify_mode(verify ? asio::ssl::verify_peer : asio::ssl::verify_none);
    slot = ctx;
    return ctx;
}

class http_transport : public std::enable_shared_from_this<http_transport> {
public:
    // Thread safety: the pool's bookkeeping (idle_, busy_, waiters_, the
    // counts, the watchdog timer) is guarded by mu_, so requests may come
    // from any thread of any io_context. A leased connection belongs to its
    // lease alone and is used without the lock; its expiry is under its own
    // watch_mu (see watch()). Lock order: mu_, then a watch_mu.
    http_transport(asio::any_io_executor ex, transport_settings s)
        : ex_(std::move(ex)), s_(std::move(s)), host_header_(s_.origin.authority()), watchdog_(ex_) {
        if (s_.origin.tls()) ssl_ = shared_tls_context(s_.ca_file, s_.verify_tls);
        user_agent_ = std::string("wrenn-cpp/") + WRENN_VERSION_STRING;
    }

    // Static, the transport held by the frame: the free send() returns this
    // awaitable as it is, without a coroutine frame of its own.
    static asio::awaitable<http_response> send(std::shared_ptr<http_transport> self, http_request req);
    // One attempt for the observability hook (config.on_attempt).
    void report(const http_request& req, unsigned attempt, clock::time_point started, std::optional<unsigned> status,
                std::string_view error, std::optional<std::chrono::milliseconds> retry_in) const;
    // A new connection outside the pool, for a WebSocket (counted in `created`).
    // `ex` is the executor of the connection's socket: a WebSocket runs on a strand of its own.
    asio::awaitable<std::unique_ptr<http_connection>> connect_unpooled(clock::time_point deadline,
                                                                      asio::any_io_executor ex) {
        return connect(deadline, std::move(ex));
    }
    const asio::any_io_executor& get_executor() const noexcept { return ex_; }
    const transport_settings& settings() const noexcept { return s_; }
    const std::string& host_header() const noexcept { return host_header_; }
    const std::string& user_agent() const noexcept { return user_agent_; }
    asio::awaitable<http_response> send_streaming(http_request head, body_chunks chunks);
    asio::awaitable<http_body_stream> open_body_stream(http_request req);
    pool_stats stats() const {
        std::lock_guard lock(mu_);
        return {open_, idle_.size(), waiters_.size(), created_};
    }
    // Turns a Beast/Asio failure into the SDK's typed error (cancellation stays as is).
    [[noreturn]] void fail(boost::system::error_code ec, const http_request& req, clock::time_point deadline,
                           const char* phase) const;
    // What an operation on `c` failed with: the watchdog's cancel is a timeout.
    static boost::system::error_code cause(const http_connection& c, const boost::system::system_error& e) {
        return c.timed_out ? boost::system::error_code(beast::error::timeout) : e.code();
    }

    // Timeouts of pooled connections. Beast's per-stream timer is started and
    // cancelled around every read and write (a timer-queue insert, a cancel
    // and one more completion each); instead each operation stores its expiry
    // in its connection (watch) and one timer per transport wakes at the
    // earliest of them, cancelling what has waited too long.
    void watch(http_connection& c, clock::time_point deadline, std::chrono::milliseconds idle);
    static void unwatch(http_connection& c) noexcept {
        std::lock_guard lock(c.watch_mu);
        c.expiry = clock::time_point::max();
    }

    // Returns a connection to the pool (or drops it) and wakes one waiter.
    void release(std::unique_ptr<http_connection> c, bool reusable) {
        std::unique_lock lock(mu_);
        if (c) {
            unwatch(*c);
            if (auto it = std::find(busy_.begin(), busy_.end(), c.get()); it != busy_.end()) {
                *it = busy_.back();
                busy_.pop_back();
            }
            // nothing left to watch: a waiting timer would keep io_context::run() from returning
            if (busy_.empty() && watchdog_at_.load() != clock::time_point::max()) {
                watchdog_at_ = clock::time_point::max();
                watchdog_.cancel();
            }
        }
        if (reusable && c) {
            c->idle_since = clock::now();
            idle_.push_back(std::move(c));
        } else {
            --open_;
        }
        if (!waiters_.empty()) {
            auto w = waiters_.front();
            waiters_.pop_front();
            w->cancel();
        }
        lock.unlock();
        c.reset();  // a connection that is not kept is closed outside the lock
    }

public:
    struct lease {
        http_transport* owner;
        std::unique_ptr<http_connection> conn;
        bool reusable = false;
        lease(http_transport* o) : owner(o) {}
        lease(lease&& other) noexcept : owner(std::exchange(other.owner, nullptr)), conn(std::move(other.conn)), reusable(other.reusable) {}
        lease(const lease&) = delete;
        ~lease() {
            if (owner) owner->release(std::move(conn), reusable);
        }
    };

private:
    // Whether an idle connection may carry the next request. The probe (a
    // peek that does not wait) finds one the server closed, or sent something
    // unasked on, while it sat idle. A request send() may send again for free
    // if its connection turns out stale (`resendable`: idempotent) skips the
    // probe on a connection whose last answer came moments ago: servers drop
    // idle connections after seconds, and the probe is a system call per
    // request under load (bench/NOTES.md).
    enum class idle_verdict { stale, usable, probe };
    static idle_verdict judge_idle(const http_connection& c, std::chrono::milliseconds max_idle, bool resendable) {
        const auto idle_for = clock::now() - c.idle_since;
        if (idle_for > max_idle) return idle_verdict::stale;
        if (resendable && idle_for < std::chrono::milliseconds(100)) return idle_verdict::usable;
        return idle_verdict::probe;
    }
    static bool probe_open(http_connection& c) {
        char b;
        auto fd = c.tcp().socket().native_handle();
        auto n = ::recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
        // 0: the server closed; >0: bytes nobody asked for (e.g. a TLS alert)
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }

    asio::awaitable<lease> acquire(clock::time_point deadline, bool fresh, bool& reused, bool resendable = false);
    // An idle connection that is still usable, leased without a coroutine
    // frame (the common case under load); nullopt when there is none.
    std::optional<lease> take_idle(bool resendable);
    asio::awaitable<std::unique_ptr<http_connection>> connect(clock::time_point deadline, asio::any_io_executor ex);
    // Waits until release() wakes it (a connection came free) or `timer`
    // expires; the waiter is queued under the lock, so no wake-up is lost.
    auto wait_for_release(const std::shared_ptr<asio::steady_timer>& timer);
    double jitter() {
        std::lock_guard lock(mu_);
        return jitter_(rng_);
    }
    // Sends `req` (unless its body went already: send_streaming) and reads
    // the answer, in one coroutine frame.
    template <class Stream>
    asio::awaitable<http_response> exchange(Stream& stream, http_connection& c, const http_request& req,
                                            clock::time_point deadline, std::chrono::milliseconds idle,
                                            exchange_state& st, bool write = true);
    template <class Stream>
    asio::awaitable<void> write_chunked(Stream& stream, http_connection& c, const http_request& head,
                                        body_chunks& chunks, clock::time_point deadline,
                                        std::chrono::milliseconds idle);
    // An answer the reader refused (c.reader.failure() says why).
    [[noreturn]] void bad_answer(const http_request& req, const std::string& why) const;
    // The request head, into c.head.
    void write_head(http_connection& c, const http_request& req, bool chunked) const;
    void arm_watchdog(clock::time_point at);
    void on_watchdog();
    struct limits {
        clock::time_point deadline;
        std::chrono::milliseconds idle;
    };
    limits limits_for(const http_request& req) const;

    friend struct http_body_stream::state;


    asio::any_io_executor ex_;
    transport_settings s_;
    mutable std::mutex mu_;  // see the class comment
    std::minstd_rand rng_{std::random_device{}()};  // retry jitter
    std::uniform_real_distribution<double> jitter_{0.0, 1.0};
    std::string host_header_, user_agent_;
    std::shared_ptr<asio::ssl::context> ssl_;  // shared with other transports (shared_tls_context)
    std::vector<std::unique_ptr<http_connection>> idle_;
    std::vector<http_connection*> busy_;  // leased: the ones the watchdog looks at
    std::size_t open_ = 0, created_ = 0;
    std::deque<std::shared_ptr<asio::steady_timer>> waiters_;
    asio::steady_timer watchdog_;
    // When it is armed for; written under mu_, read by watch() without it.
    std::atomic<clock::time_point> watchdog_at_ = clock::time_point::max();
};

namespace {
inline clock::time_point earlier(clock::time_point a, std::chrono::milliseconds d) {
    auto now = clock::now();
    return (a - now) < d ? a : now + d;
}

inline std::string describe_ms(std::chrono::milliseconds d) {
    if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + " s";
    return std::to_string(d.count()) + " ms";
}
} // namespace

inline void http_transport::fail(boost::system::error_code ec, const http_request& req, clock::time_point deadline,
                                 const char* phase) const {
    if (ec == asio::error::operation_aborted) throw boost::system::system_error(ec);  // a cancellation stays one
    std::string what = std::string(to_string(req.method)) + " " + s_.origin.scheme + "://" + host_header_ + req.target;
    if (ec == beast::error::timeout) {
        bool total = clock::now() + std::chrono::milliseconds(5) >= deadline;
        auto idle = req.idle_timeout.value_or(s_.timeouts.idle);
        auto tot = req.total_timeout.value_or(s_.timeouts.total);
        if (std::string_view(phase) == "connect")
            throw timeout_error("connect_timeout", "Connecting to " + s_.origin.scheme + "://" + host_header_ +
                                                       " took longer than the connect timeout (" +
                                                       describe_ms(s_.timeouts.connect) + ")");
        if (total)
            throw timeout_error("total_timeout", what + " did not finish within the total timeout (" +
                                                     describe_ms(tot) + ")");
        throw timeout_error("idle_timeout", what + ": no data moved for " + describe_ms(idle) +
                                                " (idle timeout) while " + phase);
    }
    if (ec.category() == asio::error::get_ssl_category() || ec == asio::ssl::error::stream_truncated) {
        throw transport_error("tls_error", "TLS failure with " + s_.origin.scheme + "://" + host_header_ + " while " +
                                               phase + ": " + ec.message());
    }
    throw transport_error(std::string(phase) == std::string("connect") ? "connect_failed" : "connection_failed",
                          what + " failed while " + phase + ": " +
                              (ec == asio::error::eof ? std::string("the server closed the connection") : ec.message()));
}

inline asio::awaitable<std::unique_ptr<http_connection>> http_transport::connect(clock::time_point deadline,
                                                                                 asio::any_io_executor ex) {
    auto c = std::make_unique<http_connection>();
    const auto& host = s_.origin.host;
    // RFC 6761: *.localhost is loopback, no DNS needed.
    std::string resolve_host = protocol::is_localhost_name(host) ? std::string("127.0.0.1") : host;
    tcp::resolver resolver(ex);
    beast::tcp_stream stream(ex);
    auto conn_deadline = earlier(deadline, s_.timeouts.connect);
    try {
        auto endpoints = co_await resolver.async_resolve(resolve_host, std::to_string(s_.origin.port),
                                                         asio::use_awaitable);
        stream.expires_at(conn_deadline);
        co_await stream.async_connect(endpoints, asio::use_awaitable);
        stream.socket().set_option(tcp::no_delay(true));
        if (ssl_) {
            c->tls.emplace(std::move(stream), *ssl_);
            boost::system::error_code addr_ec;
            asio::ip::make_address(host, addr_ec);
            if (addr_ec && !SSL_set_tlsext_host_name(c->tls->native_handle(), host.c_str()))
                throw boost::system::system_error(static_cast<int>(::ERR_get_error()),
                                                  asio::error::get_ssl_category());
            if (s_.verify_tls) c->tls->set_verify_callback(asio::ssl::host_name_verification(host));
            c->tls->next_layer().expires_at(conn_deadline);
            try {
                co_await c->tls->async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
            } catch (const boost::system::system_error& e) {
                auto v = SSL_get_verify_result(c->tls->native_handle());
                if (v != X509_V_OK && e.code() != asio::error::operation_aborted && e.code() != beast::error::timeout)
                    throw transport_error("tls_verify_failed",
                                          "TLS certificate of " + s_.origin.scheme + "://" + host_header_ +
                                              " was refused: " + X509_verify_cert_error_string(v) +
                                              " (add its CA with config.ca_file if you trust it)");
                throw;
            }
        } else {
            c->plain.emplace(std::move(stream));
        }
    } catch (const boost::system::system_error& e) {
        http_request none;
        fail(e.code(), none, deadline, "connect");
    }
    c->tcp().expires_never();  // from here on the watchdog keeps the time (pooled) or the WebSocket does
    {
        std::lock_guard lock(mu_);
        ++created_;
    }
    co_return c;
}

inline void http_transport::watch(http_connection& c, clock::time_point deadline, std::chrono::milliseconds idle) {
    const auto expiry = earlier(deadline, idle);
    {
        std::lock_guard lock(c.watch_mu);
        c.timed_out = false;  // a flag set after the last operation had already finished
        c.expiry = expiry;
    }
    // The pool's lock only when the watchdog must wake earlier. A watchdog
    // pass that set watchdog_at_ to max before it looked at this connection
    // either saw the new expiry or left max here for this check to see.
    if (expiry < watchdog_at_.load()) {
        std::lock_guard lock(mu_);
        if (expiry < watchdog_at_.load()) arm_watchdog(expiry);
    }
}

// Under mu_.
inline void http_transport::arm_watchdog(clock::time_point at) {
    watchdog_at_ = at;
    watchdog_.expires_at(at);  // cancels the wait for a later time, if any
    watchdog_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
        if (ec) return;  // armed again for an earlier time, or the transport is going away
        if (auto self = weak.lock()) self->on_watchdog();
    });
}

// Expiries only move later while the timer waits (each operation sets now +
// idle), so it fires about once per idle period per busy transport, cancels
// what is overdue and waits again for the earliest of the rest.
inline void http_transport::on_watchdog() {
    std::lock_guard lock(mu_);
    watchdog_at_ = clock::time_point::max();
    const auto now = clock::now();
    auto next = clock::time_point::max();
    for (auto* c : busy_) {
        std::lock_guard watch_lock(c->watch_mu);
        if (c->expiry <= now) {
            c->timed_out = true;
            c->expiry = clock::time_point::max();
            boost::system::error_code ignored;
            c->tcp().socket().cancel(ignored);
        } else {
            next = std::min(next, c->expiry);
        }
    }
    if (next != clock::time_point::max()) arm_watchdog(next);
}

inline std::optional<http_transport::lease> http_transport::take_idle(bool resendable) {
    std::unique_lock lock(mu_);
    while (!idle_.empty()) {
        auto c = std::move(idle_.back());
        idle_.pop_back();
        auto verdict = judge_idle(*c, s_.max_idle_age, resendable);
        if (verdict == idle_verdict::probe) {
            lock.unlock();  // the probe is a system call: not under the lock
            verdict = probe_open(*c) ? idle_verdict::usable : idle_verdict::stale;
            lock.lock();
        }
        if (verdict == idle_verdict::usable) {
            std::optional<lease> l(std::in_place, this);
            busy_.push_back(c.get());
            l->conn = std::move(c);
            return l;
        }
        --open_;
        lock.unlock();
        c.reset();
        lock.lock();
    }
    return std::nullopt;
}

inline auto http_transport::wait_for_release(const std::shared_ptr<asio::steady_timer>& timer) {
    return asio::async_initiate<const asio::as_tuple_t<asio::use_awaitable_t<>>&, void(boost::system::error_code)>(
        [this](auto handler, std::shared_ptr<asio::steady_timer> timer) {
            std::unique_lock lock(mu_);
            if (!idle_.empty() || open_ < s_.max_connections) {  // released since the caller looked
                lock.unlock();
                asio::post(asio::append(std::move(handler), boost::system::error_code(asio::error::operation_aborted)));
                return;
            }
            waiters_.push_back(timer);
            timer->async_wait(std::move(handler));  // under the lock: release() cancels it under the lock too
        },
        asio::as_tuple(asio::use_awaitable), timer);
}

inline asio::awaitable<http_transport::lease> http_transport::acquire(clock::time_point deadline, bool fresh,
                                                                      bool& reused, bool resendable) {
    if (fresh) {
        // a reused connection just failed: the others are probably stale too
        std::vector<std::unique_ptr<http_connection>> stale;
        std::lock_guard lock(mu_);
        open_ -= idle_.size();
        stale.swap(idle_);
    }
    for (;;) {
        if (auto l = take_idle(resendable)) {
            reused = true;
            co_return std::move(*l);
        }
        bool may_open = false;
        {
            std::lock_guard lock(mu_);
            if (open_ < s_.max_connections) {
                ++open_;
                may_open = true;
            }
        }
        if (may_open) {
            lease l(this);  // gives the slot back if connect throws
            l.conn = co_await connect(deadline, ex_);
            std::lock_guard lock(mu_);
            busy_.push_back(l.conn.get());
            reused = false;
            co_return l;
        }
        auto timer = std::make_shared<asio::steady_timer>(ex_, deadline);
        auto [ec] = co_await wait_for_release(timer);
        {
            std::lock_guard lock(mu_);
            std::erase(waiters_, timer);
        }
        if (!ec)
            throw timeout_error("pool_timeout", "No free connection to " + s_.origin.scheme + "://" + host_header_ +
                                                    " before the total timeout (all " +
                                                    std::to_string(s_.max_connections) + " are busy)");
        auto cs = co_await asio::this_coro::cancellation_state;
        if (cs.cancelled() != asio::cancellation_type::none)
            throw boost::system::system_error(asio::error::operation_aborted);
    }
}

inline void http_transport::write_head(http_connection& c, const http_request& req, bool chunked) const {
    protocol::request_head h;
    h.method = to_string(req.method);
    h.target = req.target;
    h.host = host_header_;
    h.user_agent = user_agent_;
    h.api_key = s_.api_key;
    h.content_type = req.content_type;
    h.body_size = req.content_type.empty() ? 0 : req.body.size();  // no content type: no body
    h.chunked = chunked;
    c.head.clear();
    protocol::append_request_head(c.head, h);
}

// stream.async_read_some as (error_code, size), awaited in place (deferred:
// no coroutine frame of Asio's) where the stream takes that token; Beast's
// ssl_stream still asks async_result for a return_type deferred lacks.
template <class Stream>
auto read_some(Stream& stream, asio::mutable_buffer room) {
    if constexpr (requires { stream.async_read_some(room, asio::as_tuple(asio::deferred)); })
        return stream.async_read_some(room, asio::as_tuple(asio::deferred));
    else
        return stream.async_read_some(room, asio::as_tuple(asio::use_awaitable));
}

// The head and the body in one write, straight from their strings.
inline std::array<asio::const_buffer, 2> request_buffers(const http_connection& c, const http_request& req) {
    return {asio::buffer(c.head), asio::buffer(req.content_type.empty() ? std::string_view() : req.body)};
}

inline http_transport::limits http_transport::limits_for(const http_request& req) const {
    auto total = req.total_timeout.value_or(s_.timeouts.total);
    auto idle = req.idle_timeout.value_or(s_.timeouts.idle);
    if (idle.count() <= 0) idle = std::chrono::hours(24 * 365);
    return {total.count() > 0 ? clock::now() + total : clock::time_point::max(), idle};
}

inline void http_transport::bad_answer(const http_request& req, const std::string& why) const {
    throw transport_error("connection_failed", std::string(to_string(req.method)) + " " + s_.origin.scheme + "://" +
                                                   host_header_ + req.target +
                                                   ": the server's answer could not be read: " + why);
}

// Reads the answer with the connection's reader. The idle limit is renewed
// on every read from the socket: an answer that keeps coming is never idle,
// however slowly its head arrives.
template <class Stream>
asio::awaitable<http_response> http_transport::exchange(Stream& stream, http_connection& c, const http_request& req,
                                                        clock::time_point deadline, std::chrono::milliseconds idle,
                                                        exchange_state& st, bool write) {
    using event = protocol::answer_reader::event;
    if (write) {
        write_head(c, req, false);
        watch(c, deadline, idle);
        st.write_failed = true;
        // deferred, not use_awaitable: awaited in place, without a coroutine frame of Asio's
        co_await asio::async_write(stream, request_buffers(c, req), asio::deferred);
        st.write_failed = false;
    }
    auto& r = c.reader;
    r.reset({.body = 512ull * 1024 * 1024});
    http_response out;
    for (;;) {
        std::size_t used = 0;
        auto e = r.read(c.in.data(), c.in.size(), used);
        c.in.consume(used);
        if (e == event::body) {
            out.body.append(r.body());
            continue;
        }
        if (e == event::head) {
            if (auto n = r.content_length()) out.body.reserve(static_cast<std::size_t>(*n));
            continue;
        }
        if (e == event::done) break;
        if (e == event::failed) bad_answer(req, r.failure());
        watch(c, deadline, idle);
        auto [ec, n] = co_await read_some(stream, c.in.room(16 * 1024));
        if (ec == asio::error::eof) {
            if (!r.started()) throw boost::system::system_error(ec);  // nothing came: maybe a stale connection
            if (r.finish() == event::done) break;                    // a body that ends with the connection
            bad_answer(req, r.failure());
        }
        if (ec) throw boost::system::system_error(ec);
        st.got_answer_bytes = true;
        c.in.commit(n);
    }
    // Bytes after the answer: the connection is in no known state for another request.
    st.keep_alive = r.keep_alive() && c.in.size() == 0;
    out.status = r.status();
    if (auto v = r.header("content-type")) out.content_type = std::string(*v);
    if (auto v = r.header("retry-after")) out.retry_after = protocol::parse_retry_after(*v);
    co_return out;
}

template <class Stream>
asio::awaitable<void> http_transport::write_chunked(Stream& stream, http_connection& c, const http_request& head,
                                                    body_chunks& chunks, clock::time_point deadline,
                                                    std::chrono::milliseconds idle) {
    write_head(c, head, true);
    watch(c, deadline, idle);
    co_await asio::async_write(stream, asio::buffer(c.head), asio::use_awaitable);
    for (;;) {
        // The source may take its time (it is the user's): no idle limit while we wait for it.
        unwatch(c);
        std::string chunk = co_await chunks();
        watch(c, deadline, idle);
        if (chunk.empty()) break;
        co_await asio::async_write(stream, http::make_chunk(asio::buffer(chunk)), asio::use_awaitable);
    }
    co_await asio::async_write(stream, http::make_chunk_last(), asio::use_awaitable);
}

inline asio::awaitable<http_response> http_transport::send_streaming(http_request head, body_chunks chunks) {
    auto self = shared_from_this();
    auto [deadline, idle] = limits_for(head);
    bool reused = false;
    auto l = co_await acquire(deadline, false, reused);
    exchange_state st;
    try {
        http_response resp;
        if (l.conn->tls) {
            co_await write_chunked(*l.conn->tls, *l.conn, head, chunks, deadline, idle);
            resp = co_await exchange(*l.conn->tls, *l.conn, head, deadline, idle, st, false);
        } else {
            co_await write_chunked(l.conn->plain->socket(), *l.conn, head, chunks, deadline, idle);
            resp = co_await exchange(l.conn->plain->socket(), *l.conn, head, deadline, idle, st, false);
        }
        l.reusable = st.keep_alive;
        co_return resp;
    } catch (const boost::system::system_error& e) {
        fail(cause(*l.conn, e), head, deadline, "streaming the request body");
    }
}

inline void http_transport::report(const http_request& req, unsigned attempt, clock::time_point started,
                                   std::optional<unsigned> status, std::string_view error,
                                   std::optional<std::chrono::milliseconds> retry_in) const {
    if (!s_.on_attempt) return;
    std::string url = s_.origin.scheme + "://" + host_header_ + req.target;
    attempt_record r;
    r.method = to_string(req.method);
    r.url = url;
    r.attempt = attempt;
    r.status = status;
    r.duration = std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - started);
    r.error = error;
    r.retry_in = retry_in;
    try {
        s_.on_attempt(r);
    } catch (...) {
        // an observer must not change the outcome
    }
}

inline asio::awaitable<http_response> http_transport::send(std::shared_ptr<http_transport> self, http_request req) {
    auto& t = *self;  // held for the whole request
    auto [deadline, idle] = t.limits_for(req);
    bool fresh = false;
    unsigned counted = 0;  // attempts against the retry budget (a stale-connection resend is free)
    for (unsigned attempt = 1;; ++attempt) {
        const auto started = clock::now();
        exchange_state st;
        bool connected = false, stale = false;
        std::exception_ptr failure;
        std::string error_text, error_code;
        http_response resp;
        try {
            bool reused = true;
            // (after a stale connection: none of the idle ones, acquire() drops them)
            auto l = fresh ? std::nullopt : t.take_idle(req.idempotent);
            if (!l) {
                auto got = co_await t.acquire(deadline, fresh, reused, req.idempotent);
                l.emplace(std::move(got));
            }
            connected = true;
            try {
                // (if/else, not ?: — g++ 12 destroys the result of a co_await in a
                // conditional expression twice)
                if (l->conn->tls)
                    resp = co_await t.exchange(*l->conn->tls, *l->conn, req, deadline, idle, st);
                else
                    resp = co_await t.exchange(l->conn->plain->socket(), *l->conn, req, deadline, idle, st);
                l->reusable = st.keep_alive;
            } catch (const boost::system::system_error& e) {
                // A kept-alive connection the server had already closed: send again
                // on a fresh one, not counted as an attempt, if the request cannot
                // have been processed (it never fully left) or is idempotent and no
                // byte of the answer arrived.
                auto ec = cause(*l->conn, e);
                stale = reused && !fresh && ec != asio::error::operation_aborted && ec != beast::error::timeout &&
                        (st.write_failed || (req.idempotent && !st.got_answer_bytes));
                if (!stale) t.fail(ec, req, deadline, st.write_failed ? "sending the request" : "reading the answer");
            }
        } catch (const wrenn::error& e) {
            failure = std::current_exception();
            error_text = e.what();
            error_code = e.code();
        }  // cancellation (system_error operation_aborted) propagates as it is
        if (stale) {
            t.report(req, attempt, started, std::nullopt,
                   "the server had closed the kept-alive connection; sending again on a new one",
                   std::chrono::milliseconds(0));
            fresh = true;
            continue;
        }
        fresh = false;
        protocol::attempt_outcome o;
        o.attempt = ++counted;
        o.idempotent = req.idempotent;
        o.request_sent = connected && !st.write_failed;
        o.answer_started = st.got_answer_bytes;
        if (!failure) {
            o.status = resp.status;
            o.retry_after = resp.retry_after;
        }
        o.total_timeout = error_code == "total_timeout" || error_code == "pool_timeout";
        auto delay = protocol::retry_delay(t.s_.retry, o, t.jitter());
        if (delay && deadline != clock::time_point::max() && clock::now() + *delay >= deadline) delay.reset();
        t.report(req, attempt, started, o.status, error_text, delay);
        if (!delay) {
            if (failure) std::rethrow_exception(failure);
            if (req.throw_http_errors && resp.status >= 400)
                protocol::throw_http_error(resp.status, resp.body, resp.retry_after, {req.operation, req.path_operation});
            co_return resp;
        }
        asio::steady_timer pause(t.ex_, *delay);
        co_await pause.async_wait(asio::use_awaitable);
    }
}

struct http_body_stream::state {
    std::shared_ptr<http_transport> transport;
    http_transport::lease lease;
    clock::time_point deadline;
    std::chrono::milliseconds idle;
    http_request req;  // for error messages

    state(std::shared_ptr<http_transport> t, http_transport::lease l) : transport(std::move(t)), lease(std::move(l)) {
        lease.conn->reader.reset();  // any size: it is streamed
    }

    // The next event of the answer, reading from the socket as needed. A
    // body piece stays valid until the next call.
    template <class Stream>
    asio::awaitable<protocol::answer_reader::event> next_event(Stream& stream) {
        using event = protocol::answer_reader::event;
        auto& c = *lease.conn;
        auto& r = c.reader;
        for (;;) {
            std::size_t used = 0;
            auto e = r.read(c.in.data(), c.in.size(), used);
            c.in.consume(used);
            if (e == event::failed) transport->bad_answer(req, r.failure());
            if (e != event::need_more) co_return e;
            transport->watch(c, deadline, idle);
            // 64 KiB reads: a 1 GiB download at curl's pace (bench/NOTES.md)
            auto [ec, n] = co_await stream.async_read_some(c.in.room(64 * 1024), asio::as_tuple(asio::use_awaitable));
            // the reader may take its time before the next call: no idle limit meanwhile
            http_transport::unwatch(c);
            if (ec == asio::error::eof) {
                if (!r.started()) throw boost::system::system_error(ec);
                e = r.finish();
                if (e == event::failed) transport->bad_answer(req, r.failure());
                co_return e;
            }
            if (ec) throw boost::system::system_error(ec);
            c.in.commit(n);
        }
    }

    template <class Stream>
    asio::awaitable<void> read_head(Stream& stream) {
        while (!lease.conn->reader.head_done()) (void)co_await next_event(stream);
    }
};

WRENN_DECL http_body_stream::http_body_stream() = default;
WRENN_DECL http_body_stream::http_body_stream(std::unique_ptr<state> s) : s_(std::move(s)) {}
WRENN_DECL http_body_stream::http_body_stream(http_body_stream&&) noexcept = default;
WRENN_DECL http_body_stream& http_body_stream::operator=(http_body_stream&&) noexcept = default;
WRENN_DECL http_body_stream::~http_body_stream() = default;

WRENN_DECL asio::any_io_executor http_body_stream::get_executor() const {
    if (!s_) return asio::system_executor();
    return s_->transport->get_executor();
}

WRENN_DECL unsigned http_body_stream::status() const { return s_->lease.conn->reader.status(); }

WRENN_DECL std::optional<std::uint64_t> http_body_stream::content_length() const {
    return s_->lease.conn->reader.content_length();
}

WRENN_DECL std::optional<std::chrono::seconds> http_body_stream::retry_after() const {
    if (auto v = s_->lease.conn->reader.header("retry-after")) return protocol::parse_retry_after(*v);
    return std::nullopt;
}

WRENN_DECL asio::awaitable<std::string_view> http_body_stream::next() {
    using event = protocol::answer_reader::event;
    auto& st = *s_;
    auto& c = *st.lease.conn;
    try {
        for (;;) {
            auto e = event::need_more;  // if/else, never ?: around co_await (g++ 12)
            if (c.tls)
                e = co_await st.next_event(*c.tls);
            else
                e = co_await st.next_event(c.plain->socket());
            if (e == event::body) co_return c.reader.body();
            if (e == event::done) break;
        }
    } catch (const boost::system::system_error& e) {
        st.transport->fail(http_transport::cause(c, e), st.req, st.deadline, "reading the answer");
    }
    // Complete: the connection may serve the next request.
    st.lease.reusable = c.reader.keep_alive() && c.in.size() == 0;
    co_return std::string_view{};
}

inline asio::awaitable<http_body_stream> http_transport::open_body_stream(http_request req) {
    auto [deadline, idle] = limits_for(req);
    bool reused = false;
    auto l = co_await acquire(deadline, false, reused);
    auto st = std::make_unique<http_body_stream::state>(shared_from_this(), std::move(l));
    st->deadline = deadline;
    st->idle = idle;
    auto& conn = *st->lease.conn;
    try {
        write_head(conn, req, false);
        watch(conn, deadline, idle);
        if (conn.tls) {
            co_await asio::async_write(*conn.tls, request_buffers(conn, req), asio::use_awaitable);
            co_await st->read_head(*conn.tls);
        } else {
            co_await asio::async_write(conn.plain->socket(), request_buffers(conn, req), asio::use_awaitable);
            co_await st->read_head(conn.plain->socket());
        }
    } catch (const boost::system::system_error& e) {
        fail(cause(conn, e), req, deadline, "opening a download");
    }
    st->req = std::move(req);
    co_return http_body_stream(std::move(st));
}

WRENN_DECL asio::awaitable<http_response> send_streaming(std::shared_ptr<http_transport> t, http_request head,
                                                        body_chunks chunks) {
    co_return co_await t->send_streaming(std::move(head), std::move(chunks));
}

WRENN_DECL asio::awaitable<http_body_stream> open_body_stream(std::shared_ptr<http_transport> t, http_request req) {
    co_return co_await t->open_body_stream(std::move(req));
}

WRENN_DECL std::shared_ptr<http_transport> make_http_transport(asio::any_io_executor ex, transport_settings settings) {
    return std::make_shared<http_transport>(std::move(ex), std::move(settings));
}

WRENN_DECL asio::awaitable<http_response> send(std::shared_ptr<http_transport> t, http_request req) {
    return http_transport::send(std::move(t), std::move(req));
}

WRENN_DECL pool_stats stats(const http_transport& t) { return t.stats(); }

} // namespace wrenn::detail
