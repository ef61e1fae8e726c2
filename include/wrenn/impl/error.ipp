#pragma once

#include <wrenn/error.hpp>

namespace wrenn {

namespace detail {
inline std::string error_what(const std::string& code, const std::string& message, unsigned status) {
    std::string w = "wrenn: ";
    w += message.empty() ? code : message;
    w += " [";
    w += code;
    if (status != 0) {
        w += ", HTTP ";
        w += std::to_string(status);
    }
    w += "]";
    return w;
}
} // namespace detail

WRENN_DECL error::error(std::string code, std::string message, unsigned status, std::string body)
    : std::runtime_error(detail::error_what(code, message, status)),
      code_(std::move(code)), message_(std::move(message)), status_(status), body_(std::move(body)) {}

} // namespace wrenn
