// Environment variables for commands, as a non-owning view.
//
// Why a view: the option structs (run_options, create_options, ...) are
// meant to be written inline, `co_await cap.commands.run("x", {.cwd = "/app"})`.
// g++ 12 miscompiles an aggregate temporary inside a co_await expression when
// the aggregate owns memory (it copies it bitwise and destroys it twice). So
// every option struct holds only trivially destructible members — string_view,
// spans, numbers — and each call copies what it needs before it returns its
// awaitable. The viewed data only has to live until that call returns.
#pragma once

#include <cstddef>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wrenn {

struct env_var {
    std::string_view name;
    std::string_view value;
};

class env_view {
public:
    env_view() = default;
    template <std::size_t N>
    env_view(const env_var (&vars)[N]) : list_(vars, N) {}
    env_view(std::span<const env_var> vars) : list_(vars) {}
    env_view(const std::vector<env_var>& vars) : list_(vars) {}
    env_view(const std::map<std::string, std::string>& vars) : map_(&vars) {}

    bool empty() const { return list_.empty() && (!map_ || map_->empty()); }

    // Calls f(name, value) for each variable; later entries win on the server.
    template <class F>
    void for_each(F&& f) const {
        for (const auto& v : list_) f(v.name, v.value);
        if (map_)
            for (const auto& [k, v] : *map_) f(std::string_view(k), std::string_view(v));
    }

    std::map<std::string, std::string> to_map() const {
        std::map<std::string, std::string> out;
        for_each([&](std::string_view k, std::string_view v) { out[std::string(k)] = std::string(v); });
        return out;
    }

private:
    std::span<const env_var> list_{};
    const std::map<std::string, std::string>* map_ = nullptr;
};

} // namespace wrenn
