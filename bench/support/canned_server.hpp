// A loopback HTTP(S) server on its own thread that answers every request with
// the same JSON body, over keep-alive connections, any number at once. For
// the smoke tests, so they need no nginx. The streaming file endpoints are
// answered too: .../files/stream/write reads the body to its end (dropped)
// and answers 204; .../files/stream/read answers download_size bytes.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

namespace bench {

class canned_server {
public:
    // tls_dir empty: plain HTTP; else HTTPS with tls_dir/server.pem and server.key.
    canned_server(std::string body, const std::string& tls_dir, std::size_t download_size = 0);
    ~canned_server();
    canned_server(const canned_server&) = delete;
    canned_server& operator=(const canned_server&) = delete;

    std::string base_url() const;  // http(s)://127.0.0.1:<port>/api

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

// The whole content of a file; throws when it cannot be read.
std::string read_file(const std::string& path);

} // namespace bench
