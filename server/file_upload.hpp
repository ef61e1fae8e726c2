// wrenn-local: the multipart uploads of the file routes, /files/write and
// /files/stream/write (file_upload.cpp; files.cpp routes to it).
#pragma once

#include "common.hpp"

namespace wl {

// Multipart upload: /files/write (any part order, body capped, spooled to an
// anonymous temporary file next to the capsule root and copied into place once
// complete) and /files/stream/write (no cap, `path` first, written straight to
// its destination as it arrives).
asio::awaitable<answer> upload(const capsule& c, request& req, bool streaming);

} // namespace wl
