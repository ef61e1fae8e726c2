// An answer read piece by piece (a download), holding its pooled connection
// until the body is complete.
#pragma once

#include <wrenn/detail/continuation.hpp>
#include <wrenn/detail/http_transport.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/system_executor.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace wrenn::detail {

namespace asio = boost::asio;
using clock = http_transport::clock;

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
            auto [ec, n] = co_await stream.async_read_some(c.in.room(64 * 1024), as_continuation(asio::as_tuple(asio::use_awaitable)));
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

WRENN_DECL asio::awaitable<http_body_stream> http_transport::open_body_stream(http_request req) {
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


WRENN_DECL asio::awaitable<http_body_stream> open_body_stream(std::shared_ptr<http_transport> t, http_request req) {
    co_return co_await t->open_body_stream(std::move(req));
}

} // namespace wrenn::detail
