// Callbacks held by option structs as views (`on_stdout`, `on_result`, ...):
// the call copies the callable into an owned std::function before it returns
// its awaitable, so a lambda written inline in the options is safe (see
// env.hpp for why options hold views). Like every view, it must not outlive
// the callable: do not keep options built from a temporary lambda for a
// later call.
#pragma once

#include <concepts>
#include <functional>
#include <string_view>
#include <type_traits>

namespace wrenn {

// A view of a callable taking `Arg`.
template <class Arg>
class callback_view {
public:
    using function = std::function<void(Arg)>;

    callback_view() = default;
    template <class F>
        requires(!std::same_as<std::remove_cvref_t<F>, callback_view> &&
                 std::invocable<const std::remove_cvref_t<F>&, Arg> &&
                 std::copy_constructible<std::remove_cvref_t<F>>)
    callback_view(const F& f)
        : target_(&f), copy_([](const void* p) -> function { return *static_cast<const F*>(p); }) {}

    explicit operator bool() const noexcept { return target_ != nullptr; }
    // An owned copy of the callable (empty when none was given).
    function to_function() const { return target_ ? copy_(target_) : function{}; }

private:
    const void* target_ = nullptr;
    function (*copy_)(const void*) = nullptr;
};

// Output as it arrives: a chunk of stdout or stderr text.
using output_callback = callback_view<std::string_view>;

} // namespace wrenn
