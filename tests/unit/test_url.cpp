// protocol/url.hpp: base-URL parsing, path joining, component encoding and
// capsule proxy URLs (WIRE.md §1.1, §1.2, §12.1).
#include <catch2/catch.hpp>

#include <wrenn/protocol/url.hpp>

#include <cstdint>
#include <optional>
#include <string>

using wrenn::protocol::capsule_proxy_url;
using wrenn::protocol::derive_proxy_domain;
using wrenn::protocol::encode_component;
using wrenn::protocol::is_localhost_name;
using wrenn::protocol::join_path;
using wrenn::protocol::parse_url;

namespace {

wrenn::protocol::url must_parse(const std::string& text) {
    auto u = parse_url(text);
    INFO("parsing " << text);
    REQUIRE(u.has_value());
    return *u;
}

} // namespace

TEST_CASE("url: parse the default base url", "[url]") {
    auto u = must_parse("https://app.wrenn.dev/api");
    CHECK(u.scheme == "https");
    CHECK(u.host == "app.wrenn.dev");
    CHECK(u.port == 443);
    CHECK_FALSE(u.explicit_port);
    CHECK(u.path == "/api");
    CHECK(u.tls());
    CHECK(u.authority() == "app.wrenn.dev");
    CHECK(u.to_string() == "https://app.wrenn.dev/api");
}

TEST_CASE("url: schemes and default ports", "[url]") {
    struct row {
        std::string text, scheme;
        std::uint16_t port;
        bool tls;
    };
    auto r = GENERATE(values<row>({
        {"http://h", "http", 80, false},
        {"https://h", "https", 443, true},
        {"ws://h", "ws", 80, false},
        {"wss://h", "wss", 443, true},
        {"HTTP://h", "http", 80, false},
        {"HtTpS://h", "https", 443, true},
        {"WSS://h", "wss", 443, true},
    }));
    CAPTURE(r.text);
    auto u = must_parse(r.text);
    CHECK(u.scheme == r.scheme);
    CHECK(u.port == r.port);
    CHECK_FALSE(u.explicit_port);
    CHECK(u.tls() == r.tls);
    CHECK(u.host == "h");
    CHECK(u.path.empty());
    CHECK(u.authority() == "h");
}

TEST_CASE("url: explicit ports", "[url]") {
    struct row {
        std::string text;
        std::uint16_t port;
        std::string authority;
    };
    auto r = GENERATE(values<row>({
        {"http://localhost:8080", 8080, "localhost:8080"},
        {"https://api.example.com:9443", 9443, "api.example.com:9443"},
        {"http://h:1", 1, "h:1"},
        {"http://h:65535", 65535, "h:65535"},
        // the default port written out is still explicit and kept in the authority
        {"http://h:80", 80, "h:80"},
        {"https://h:443/api", 443, "h:443"},
        // a TLS scheme on a plain port is the caller's business
        {"https://h:80", 80, "h:80"},
    }));
    CAPTURE(r.text);
    auto u = must_parse(r.text);
    CHECK(u.port == r.port);
    CHECK(u.explicit_port);
    CHECK(u.authority() == r.authority);
}

TEST_CASE("url: host is lower-cased, path keeps its case", "[url]") {
    auto u = must_parse("HTTPS://App.Wrenn.DEV/Api/V1");
    CHECK(u.scheme == "https");
    CHECK(u.host == "app.wrenn.dev");
    CHECK(u.path == "/Api/V1");
    CHECK(u.to_string() == "https://app.wrenn.dev/Api/V1");
}

TEST_CASE("url: ipv4 and ipv6 literals", "[url]") {
    SECTION("ipv4") {
        auto u = must_parse("http://127.0.0.1:8080/api");
        CHECK(u.host == "127.0.0.1");
        CHECK(u.port == 8080);
        CHECK(u.authority() == "127.0.0.1:8080");
    }
    SECTION("ipv6 loopback with port and path") {
        auto u = must_parse("http://[::1]:8080/api");
        CHECK(u.host == "::1");  // no brackets in host
        CHECK(u.port == 8080);
        CHECK(u.explicit_port);
        CHECK(u.path == "/api");
        CHECK(u.authority() == "[::1]:8080");
        CHECK(u.to_string() == "http://[::1]:8080/api");
    }
    SECTION("ipv6 without port takes the default port") {
        auto u = must_parse("https://[2001:DB8::1]");
        CHECK(u.host == "2001:db8::1");
        CHECK(u.port == 443);
        CHECK_FALSE(u.explicit_port);
        CHECK(u.authority() == "[2001:db8::1]");
        CHECK(u.to_string() == "https://[2001:db8::1]");
    }
    SECTION("ipv6 with trailing slash path") {
        auto u = must_parse("http://[fe80::1]:3000/");
        CHECK(u.host == "fe80::1");
        CHECK(u.port == 3000);
        CHECK(u.path.empty());
    }
}

TEST_CASE("url: trailing slashes, query and fragment are dropped from the path", "[url]") {
    struct row {
        std::string text, path;
    };
    auto r = GENERATE(values<row>({
        {"https://h", ""},
        {"https://h/", ""},
        {"https://h///", ""},
        {"https://h/api", "/api"},
        {"https://h/api/", "/api"},
        {"https://h/api//", "/api"},
        {"https://h/a/b/c/", "/a/b/c"},
        {"https://h/a//b", "/a//b"},
        {"https://h:81/api/", "/api"},
        {"https://h?x=1", ""},
        {"https://h#frag", ""},
        {"https://h/api?x=1", "/api"},
        {"https://h/api/?x=/y/", "/api"},
        {"https://h/api#/frag/", "/api"},
        {"https://h/api?x#y", "/api"},
        {"https://h:8443?x", ""},
    }));
    CAPTURE(r.text);
    auto u = must_parse(r.text);
    CHECK(u.host == "h");
    CHECK(u.path == r.path);
}

TEST_CASE("url: query or fragment right after the host ends the authority", "[url]") {
    auto u = must_parse("http://h:8080?q=1");
    CHECK(u.host == "h");
    CHECK(u.port == 8080);
    auto v = must_parse("http://h#x:99");
    CHECK(v.host == "h");
    CHECK(v.port == 80);
    CHECK_FALSE(v.explicit_port);
}

TEST_CASE("url: invalid inputs give nullopt", "[url]") {
    auto bad = GENERATE(as<std::string>{},
                        // no scheme / malformed separator
                        "", "app.wrenn.dev", "app.wrenn.dev/api", "localhost:8080", "//h/api", "://h",
                        "http:/h", "http:h", "http//h", "http:://h",
                        // unsupported schemes
                        "ftp://h", "file:///etc/passwd", "mailto://a", "ssh://h:22", "httpx://h",
                        "https+unix://h", " http://h", "xhttp://h",
                        // empty host
                        "http://", "https://", "http:///api", "http://:8080", "http://:8080/api",
                        "http://?x", "http://#x", "http://[]", "http://[]:80",
                        // bad ports
                        "http://h:", "http://h:/api", "http://h:0", "http://h:00", "http://h:65536",
                        "http://h:99999", "http://h:4294967376", "http://h:abc", "http://h:80a",
                        "http://h:8o", "http://h:-1", "http://h:+80", "http://h: 80", "http://h:80 ",
                        "http://h:1.5", "http://h:0x50",
                        // userinfo
                        "http://user@h", "http://user:pw@h/api", "https://wrn_key@app.wrenn.dev/api",
                        "http://@h", "http://h@",
                        // broken ipv6
                        "http://[::1", "http://[::1/api", "http://[::1]x", "http://[::1]:",
                        "http://[::1]:0", "http://[::1]:65536", "http://[::1]:x", "http://[::1]8080",
                        // odd characters in host
                        "http://ho st", "http://h\t", "http://h\\evil", "http://\n");
    CAPTURE(bad);
    CHECK_FALSE(parse_url(bad).has_value());
}

TEST_CASE("url: a colon in an unbracketed host is rejected", "[url][bug]") {
    // RFC 3986: a host is an IP-literal in brackets, an IPv4 address or a
    // reg-name, and reg-name has no ':'. Splitting on the last ':' turns
    // "http://::1" into host ":" with port 1, and "http://a:b:80" into host "a:b".
    auto bad = GENERATE(as<std::string>{}, "http://::1", "http://::1:8080", "http://a:b:80", "http://a::80",
                        "https://2001:db8::1/api");
    CAPTURE(bad);
    CHECK_FALSE(parse_url(bad).has_value());
}

TEST_CASE("url: a bracketed host that is not IPv6 is rejected", "[url][bug][fuzz]") {
    // Found by fuzz_url: "ws://[[x]" parsed to host "[x", which to_string()
    // printed unbracketed ("ws://[x") and which then did not parse back.
    auto bad = GENERATE(as<std::string>{}, "ws://[[x]", "http://[h]", "http://[h]:80/api",
                        std::string("ws://[[\xff\xfb\x18\x00\x99]", 13));
    CAPTURE(bad);
    CHECK_FALSE(parse_url(bad).has_value());
    CHECK(parse_url("http://[::1]").has_value());
}

TEST_CASE("url: to_string round-trips through parse_url", "[url]") {
    auto text = GENERATE(as<std::string>{}, "https://app.wrenn.dev/api", "http://localhost:8080",
                         "http://[::1]:8080/x/y", "wss://a.b.c:1/p", "http://h:80/");
    auto u = must_parse(text);
    auto v = must_parse(u.to_string());
    CHECK(v.scheme == u.scheme);
    CHECK(v.host == u.host);
    CHECK(v.port == u.port);
    CHECK(v.explicit_port == u.explicit_port);
    CHECK(v.path == u.path);
    CHECK(v.to_string() == u.to_string());
}

TEST_CASE("url: join_path keeps the base path", "[url]") {
    struct row {
        std::string base, path, joined;
    };
    auto r = GENERATE(values<row>({
        {"https://app.wrenn.dev/api", "/v1/capsules", "/api/v1/capsules"},
        {"https://app.wrenn.dev/api/", "/v1/capsules", "/api/v1/capsules"},
        {"https://app.wrenn.dev/api///", "/v1/capsules", "/api/v1/capsules"},
        {"http://localhost:8080", "/v1/capsules", "/v1/capsules"},
        {"http://localhost:8080/", "/v1/capsules", "/v1/capsules"},
        {"https://h/a/b/c", "/v1/snapshots/x", "/a/b/c/v1/snapshots/x"},
        {"https://h/api", "/v1/capsules/cl-1/metrics?range=5m", "/api/v1/capsules/cl-1/metrics?range=5m"},
        {"https://h/api?ignored=1", "/v1/capsules", "/api/v1/capsules"},
        // a path without its leading '/' still gets one
        {"https://h/api", "v1/capsules", "/api/v1/capsules"},
        {"https://h", "v1", "/v1"},
        {"https://h/api", "", "/api/"},
        {"https://h", "", "/"},
        {"https://h", "/", "/"},
    }));
    CAPTURE(r.base, r.path);
    CHECK(join_path(must_parse(r.base), r.path) == r.joined);
}

TEST_CASE("url: encode_component", "[url]") {
    struct row {
        std::string in, out;
    };
    auto r = GENERATE(values<row>({
        {"", ""},
        {"abcXYZ019", "abcXYZ019"},
        {"-_.~", "-_.~"},
        {"cl-abc123", "cl-abc123"},
        {"template-1a2b.v2_x~", "template-1a2b.v2_x~"},
        {" ", "%20"},
        {"a b", "a%20b"},
        {"/", "%2F"},
        {"../etc", "..%2Fetc"},
        {"?", "%3F"},
        {"#", "%23"},
        {"%", "%25"},
        {"%20", "%2520"},
        {"+", "%2B"},
        {"&=", "%26%3D"},
        {":@", "%3A%40"},
        {"!*'()", "%21%2A%27%28%29"},
        {"\xc3\xa9", "%C3%A9"},
        {std::string("\0", 1), "%00"},
        {"\x7f", "%7F"},
        {"\xff", "%FF"},
        {"\n\r\t", "%0A%0D%09"},
        {"SIGTERM", "SIGTERM"},
    }));
    CAPTURE(r.in);
    CHECK(encode_component(r.in) == r.out);
}

TEST_CASE("url: encode_component over all 256 byte values", "[url]") {
    auto unreserved = [](unsigned char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
               c == '_' || c == '.' || c == '~';
    };
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string all;
    std::string expected;
    for (int i = 0; i < 256; ++i) {
        auto c = static_cast<unsigned char>(i);
        all += static_cast<char>(c);
        std::string one(1, static_cast<char>(c));
        std::string want = unreserved(c) ? one : std::string{'%', hex[c >> 4], hex[c & 15]};
        expected += want;
        CAPTURE(i);
        CHECK(encode_component(one) == want);
    }
    CHECK(encode_component(all) == expected);
}

TEST_CASE("url: derive_proxy_domain", "[url]") {
    struct row {
        std::string base, domain;
    };
    auto r = GENERATE(values<row>({
        {"https://app.wrenn.dev/api", "wrenn.dev"},
        {"https://app.wrenn.dev", "wrenn.dev"},
        {"http://APP.WRENN.DEV/api/", "wrenn.dev"},
        {"http://localhost:8080", "localhost:8080"},
        {"http://localhost", "localhost"},
        {"https://api.example.com:9443", "api.example.com:9443"},
        {"https://api.example.com/api", "api.example.com"},
        {"https://eu.app.wrenn.dev/api", "eu.app.wrenn.dev"},
        {"https://app.wrenn.devx/api", "app.wrenn.devx"},
        {"http://[::1]:8080", "[::1]:8080"},
        {"http://h:80", "h:80"},
    }));
    CAPTURE(r.base);
    CHECK(derive_proxy_domain(must_parse(r.base)) == r.domain);
}

TEST_CASE("url: capsule_proxy_url examples of WIRE.md 12.1", "[url]") {
    SECTION("default base url with the derived domain") {
        auto base = must_parse("https://app.wrenn.dev/api");
        CHECK(capsule_proxy_url(base, derive_proxy_domain(base), "cl-abc123", 8888) ==
              "wss://8888-cl-abc123.wrenn.dev");
    }
    SECTION("plain http localhost with port") {
        auto base = must_parse("http://localhost:8080");
        CHECK(capsule_proxy_url(base, derive_proxy_domain(base), "cl-abc123", 3000) ==
              "ws://3000-cl-abc123.localhost:8080");
    }
    SECTION("custom host with explicit port") {
        auto base = must_parse("https://api.example.com:9443");
        CHECK(capsule_proxy_url(base, derive_proxy_domain(base), "sb-1", 8080) ==
              "wss://8080-sb-1.api.example.com:9443");
    }
    SECTION("PY v0.1.2 form: host of the default base url kept when given as the domain") {
        auto base = must_parse("https://app.wrenn.dev/api");
        CHECK(capsule_proxy_url(base, "app.wrenn.dev", "cl-abc123", 8888) ==
              "wss://8888-cl-abc123.app.wrenn.dev");
    }
}

TEST_CASE("url: capsule_proxy_url scheme follows the base url, domain is used verbatim", "[url]") {
    struct row {
        std::string base, domain, id;
        unsigned port;
        std::string out;
    };
    auto r = GENERATE(values<row>({
        {"http://h", "proxy.test", "cl-x", 80, "ws://80-cl-x.proxy.test"},
        {"https://h", "proxy.test", "cl-x", 80, "wss://80-cl-x.proxy.test"},
        {"ws://h", "p.test:1", "cl-x", 1, "ws://1-cl-x.p.test:1"},
        {"wss://h", "p.test", "cl-x", 65535, "wss://65535-cl-x.p.test"},
        // an https base with a plain-looking proxy domain is still wss
        {"https://localhost:8443", "localhost:8080", "cl-0a1b2c3d4e5f6g7h8i9j0k1l2", 8888,
         "wss://8888-cl-0a1b2c3d4e5f6g7h8i9j0k1l2.localhost:8080"},
        // an http base with an https-looking proxy domain is still ws
        {"http://localhost:8080", "wrenn.dev", "cl-abc", 49999, "ws://49999-cl-abc.wrenn.dev"},
    }));
    CAPTURE(r.base, r.domain, r.port);
    CHECK(capsule_proxy_url(must_parse(r.base), r.domain, r.id, r.port) == r.out);
}

TEST_CASE("url: is_localhost_name", "[url]") {
    SECTION("loopback names") {
        auto name = GENERATE(as<std::string>{}, "localhost", "LOCALHOST", "LocalHost", "localhost.",
                             "a.localhost", "cl-abc.localhost", "3000-cl-abc123.localhost",
                             "a.b.c.localhost", "X.LOCALHOST.");
        CAPTURE(name);
        CHECK(is_localhost_name(name));
    }
    SECTION("other names") {
        auto name = GENERATE(as<std::string>{}, "", ".", "localhost.com", "localhost.example",
                             "notlocalhost", "mylocalhost", "xlocalhost", "localhos", "local",
                             "app.wrenn.dev", "127.0.0.1", "::1", "localhost:8080", "a.localhost.com",
                             "localhost-x", "localhost..");
        CAPTURE(name);
        CHECK_FALSE(is_localhost_name(name));
    }
}
