// The TLS client context shared by the process's transports.
#pragma once

#include <wrenn/detail/http.hpp>
#include <wrenn/error.hpp>

#include <boost/asio/ssl/context.hpp>

#include <map>
#include <mutex>
#include <utility>

namespace wrenn::detail {

// shared by every transport that asks while one is alive: setting one up
// loads the system trust store (tens of ms of CPU with OpenSSL 3), which a
// program making a client per task would otherwise pay each time. A context
// is safe to share once set up.
WRENN_DECL std::shared_ptr<boost::asio::ssl::context> shared_tls_context(const std::string& ca_file, bool verify) {
    static std::mutex mu;
    static std::map<std::pair<std::string, bool>, std::weak_ptr<boost::asio::ssl::context>> cache;
    std::lock_guard lock(mu);
    auto& slot = cache[{ca_file, verify}];
    if (auto ctx = slot.lock()) return ctx;
    auto ctx = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_client);
    using ssl = boost::asio::ssl::context;
    ctx->set_options(ssl::default_workarounds | ssl::no_sslv2 | ssl::no_sslv3 | ssl::no_tlsv1 | ssl::no_tlsv1_1);
    boost::system::error_code ec;
    ctx->set_default_verify_paths(ec);  // the system trust store; missing is not fatal
    if (!ca_file.empty()) {
        ctx->load_verify_file(ca_file, ec);
        if (ec)
            throw config_error("invalid_ca_file",
                               "Could not load the CA file '" + ca_file + "' (config.ca_file): " + ec.message());
    }
    ctx->set_verify_mode(verify ? boost::asio::ssl::verify_peer : boost::asio::ssl::verify_none);
    slot = ctx;
    return ctx;
}

} // namespace wrenn::detail
