// The transport's exchanges: a request and its whole answer (send, with its
// retries as protocol::attempt_plan decides them), a request with a streamed
// body (send_streaming), and the errors they end in.
#pragma once

#include <wrenn/detail/continuation.hpp>
#include <wrenn/detail/http_transport.hpp>
#include <wrenn/error.hpp>
#include <wrenn/protocol/answers.hpp>
#include <wrenn/protocol/request_head.hpp>
#include <wrenn/protocol/retry.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/chunk_encode.hpp>

#include <array>

namespace wrenn::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using clock = http_transport::clock;

WRENN_DECL const char* to_string(http_method m) {
    switch (m) {
    case http_method::get: return "GET";
    case http_method::post: return "POST";
    case http_method::put: return "PUT";
    case http_method::patch: return "PATCH";
    case http_method::del: return "DELETE";
    }
    return "GET";
}

WRENN_DECL void http_transport::fail(boost::system::error_code ec, const http_request& req, clock::time_point deadline,
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

WRENN_DECL void http_transport::write_head(http_connection& c, const http_request& req, bool chunked) const {
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
        return stream.async_read_some(room, as_continuation(asio::as_tuple(asio::deferred)));
    else
        return stream.async_read_some(room, as_continuation(asio::as_tuple(asio::use_awaitable)));
}


WRENN_DECL http_transport::limits http_transport::limits_for(const http_request& req) const {
    auto total = req.total_timeout.value_or(s_.timeouts.total);
    auto idle = req.idle_timeout.value_or(s_.timeouts.idle);
    if (idle.count() <= 0) idle = std::chrono::hours(24 * 365);
    return {total.count() > 0 ? clock::now() + total : clock::time_point::max(), idle};
}

WRENN_DECL void http_transport::bad_answer(const http_request& req, const std::string& why) const {
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
        co_await asio::async_write(stream, request_buffers(c, req), as_continuation(asio::deferred));
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
    st.keep_alive = protocol::reusable_after_answer(r.keep_alive(), c.in.size());
    out.status = r.status();
    if (auto v = r.header("content-type")) out.content_type = std::string(*v);
    if (auto v = r.header("retry-after")) out.retry_after = protocol::parse_retry_after(*v);
    if (auto v = r.header("x-request-id")) out.request_id = std::string(*v);
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

WRENN_DECL asio::awaitable<http_response> http_transport::send_streaming(http_request head, body_chunks chunks) {
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

WRENN_DECL void http_transport::report(const http_request& req, unsigned attempt, clock::time_point started,
                                   std::optional<unsigned> status, std::string_view error,
                                   std::optional<std::chrono::milliseconds> retry_in,
                                   std::string_view request_id) const {
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
    r.request_id = request_id;
    try {
        s_.on_attempt(r);
    } catch (...) {
        // an observer must not change the outcome
    }
}

WRENN_DECL asio::awaitable<http_response> http_transport::send(std::shared_ptr<http_transport> self, http_request req) {
    auto& t = *self;  // held for the whole request
    auto [deadline, idle] = t.limits_for(req);
    protocol::attempt_plan plan(t.s_.retry, req.idempotent);
    for (;;) {
        const auto started = clock::now();
        const unsigned attempt = plan.attempt();
        exchange_state st;
        bool connected = false, stale = false;
        std::exception_ptr failure;
        std::string error_text, error_code;
        http_response resp;
        try {
            bool reused = true;
            // (after a stale connection: none of the idle ones, acquire() drops them)
            auto l = plan.fresh() ? std::nullopt : t.take_idle(req.idempotent);
            if (!l) {
                auto got = co_await t.acquire(deadline, plan.fresh(), reused, req.idempotent);
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
                auto ec = cause(*l->conn, e);
                protocol::connection_failure f;
                f.reused = reused;
                f.write_failed = st.write_failed;
                f.answer_started = st.got_answer_bytes;
                f.cancelled = ec == asio::error::operation_aborted;
                f.timed_out = ec == beast::error::timeout;
                stale = plan.resend_on_new_connection(f);
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
            continue;
        }
        protocol::attempt_outcome o;
        o.request_sent = connected && !st.write_failed;
        o.answer_started = st.got_answer_bytes;
        if (!failure) {
            o.status = resp.status;
            o.retry_after = resp.retry_after;
            if (resp.status >= 400) o.retryable = protocol::read_error_envelope(resp.body).retryable;
        }
        o.total_timeout = error_code == "total_timeout" || error_code == "pool_timeout";
        std::optional<std::chrono::milliseconds> left;
        if (deadline != clock::time_point::max())
            left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
        auto delay = plan.next_attempt(o, t.jitter(), left);
        t.report(req, attempt, started, o.status, error_text, delay, resp.request_id);
        if (!delay) {
            if (failure) std::rethrow_exception(failure);
            if (req.throw_http_errors && resp.status >= 400)
                protocol::throw_http_error(resp.status, resp.body, resp.retry_after,
                                           {req.operation, req.path_operation, resp.request_id});
            co_return resp;
        }
        asio::steady_timer pause(t.ex_, *delay);
        co_await pause.async_wait(asio::use_awaitable);
    }
}

WRENN_DECL asio::awaitable<http_response> send_streaming(std::shared_ptr<http_transport> t, http_request head,
                                                        body_chunks chunks) {
    co_return co_await t->send_streaming(std::move(head), std::move(chunks));
}

WRENN_DECL std::shared_ptr<http_transport> make_http_transport(asio::any_io_executor ex, transport_settings settings) {
    return std::make_shared<http_transport>(std::move(ex), std::move(settings));
}

WRENN_DECL asio::awaitable<http_response> send(std::shared_ptr<http_transport> t, http_request req) {
    return http_transport::send(std::move(t), std::move(req));
}

WRENN_DECL pool_stats stats(const http_transport& t) { return t.stats(); }

} // namespace wrenn::detail
