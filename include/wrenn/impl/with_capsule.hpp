// with_capsule(): create, run the body, destroy — a template, so it lives in
// a header in both build modes.
#pragma once

#include <boost/asio/this_coro.hpp>

#include <exception>
#include <optional>
#include <type_traits>

namespace wrenn {

namespace detail {
template <class T>
struct awaitable_value;
template <class T, class E>
struct awaitable_value<boost::asio::awaitable<T, E>> {
    using type = T;
};
// Any capsule type (capsule, code_runner).
template <class Capsule, class F>
auto with_capsule_impl(boost::asio::awaitable<Capsule> creating, F body)
    -> decltype(body(std::declval<Capsule&>())) {
    using T = typename detail::awaitable_value<decltype(body(std::declval<Capsule&>()))>::type;
    auto cap = co_await std::move(creating);
    std::exception_ptr failure;
    std::optional<std::conditional_t<std::is_void_v<T>, int, T>> result;
    try {
        if constexpr (std::is_void_v<T>) {
            co_await body(cap);
        } else {
            result.emplace(co_await body(cap));
        }
    } catch (...) {
        failure = std::current_exception();
    }
    // Destroy even when the body was cancelled: clear the cancellation first.
    co_await boost::asio::this_coro::reset_cancellation_state();
    try {
        co_await cap.destroy();
    } catch (...) {
        if (!failure) failure = std::current_exception();
    }
    if (failure) std::rethrow_exception(failure);
    if constexpr (!std::is_void_v<T>) co_return std::move(*result);
}

} // namespace detail

// Not a coroutine itself: the create call copies the option views now.
template <class F>
auto with_capsule(const client& c, create_options opts, F body) -> decltype(body(std::declval<capsule&>())) {
    return detail::with_capsule_impl(capsule::create(c, opts), std::move(body));
}

} // namespace wrenn
