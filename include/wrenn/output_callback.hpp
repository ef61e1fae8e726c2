// A callback for output as it arrives (`on_stdout`, `on_stderr`), held by an
// option struct as a view: the call copies the callable into an owned
// std::function before it returns its awaitable, so a lambda written inline
// in the options is safe (see env.hpp for why options hold views). Like every
// view, it must not outlive the callable: do not keep a run_options built
// from a temporary lambda for a later call.
#pragma once

#include <concepts>
#include <functional>
#include <string_view>
#include <type_traits>

namespace wrenn {

class output_callback {
public:
    using function = std::function<void(std::string_view)>;

    output_callback() = default;
    template <class F>
        requires(!std::same_as<std::remove_cvref_t<F>, output_callback> &&
                 std::invocable<const std::remove_cvref_t<F>&, std::string_view> &&
                 std::copy_constructible<std::remove_cvref_t<F>>)
    output_callback(const F& f)
        : target_(&f), copy_([](const void* p) -> function { return *static_cast<const F*>(p); }) {}

    explicit operator bool() const noexcept { return target_ != nullptr; }
    // An owned copy of the callable (empty when none was given).
    function to_function() const { return target_ ? copy_(target_) : function{}; }

private:
    const void* target_ = nullptr;
    function (*copy_)(const void*) = nullptr;
};

} // namespace wrenn
