#pragma once
// as_continuation(token): the same completion token, its handler marked as
// the continuation of the operation that started it (asio_handler_is_continuation).
//
// Why: on an io_context run by several threads, an I/O operation that
// completes at once (a write the socket takes whole) queues its handler on
// the shared queue and wakes another thread to run it: a futex or eventfd
// call and a thread switch per write. Marked as a continuation, the handler
// stays in the initiating thread's private queue and runs right after the
// current handler, as Asio's own composed operations do for their inner
// steps. The SDK's request and stream coroutines use it for their socket
// reads and writes: each is the next step of the caller's operation.
#include <boost/asio/associator.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/handler_continuation_hook.hpp>

#include <type_traits>
#include <utility>

namespace wrenn::detail {

template <class Token>
struct continuation_t {
    Token token;
};

template <class Token>
continuation_t<std::decay_t<Token>> as_continuation(Token&& token) {
    return {std::forward<Token>(token)};
}

template <class Handler>
struct continuation_handler {
    Handler handler;

    template <class... Args>
    void operator()(Args&&... args) {
        std::move(handler)(std::forward<Args>(args)...);
    }
    friend bool asio_handler_is_continuation(continuation_handler*) { return true; }
};

template <class Initiation>
struct continuation_initiation {
    Initiation initiation;

    template <class Handler, class... Args>
    void operator()(Handler&& handler, Args&&... args) {
        std::move(initiation)(continuation_handler<std::decay_t<Handler>>{std::forward<Handler>(handler)},
                              std::forward<Args>(args)...);
    }
};

}  // namespace wrenn::detail

namespace boost::asio {

template <class Token, class... Signatures>
struct async_result<wrenn::detail::continuation_t<Token>, Signatures...> : async_result<Token, Signatures...> {
    template <class Initiation, class RawToken, class... Args>
    static auto initiate(Initiation&& initiation, RawToken&& token, Args&&... args) {
        return async_result<Token, Signatures...>::initiate(
            wrenn::detail::continuation_initiation<std::decay_t<Initiation>>{std::forward<Initiation>(initiation)},
            std::forward<RawToken>(token).token, std::forward<Args>(args)...);
    }
};

// The wrapped handler's executor, allocator and cancellation slot are its own.
template <template <class, class> class Associator, class Handler, class Default>
struct associator<Associator, wrenn::detail::continuation_handler<Handler>, Default> : Associator<Handler, Default> {
    static typename Associator<Handler, Default>::type get(const wrenn::detail::continuation_handler<Handler>& h) noexcept {
        return Associator<Handler, Default>::get(h.handler);
    }
    static auto get(const wrenn::detail::continuation_handler<Handler>& h, const Default& d) noexcept
        -> decltype(Associator<Handler, Default>::get(h.handler, d)) {
        return Associator<Handler, Default>::get(h.handler, d);
    }
};

}  // namespace boost::asio
