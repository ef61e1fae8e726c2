#include <catch2/catch.hpp>
#include <wrenn/protocol/base64.hpp>
TEST_CASE("base64 round trip") { CHECK(*wrenn::protocol::base64_decode(wrenn::protocol::base64_encode("hi")) == "hi"); }
