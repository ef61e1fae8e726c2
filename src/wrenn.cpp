// The one translation unit of the separate-compilation build: the SDK,
// Boost.Asio (with TLS) and Boost.Beast are compiled here, once.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>

#include <wrenn/src.hpp>
