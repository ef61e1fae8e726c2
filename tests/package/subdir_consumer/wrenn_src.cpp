// The one TU that compiles the SDK, Boost.Asio (with TLS) and Boost.Beast,
// as wrenn's own src/wrenn.cpp does.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>

#include <wrenn/src.hpp>
