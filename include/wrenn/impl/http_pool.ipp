// The transport's connections: opening them, leasing them from the pool and
// back (protocol::connection_pool decides; the I/O and the locking are
// here), and the watchdog that keeps their timeouts.
#pragma once

#include <wrenn/detail/http_transport.hpp>
#include <wrenn/error.hpp>
#include <wrenn/version.hpp>

#include <boost/asio/append.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

namespace wrenn::detail {

WRENN_DECL http_transport::http_transport(boost::asio::any_io_executor ex, transport_settings s)
    : ex_(std::move(ex)), s_(std::move(s)), host_header_(s_.origin.authority()),
      user_agent_(std::string("wrenn-cpp/") + WRENN_VERSION_STRING), pool_(s_.max_connections, s_.max_idle_age),
      watchdog_(ex_) {
    if (s_.origin.tls()) ssl_ = shared_tls_context(s_.ca_file, s_.verify_tls);
}

WRENN_DECL pool_stats http_transport::stats() const {
    std::lock_guard lock(mu_);
    return {pool_.open(), pool_.idle(), waiters_.size(), pool_.created()};
}

WRENN_DECL double http_transport::jitter() {
    std::lock_guard lock(mu_);
    return jitter_(rng_);
}

WRENN_DECL boost::system::error_code http_transport::cause(const http_connection& c,
                                                           const boost::system::system_error& e) {
    return c.timed_out ? boost::system::error_code(boost::beast::error::timeout) : e.code();
}

WRENN_DECL boost::asio::awaitable<std::unique_ptr<http_connection>>
http_transport::connect(clock::time_point deadline, boost::asio::any_io_executor ex, boost::asio::any_io_executor home) {
    namespace asio = boost::asio;
    using tcp = asio::ip::tcp;
    auto c = std::make_unique<http_connection>();
    const auto& host = s_.origin.host;
    // RFC 6761: *.localhost is loopback, no DNS needed.
    std::string resolve_host = protocol::is_localhost_name(host) ? std::string("127.0.0.1") : host;
    tcp::resolver resolver(ex);
    boost::beast::tcp_stream stream(ex);
    auto conn_deadline = earlier(deadline, s_.timeouts.connect);
    try {
        auto endpoints =
            co_await resolver.async_resolve(resolve_host, std::to_string(s_.origin.port), asio::use_awaitable);
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
                if (v != X509_V_OK && e.code() != asio::error::operation_aborted &&
                    e.code() != boost::beast::error::timeout)
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
    if (c->plain && home && home != ex) {
        // The plain socket moves to `home`, where its reads and writes complete
        // (an I/O executor other than the handler's costs ~1,900 instructions a
        // request); the old stream, its timer cancelled, ends here, on `ex`.
        auto& old = c->plain->socket();
        boost::system::error_code ec;
        auto local = old.local_endpoint(ec);  // (if it fails, the socket stays where it is)
        if (!ec) {
            auto handle = old.release(ec);
            tcp::socket moved(home);
            if (!ec) {
                moved.assign(local.protocol(), handle, ec);
                if (ec) ::close(handle);
            }
            if (ec) {
                http_request none;
                fail(ec, none, deadline, "connect");
            }
            c->plain.emplace(std::move(moved));
        }
    }
    {
        std::lock_guard lock(mu_);
        pool_.opened();
    }
    co_return c;
}

WRENN_DECL void http_transport::watch(http_connection& c, clock::time_point deadline, std::chrono::milliseconds idle) {
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

WRENN_DECL void http_transport::unwatch(http_connection& c) noexcept {
    std::lock_guard lock(c.watch_mu);
    c.expiry = clock::time_point::max();
}

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
    for (auto* c : pool_.busy()) {
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

WRENN_DECL void http_transport::release(std::unique_ptr<http_connection> c, bool reusable) {
    std::unique_lock lock(mu_);
    if (c) unwatch(*c);
    auto to_close = pool_.release(std::move(c), reusable, clock::now());
    // nothing left to watch: a waiting timer would keep io_context::run() from returning
    if (pool_.busy().empty() && watchdog_at_.load() != clock::time_point::max()) {
        watchdog_at_ = clock::time_point::max();
        watchdog_.cancel();
    }
    if (!waiters_.empty()) {
        auto w = waiters_.front();
        waiters_.pop_front();
        w->cancel();
    }
    lock.unlock();
    to_close.reset();  // a connection that is not kept is closed outside the lock
}

// A peek that does not wait: 0 bytes, the server closed; some, it sent
// something unasked (e.g. a TLS alert) while the connection sat idle.
inline bool probe_open(http_connection& c) {
    char b;
    auto fd = c.tcp().socket().native_handle();
    auto n = ::recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

WRENN_DECL std::optional<http_transport::lease> http_transport::take_idle(bool resendable) {
    std::unique_lock lock(mu_);
    for (;;) {
        if (pool_.idle() == 0) return std::nullopt;
        auto step = pool_.next(clock::now(), resendable);
        if (step.what == pool_type::action::probe) {
            lock.unlock();  // the probe is a system call: not under the lock
            bool open = probe_open(*step.conn);
            lock.lock();
            if (open) {
                pool_.leased(*step.conn);
                step.what = pool_type::action::use;
            } else {
                pool_.closed();
                step.what = pool_type::action::drop;
            }
        }
        if (step.what == pool_type::action::use) {
            std::optional<lease> l(std::in_place, this);
            l->conn = std::move(step.conn);
            return l;
        }
        lock.unlock();  // drop: closed outside the lock
        step.conn.reset();
        lock.lock();
    }
}

inline auto http_transport::wait_for_release(const std::shared_ptr<boost::asio::steady_timer>& timer) {
    namespace asio = boost::asio;
    return asio::async_initiate<const asio::as_tuple_t<asio::use_awaitable_t<>>&, void(boost::system::error_code)>(
        [this](auto handler, std::shared_ptr<asio::steady_timer> timer) {
            std::unique_lock lock(mu_);
            if (!pool_.must_wait()) {  // released since the caller looked
                lock.unlock();
                asio::post(asio::append(std::move(handler), boost::system::error_code(asio::error::operation_aborted)));
                return;
            }
            waiters_.push_back(timer);
            timer->async_wait(std::move(handler));  // under the lock: release() cancels it under the lock too
        },
        asio::as_tuple(asio::use_awaitable), timer);
}

WRENN_DECL boost::asio::awaitable<http_transport::lease> http_transport::acquire(clock::time_point deadline,
                                                                                bool fresh, bool& reused,
                                                                                bool resendable) {
    namespace asio = boost::asio;
    if (fresh) {
        std::vector<std::unique_ptr<http_connection>> stale;
        std::lock_guard lock(mu_);
        stale = pool_.take_idle();  // closed when this block ends, after the lock (declared first)
    }
    for (;;) {
        if (auto l = take_idle(resendable)) {
            reused = true;
            co_return std::move(*l);
        }
        bool may_open = false;
        {
            std::lock_guard lock(mu_);
            // take_idle() found none: open (a slot is reserved) or wait; an idle
            // one released meanwhile is taken on the next turn
            may_open = pool_.idle() == 0 && pool_.next(clock::now(), resendable).what == pool_type::action::open;
        }
        if (may_open) {
            lease l(this);  // gives the slot back if connect throws
            // Beast's connect timer closes the socket from a handler of its
            // own: on a multi-threaded io_context that handler could run while
            // this coroutine destroys the failed connection on another thread.
            // On a strand of their own (the socket's executor too), they take
            // turns; a TLS connection stays there (its stream cannot move).
            auto strand = asio::make_strand(ex_);
            l.conn = co_await asio::co_spawn(strand, connect(deadline, strand, ex_), asio::use_awaitable);
            std::lock_guard lock(mu_);
            pool_.leased(*l.conn);
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
                                                    std::to_string(pool_.max_connections()) + " are busy)");
        auto cs = co_await asio::this_coro::cancellation_state;
        if (cs.cancelled() != asio::cancellation_type::none)
            throw boost::system::system_error(asio::error::operation_aborted);
    }
}

} // namespace wrenn::detail
