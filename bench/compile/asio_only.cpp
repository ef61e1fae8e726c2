// The yardstick of the compile-cost benchmark: a TU that only includes Asio.
#include <boost/asio.hpp>

int main() {}
