#include "target.hpp"

namespace bench {

target open_target(const options& o) {
    target t;
    if (o.serve_file.empty()) {
        t.base_url = o.url;
        t.ca_file = o.ca_file;
        return t;
    }
    t.server = std::make_unique<canned_server>(read_file(o.serve_file), o.tls_dir, static_cast<std::size_t>(o.size));
    t.base_url = t.server->base_url();
    if (!o.tls_dir.empty()) t.ca_file = o.tls_dir + "/ca.pem";
    return t;
}

} // namespace bench
