// What API 0.4.0 accepts in a capsule create, sans-I/O: the SDK checks it
// before sending (a usage_error instead of a round trip) and wrenn-local
// answers by the same rules.
#pragma once

#include <wrenn/detail/config.hpp>

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace wrenn::protocol {

inline constexpr std::size_t max_metadata_keys = 20;
inline constexpr std::size_t max_metadata_value_chars = 64;  // characters (UTF-8 code points)
inline constexpr std::size_t max_capsule_volumes = 4;

// Why `metadata` would be refused, or nullopt: at most 20 keys; keys match
// ^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$ and are not one of the system's
// (kernel_version, vmm_version, agent_version, envd_version); values hold
// at most 64 characters.
WRENN_DECL std::optional<std::string> metadata_problem(const std::map<std::string, std::string>& metadata);

// Why a template reference would be refused, or nullopt: `<name>` or
// `<team-slug>/<name>`, the slug 3-40 characters of ^[a-z0-9]+(-[a-z0-9]+)*$,
// the name ^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$ (surrounding spaces ignored).
WRENN_DECL std::optional<std::string> template_ref_problem(std::string_view ref);

} // namespace wrenn::protocol

#ifdef WRENN_HEADER_ONLY
#include <wrenn/impl/capsule_rules.ipp>
#endif
