// The multipart/form-data framing of file uploads (WIRE.md §10.1, §10.7):
// a `path` field first, then the `file` part. Built as a head and a tail so
// the file's bytes can be streamed between them without copying.
#pragma once

#include <wrenn/detail/config.hpp>

#include <string>
#include <string_view>

namespace wrenn::protocol {

struct multipart_frame {
    std::string boundary;
    std::string head;  // everything before the file's bytes
    std::string tail;  // everything after them
    std::string content_type() const { return "multipart/form-data; boundary=" + boundary; }
};

// 32 random lowercase hex characters.
WRENN_DECL std::string random_boundary();

WRENN_DECL multipart_frame make_upload_frame(std::string_view path, std::string boundary = random_boundary());

} // namespace wrenn::protocol

#ifdef WRENN_HEADER_ONLY
#include <wrenn/impl/multipart.ipp>
#endif
