// Fuzz target: the URL rules (protocol/url.hpp) and base64
// (protocol/base64.hpp). None of these throws.
//
// Input: any bytes, read as a base URL, a host name, a path, a component to
// percent-encode and base64 text.
// Properties: what parse_url accepts prints back to a URL that parses to the
// same thing; encode_component's output is unreserved bytes and %XX only;
// base64: decode(encode(x)) == x, and encode(decode(t)) decodes to the same
// bytes as t.
#include "fuzz_common.hpp"

#include <wrenn/protocol/base64.hpp>
#include <wrenn/protocol/url.hpp>

#include <cctype>
#include <cstddef>
#include <cstdint>

using namespace wrenn::protocol;

namespace {

bool same(const url& a, const url& b) {
    return a.scheme == b.scheme && a.host == b.host && a.port == b.port && a.explicit_port == b.explicit_port &&
           a.path == b.path;
}

void check_base64_roundtrip(std::string_view text) {
    auto enc = base64_encode(text);
    fuzz::check(enc.size() % 4 == 0, "base64_encode length not a multiple of 4");
    auto dec = base64_decode(enc);
    fuzz::check(dec && *dec == text, "base64_decode(base64_encode(x)) != x");

    if (auto d = base64_decode(text)) {
        auto again = base64_decode(base64_encode(*d));
        fuzz::check(again && *again == *d, "base64: encode(decode(t)) does not decode to decode(t)");
        auto w = base64_decode_wrapped(text);
        fuzz::check(w && *w == *d, "base64_decode_wrapped disagrees with base64_decode on unwrapped text");
    }
    if (auto d = base64_decode_wrapped(text)) {
        auto again = base64_decode(base64_encode(*d));
        fuzz::check(again && *again == *d, "base64: encode(decode_wrapped(t)) does not decode to the same bytes");
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text = fuzz::as_text(data, size);

    if (auto u = parse_url(text)) {
        fuzz::check(u->port != 0, "parse_url accepted port 0");
        fuzz::check(!u->host.empty(), "parse_url accepted an empty host");
        fuzz::check(u->path.empty() || u->path.back() != '/', "parse_url kept a trailing '/'");
        auto printed = u->to_string();
        (void)u->authority();
        (void)u->tls();
        auto again = parse_url(printed);
        fuzz::check(again && same(*u, *again), "parse_url(to_string()) differs from the first parse");
        auto joined = join_path(*u, "/v1/capsules");
        fuzz::check(joined.starts_with(u->path), "join_path lost the base path");
        auto domain = derive_proxy_domain(*u);
        fuzz::check(!domain.empty(), "derive_proxy_domain returned nothing");
        auto proxy = capsule_proxy_url(*u, domain, "cl-abc123", 8080);
        fuzz::check(proxy.starts_with(u->tls() ? "wss://8080-cl-abc123." : "ws://8080-cl-abc123."),
                    "capsule_proxy_url has the wrong shape");
        (void)is_localhost_name(u->host);
    }
    (void)is_localhost_name(text);
    (void)join_path(url{}, text);

    auto enc = encode_component(text);
    for (std::size_t i = 0; i < enc.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(enc[i]);
        if (c == '%') {
            fuzz::check(i + 2 < enc.size() && std::isxdigit(static_cast<unsigned char>(enc[i + 1])) &&
                            std::isxdigit(static_cast<unsigned char>(enc[i + 2])),
                        "encode_component wrote a bad %XX");
            i += 2;
        } else {
            fuzz::check(std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~',
                        "encode_component left a reserved byte");
        }
    }

    check_base64_roundtrip(text);
    return 0;
}
