// with_capsule(): create, run the body, destroy. The coroutine is a
// template; a body that returns nothing (the usual case) goes through a
// type-erased block to the one instance compiled in the library, so that a
// program calling with_capsule does not compile the coroutine again.
#pragma once

#include <wrenn/detail/config.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/this_coro.hpp>

#include <exception>
#include <memory>
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

// A body returning awaitable<void>, type-erased and move-only (a body may own
// what it captures).
template <class Capsule>
class scoped_block {
public:
    template <class F>
    explicit scoped_block(F f) : f_(std::make_unique<model<F>>(std::move(f))) {}
    boost::asio::awaitable<void> operator()(Capsule& c) { return f_->call(c); }

private:
    struct erased {
        virtual ~erased() = default;
        virtual boost::asio::awaitable<void> call(Capsule& c) = 0;
    };
    template <class F>
    struct model final : erased {
        explicit model(F g) : f(std::move(g)) {}
        boost::asio::awaitable<void> call(Capsule& c) override { return f(c); }
        F f;
    };
    std::unique_ptr<erased> f_;
};

template <class T>
inline constexpr bool is_awaitable_void = std::is_same_v<T, boost::asio::awaitable<void>>;

WRENN_DECL boost::asio::awaitable<void> with_capsule_block(boost::asio::awaitable<capsule> creating,
                                                          scoped_block<capsule> body);

} // namespace detail

// Not a coroutine itself: the create call copies the option views now.
template <class F>
auto with_capsule(const client& c, create_options opts, F body) -> decltype(body(std::declval<capsule&>())) {
    if constexpr (detail::is_awaitable_void<decltype(body(std::declval<capsule&>()))>)
        return detail::with_capsule_block(capsule::create(c, opts), detail::scoped_block<capsule>(std::move(body)));
    else
        return detail::with_capsule_impl(capsule::create(c, opts), std::move(body));
}

} // namespace wrenn
