// Where a benchmark sends its requests: --url (with --ca), or an in-process
// canned server started from --serve (with --tls).
#pragma once

#include "canned_server.hpp"
#include "options.hpp"

#include <memory>
#include <string>

namespace bench {

struct target {
    std::unique_ptr<canned_server> server;  // only with --serve
    std::string base_url;                   // e.g. http://127.0.0.1:8080/api
    std::string ca_file;                    // empty: the system store only
};

target open_target(const options& o);

} // namespace bench
