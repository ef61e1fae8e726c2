// A WebSocket connection over a plain or TLS socket: reading frames in a
// chain of completion handlers on the connection's strand, decoding them and
// handing each message to the waiting consumer (or keeping one ahead).
#pragma once

#include <wrenn/detail/continuation.hpp>
#include <wrenn/detail/ws_connection.hpp>

namespace wrenn::detail {

namespace ws_impl {
inline asio::awaitable<void> send_control(std::shared_ptr<ws_connection> c, protocol::ws_opcode op, std::string payload);
inline asio::awaitable<void> close_task(std::shared_ptr<ws_connection> c, std::string last_message, std::uint16_t code);
} // namespace ws_impl

template <class Next>
class ws_stream final : public ws_connection {
public:
    ws_stream(strand_type strand, Next next, std::string operation, std::chrono::milliseconds idle)
        : ws_connection(std::move(strand), std::move(operation), idle), next(std::move(next)) {}

    asio::awaitable<boost::system::error_code> write_frame(protocol::ws_opcode op, std::string_view payload) override {
        std::array<unsigned char, 4> mask{};
        RAND_bytes(mask.data(), static_cast<int>(mask.size()));  // RFC 6455 §5.3: unpredictable
        out.clear();
        protocol::append_ws_frame(out, op, payload, mask);
        // not cancellable: a half-written frame would break the connection
        auto [ec, n] = co_await asio::async_write(
            io(), asio::buffer(out),
            asio::bind_cancellation_slot(asio::cancellation_slot(), as_continuation(asio::as_tuple(asio::use_awaitable))));
        co_return ec;
    }

    void close_socket() override {
        boost::system::error_code ec;
        beast::get_lowest_layer(next).socket().shutdown(tcp::socket::shutdown_both, ec);
        beast::get_lowest_layer(next).socket().close(ec);
    }

    // Plain: the socket itself (Beast's tcp_stream would add its timer
    // bookkeeping to every read); TLS: the SSL stream.
    auto& io() {
        if constexpr (std::is_same_v<Next, beast::tcp_stream>) return next.socket();
        else return next;
    }

    // The reader: reads the socket into `in`, hands each message to a waiting
    // consumer or keeps it (deliver), answers pings, until the connection ends; owns
    // the connection meanwhile. Completion handlers rather than a coroutine:
    // no frame per read, and every message already read is handed out
    // before the next read. `already` holds bytes read past the upgrade's answer.
    static void start_reading(std::shared_ptr<ws_stream> self, std::string_view already) {
        self->in.resize(std::max(read_size, already.size()));
        std::copy(already.begin(), already.end(), self->in.begin());
        self->in_end = already.size();
        // posted: the caller's first message (a stream's start) goes out
        // before whatever the server sent already is judged
        auto ex = self->executor;
        asio::post(ex, [self = std::move(self)]() mutable { self->decode(std::move(self)); });
    }

    Next next;
    bool handshaking = true;
    bool handshake_timed_out = false;

private:
    void read_more(std::shared_ptr<ws_stream> self) {
        // only a frame header cut short is left over: move it to the front
        std::copy(in.begin() + static_cast<std::ptrdiff_t>(in_begin), in.begin() + static_cast<std::ptrdiff_t>(in_end),
                  in.begin());
        in_end -= in_begin;
        in_begin = 0;
        io().async_read_some(asio::buffer(in.data() + in_end, in.size() - in_end),
                             as_continuation([self = std::move(self)](boost::system::error_code e, std::size_t n) mutable {
                                 self->on_read(std::move(self), e, n);
                             }));
    }

    void on_read(std::shared_ptr<ws_stream> self, boost::system::error_code e, std::size_t n) {
        ++progress;
        in_end += n;
        if (e) {
            socket_dead = true;
            stop_reading();
            if (!inbox_closed) deliver(idle_expired ? boost::system::error_code(beast::error::timeout) : e, {});
            return;
        }
        decode(std::move(self));
    }

    // Hands out everything read so far, then reads more.
    void decode(std::shared_ptr<ws_stream> self) {
        using event = protocol::ws_reader::event;
        for (;;) {
            std::size_t used = 0;
            auto ev = reader.read(in.data() + in_begin, in_end - in_begin, used);
            in_begin += used;
            switch (ev) {
            case event::need_more: return read_more(std::move(self));
            case event::message:
                if (inbox_closed) break;  // closing: what is still coming is dropped
                if (!receiver) {
                    deliver({}, reader.take_message());
                    return wait_for_consumer(std::move(self));
                }
                deliver({}, reader.take_message());  // resumes the consumer right here
                break;
            case event::ping:
                if (!close_sent)
                    asio::co_spawn(executor,
                                   ws_impl::send_control(self, protocol::ws_opcode::pong, std::string(reader.payload())),
                                   asio::detached);
                break;
            case event::pong: break;
            case event::close:
                // the server ends the connection: answer with its code, then close the socket
                if (!close_sent) {
                    auto code = reader.close_code() == 1005 ? protocol::ws_close_normal : reader.close_code();
                    asio::co_spawn(executor, ws_impl::close_task(self, {}, code), asio::detached);
                }
                stop_reading();
                if (!inbox_closed) deliver(asio::error::eof, {});
                return;
            case event::failed:
                // the close frame says why, before any close the consumer makes on hearing of it
                failure = reader.failure();
                asio::co_spawn(executor, ws_impl::close_task(self, {}, reader.failure_code()), asio::detached);
                stop_reading();
                if (!inbox_closed) deliver(boost::system::errc::make_error_code(boost::system::errc::protocol_error), {});
                return;
            }
        }
    }

    // The consumer is behind: decoding stops until it waits for the next
    // message (or the connection is being closed). No read runs meanwhile,
    // so no pong could be seen: the idle check must not blame the server for
    // our consumer's pace.
    void wait_for_consumer(std::shared_ptr<ws_stream> self) {
        consumer_paused = true;
        reader_wake.async_wait([self = std::move(self)](boost::system::error_code) mutable {
            self->consumer_paused = false;
            if (self->ahead && !self->inbox_closed) return self->wait_for_consumer(std::move(self));
            self->decode(std::move(self));
        });
    }

    static constexpr std::size_t read_size = 16 * 1024;  // a TLS record; ~100 stdout messages
    std::string in;  // bytes read: [in_begin, in_end) not decoded yet
    std::size_t in_begin = 0, in_end = 0;
    protocol::ws_reader reader;
    std::string out;   // the frame being written (writes take turns: acquire_write)
};

} // namespace wrenn::detail
