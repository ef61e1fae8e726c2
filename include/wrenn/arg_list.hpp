// A program's arguments as a non-owning view, for option structs (see
// env.hpp for why options hold views): `{.args = {"-la", "/tmp"}}` or a
// std::vector<std::string> that outlives the call.
#pragma once

#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wrenn {

class arg_list {
public:
    arg_list() = default;
    arg_list(std::initializer_list<std::string_view> args) : views_(args.begin(), args.size()) {}
    arg_list(std::span<const std::string_view> args) : views_(args) {}
    arg_list(std::span<const std::string> args) : strings_(args) {}
    arg_list(const std::vector<std::string>& args) : strings_(args) {}

    bool empty() const noexcept { return views_.empty() && strings_.empty(); }

    std::vector<std::string> to_vector() const {
        std::vector<std::string> out;
        out.reserve(views_.size() + strings_.size());
        for (auto v : views_) out.emplace_back(v);
        for (auto& s : strings_) out.push_back(s);
        return out;
    }

private:
    std::span<const std::string_view> views_{};
    std::span<const std::string> strings_{};
};

} // namespace wrenn
