// Standard base64 (RFC 4648 alphabet, '=' padding), as the exec answer and
// the PTY messages carry it.
#pragma once

#include <wrenn/detail/config.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace wrenn::protocol {

WRENN_DECL std::string base64_encode(std::string_view bytes);
// nullopt on any character outside the alphabet or bad padding. Whitespace is
// not accepted: the server never sends it.
WRENN_DECL std::optional<std::string> base64_decode(std::string_view text);
// The same, skipping the line breaks and blanks (CR, LF, space, tab) of
// wrapped base64, as MIME and Jupyter's image/png etc. carry it.
WRENN_DECL std::optional<std::string> base64_decode_wrapped(std::string_view text);

} // namespace wrenn::protocol

#ifdef WRENN_HEADER_ONLY
#include <wrenn/impl/base64.ipp>
#endif
