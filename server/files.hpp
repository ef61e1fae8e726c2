// wrenn-local: the file routes (WIRE.md §10), as the API router calls them
// (files.cpp).
#pragma once

#include "common.hpp"

namespace wl {

// After authentication. op: write, read, list, mkdir, remove, stream/write, stream/read
asio::awaitable<answer> file_route(app_state& app, const std::string& id, const std::string& op, request& req);

} // namespace wl
