#pragma once

#include <wrenn/protocol/multipart.hpp>

#include <random>

namespace wrenn::protocol {

WRENN_DECL std::string random_boundary() {
    static constexpr char hex[] = "0123456789abcdef";
    std::random_device rd;
    std::string b(32, '0');
    for (auto& c : b) c = hex[rd() & 15];
    return b;
}

WRENN_DECL multipart_frame make_upload_frame(std::string_view path, std::string boundary) {
    multipart_frame f;
    f.boundary = std::move(boundary);
    f.head = "--" + f.boundary + "\r\nContent-Disposition: form-data; name=\"path\"\r\n\r\n";
    f.head += path;
    f.head += "\r\n--" + f.boundary +
              "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"upload.bin\"\r\n"
              "Content-Type: application/octet-stream\r\n\r\n";
    f.tail = "\r\n--" + f.boundary + "--\r\n";
    return f;
}

} // namespace wrenn::protocol
