// protocol/base64.hpp: standard alphabet, '=' padding, strict decoding.
#include <catch2/catch.hpp>

#include <wrenn/protocol/base64.hpp>

#include <optional>
#include <string>

using wrenn::protocol::base64_decode;
using wrenn::protocol::base64_encode;

namespace {
std::string bytes(std::initializer_list<int> v) {
    std::string s;
    for (int b : v) s += static_cast<char>(static_cast<unsigned char>(b));
    return s;
}
} // namespace

TEST_CASE("base64: RFC 4648 section 10 test vectors", "[base64]") {
    struct row {
        std::string plain, encoded;
    };
    auto r = GENERATE(values<row>({
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    }));
    CAPTURE(r.plain);
    CHECK(base64_encode(r.plain) == r.encoded);
    auto d = base64_decode(r.encoded);
    REQUIRE(d.has_value());
    CHECK(*d == r.plain);
}

TEST_CASE("base64: vectors that use '+', '/' and binary bytes", "[base64]") {
    struct row {
        std::string plain, encoded;
    };
    auto r = GENERATE(values<row>({
        {bytes({0xfb, 0xff}), "+/8="},
        {bytes({0xfb, 0xef, 0xbe}), "++++"},
        {bytes({0xff, 0xff, 0xff}), "////"},
        {bytes({0x00}), "AA=="},
        {bytes({0x00, 0x00}), "AAA="},
        {bytes({0x00, 0x00, 0x00}), "AAAA"},
        {bytes({0xff}), "/w=="},
        {bytes({0xff, 0xfe, 0x00, 0x80}), "//4AgA=="},
        {"hello\n", "aGVsbG8K"},
        {"\xc3\xa9t\xc3\xa9", "w6l0w6k="},
        {"Man", "TWFu"},
        {"any carnal pleasure.", "YW55IGNhcm5hbCBwbGVhc3VyZS4="},
    }));
    CHECK(base64_encode(r.plain) == r.encoded);
    auto d = base64_decode(r.encoded);
    REQUIRE(d.has_value());
    CHECK(*d == r.plain);
}

TEST_CASE("base64: every byte value round-trips, alone and together", "[base64]") {
    std::string all;
    for (int i = 0; i < 256; ++i) {
        std::string one(1, static_cast<char>(i));
        all += one;
        auto enc = base64_encode(one);
        CAPTURE(i, enc);
        CHECK(enc.size() == 4);
        CHECK(enc.substr(2) == "==");
        auto d = base64_decode(enc);
        REQUIRE(d.has_value());
        CHECK(*d == one);
    }
    auto enc = base64_encode(all);
    CHECK(enc.size() == 344);  // ceil(256 / 3) * 4
    auto d = base64_decode(enc);
    REQUIRE(d.has_value());
    CHECK(*d == all);
    // every rotation of the 256 bytes, so each byte sits at each position mod 3
    for (int shift = 1; shift < 3; ++shift) {
        auto rotated = all.substr(shift) + all.substr(0, shift);
        auto dd = base64_decode(base64_encode(rotated));
        REQUIRE(dd.has_value());
        CHECK(*dd == rotated);
    }
}

TEST_CASE("base64: every length 0..64", "[base64]") {
    for (std::size_t n = 0; n <= 64; ++n) {
        std::string plain;
        for (std::size_t i = 0; i < n; ++i) plain += static_cast<char>((i * 73 + n * 29 + 0x80) & 0xff);
        auto enc = base64_encode(plain);
        CAPTURE(n, enc);
        CHECK(enc.size() == (n + 2) / 3 * 4);
        std::size_t pad = n % 3 == 0 ? 0 : 3 - n % 3;
        std::size_t trailing = 0;
        while (trailing < enc.size() && enc[enc.size() - 1 - trailing] == '=') ++trailing;
        CHECK(trailing == pad);
        for (char c : enc)
            CHECK(((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
                   c == '/' || c == '='));
        auto d = base64_decode(enc);
        REQUIRE(d.has_value());
        CHECK(d->size() == n);
        CHECK(*d == plain);
    }
}

TEST_CASE("base64: every alphabet character decodes to its index", "[base64]") {
    const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (std::size_t i = 0; i < 64; ++i) {
        // "AAA?" decodes to three bytes whose last six bits are the index
        auto d = base64_decode(std::string("AAA") + alphabet[i]);
        CAPTURE(i);
        REQUIRE(d.has_value());
        REQUIRE(d->size() == 3);
        CHECK(static_cast<unsigned char>((*d)[2]) == i);
        CHECK((*d)[0] == 0);
        CHECK((*d)[1] == 0);
    }
}

TEST_CASE("base64: invalid inputs give nullopt", "[base64]") {
    auto bad = GENERATE(as<std::string>{},
                        // wrong length
                        "A", "AA", "AAA", "AAAAA", "Zg=", "Zg", "Zm9vY", "Zm9vYg=", "Zm9vYg===",
                        // characters outside the alphabet
                        "Zm9v!A==", "Zm-v", "Zm_v", "Zm9v Zm9v", "Zm9v\nZm9v", "Zm9v\r\n",
                        " Zm9", "Zm9v\t", "Zm.v", "Zm9\x80", "\xff\xff\xff\xff", "Zm9v%3D%3D",
                        // padding in the wrong place
                        "====", "A===", "=AAA", "Z=g=", "Zm=v", "Z===", "Zg==Zg==", "Zm8=Zm9v",
                        "Zg=a", "Zg=A", "Zm9v====", "AA==AA==");
    CAPTURE(bad);
    CHECK_FALSE(base64_decode(bad).has_value());
}

TEST_CASE("base64: NUL bytes inside the text are rejected, inside the data kept", "[base64]") {
    CHECK_FALSE(base64_decode(std::string("Zm9\0", 4)).has_value());
    CHECK_FALSE(base64_decode(std::string("\0\0\0\0", 4)).has_value());
    auto d = base64_decode("AAAA");
    REQUIRE(d.has_value());
    CHECK(*d == std::string(3, '\0'));
}

TEST_CASE("base64: a long buffer round-trips", "[base64]") {
    std::string plain;
    for (int i = 0; i < 100000; ++i) plain += static_cast<char>((i * 131) ^ (i >> 7));
    auto enc = base64_encode(plain);
    CHECK(enc.size() == (plain.size() + 2) / 3 * 4);
    auto d = base64_decode(enc);
    REQUIRE(d.has_value());
    CHECK(*d == plain);
}

TEST_CASE("base64_decode_wrapped: line breaks and blanks of wrapped base64 are skipped", "[base64]") {
    using wrenn::protocol::base64_decode_wrapped;
    std::string bytes;
    for (int i = 0; i < 300; ++i) bytes += static_cast<char>(i * 7);
    auto enc = wrenn::protocol::base64_encode(bytes);
    std::string wrapped;
    for (std::size_t i = 0; i < enc.size(); i += 76) wrapped += enc.substr(i, 76) + "\n";
    CHECK(base64_decode_wrapped(wrapped) == bytes);
    CHECK(base64_decode_wrapped(" Zm9v\r\n\tYmFy ") == std::optional<std::string>("foobar"));
    CHECK(base64_decode_wrapped(enc) == bytes);
    CHECK(base64_decode_wrapped("\n") == std::optional<std::string>(""));
    CHECK_FALSE(base64_decode_wrapped("Zm9v\nYmF").has_value());  // still whole groups only
    CHECK_FALSE(base64_decode_wrapped("Zm9v\vYmFy").has_value());  // other control characters are not skipped
    CHECK_FALSE(wrenn::protocol::base64_decode("Zm9v\nYmFy").has_value());  // the strict form stays strict
}
