// An exit code that one thread sets and any other may read: lock-free on
// every compiler (std::atomic<std::optional<int>> needs libatomic with clang).
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>

namespace wrenn::detail {

class atomic_exit_code {
public:
    atomic_exit_code& operator=(std::optional<int> v) noexcept {
        value_.store(v ? static_cast<std::int64_t>(*v) : none, std::memory_order_release);
        return *this;
    }
    std::optional<int> load() const noexcept {
        auto v = value_.load(std::memory_order_acquire);
        if (v == none) return std::nullopt;
        return static_cast<int>(v);
    }

private:
    static constexpr std::int64_t none = INT64_MIN;  // no int is this
    std::atomic<std::int64_t> value_{none};
};

} // namespace wrenn::detail
