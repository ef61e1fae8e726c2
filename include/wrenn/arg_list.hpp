// A program's arguments as a non-owning view, for option structs (see
// env.hpp for why options hold views): `{.args = {"-la", "/tmp"}}` (up to
// 32 written inline) or a std::vector<std::string> that outlives the call.
//
// Why not std::initializer_list: its backing array is a temporary, and g++ 12
// rejects (or miscompiles) a temporary array that lives across a co_await.
// The inline form is a variadic constructor, so no array temporary exists.
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wrenn {

class arg_list {
public:
    static constexpr std::size_t max_inline = 32;

    arg_list() = default;
    template <class... S>
        requires(sizeof...(S) >= 1 && (std::convertible_to<const S&, std::string_view> && ...))
    arg_list(const S&... args) : count_(sizeof...(S)) {
        static_assert(sizeof...(S) <= max_inline, "more than 32 arguments: pass a std::vector<std::string>");
        std::size_t i = 0;
        ((inline_[i++] = std::string_view(args)), ...);
    }
    arg_list(std::span<const std::string_view> args) : views_(args) {}
    arg_list(std::span<const std::string> args) : strings_(args) {}
    arg_list(const std::vector<std::string>& args) : strings_(args) {}

    bool empty() const noexcept { return count_ == 0 && views_.empty() && strings_.empty(); }

    std::vector<std::string> to_vector() const {
        std::vector<std::string> out;
        out.reserve(count_ + views_.size() + strings_.size());
        for (std::size_t i = 0; i < count_; ++i) out.emplace_back(inline_[i]);
        for (auto v : views_) out.emplace_back(v);
        for (auto& s : strings_) out.push_back(s);
        return out;
    }

private:
    std::array<std::string_view, max_inline> inline_{};
    std::size_t count_ = 0;
    std::span<const std::string_view> views_{};
    std::span<const std::string> strings_{};
};

} // namespace wrenn
