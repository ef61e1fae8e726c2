// Completion tokens. Every asynchronous operation of the SDK takes any Asio
// completion token as its last argument, after all of its options; without
// one it returns a boost::asio::awaitable, as if given use_awaitable. The
// completion signature is void(std::exception_ptr, T), or
// void(std::exception_ptr) for an operation with no result:
//
//     co_await cap.commands.run("make");                        // awaitable
//     cap.commands.run("make", {}, [](std::exception_ptr e, wrenn::command_result r) { ... });
//     std::future<wrenn::command_result> f = cap.commands.run("make", {}, boost::asio::use_future);
//     auto [e, r] = co_await cap.commands.run("make", {}, boost::asio::as_tuple(boost::asio::use_awaitable));
//
// The operation runs on the client's executor (its I/O object), and
// completes on the token's associated executor when it has one (a
// coroutine's, a strand's, bind_executor's), else on the client's. Per-
// operation cancellation (bind_cancellation_slot, parallel groups, `||`)
// reaches it with any token. error_code.hpp tells the errors apart without
// exceptions.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <type_traits>
#include <utility>

namespace wrenn::detail {

// The awaitable itself for use_awaitable (no frame added), any other token
// through co_spawn on the operation's executor.
template <class T, class CompletionToken>
auto complete_with(const boost::asio::any_io_executor& ex, boost::asio::awaitable<T> op, CompletionToken&& token) {
    if constexpr (std::is_same_v<std::decay_t<CompletionToken>, boost::asio::use_awaitable_t<>>)
        return op;
    else
        return boost::asio::co_spawn(ex, std::move(op), std::forward<CompletionToken>(token));
}

} // namespace wrenn::detail
