// Shared by the fuzz targets: what counts as an expected failure.
//
// A decoder may refuse its input by throwing a wrenn::error subclass; that is
// the documented contract. Anything else (another exception, a sanitizer
// report, a timeout) is a finding: check() aborts so libFuzzer saves the input.
#pragma once

#include <wrenn/error.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string_view>

namespace fuzz {

// Runs f(); a wrenn::error is expected, any other exception aborts.
template <class F>
void expect_wrenn_error_only(F&& f) {
    try {
        f();
    } catch (const wrenn::error&) {
        // the documented refusal
    }
}

// How many of the `left` bytes the next piece of a cut-up run takes (the
// readers are run whole and in pieces, and must agree): `seed` 0 gives all
// of them; otherwise pieces of 1 + (seed & 0x1f) bytes, or of varying sizes
// up to twice that (drawn from `lcg`) when seed & 0x20.
inline std::size_t next_piece(unsigned seed, std::uint32_t& lcg, std::size_t left) {
    if (seed == 0) return left;
    lcg = lcg * 1103515245u + 12345u;
    const std::size_t base = 1 + (seed & 0x1f);
    const std::size_t n = seed & 0x20 ? 1 + (lcg >> 16) % (2 * base) : base;
    return n < left ? n : left;
}

// Aborts with a message when a property does not hold.
inline void check(bool ok, const char* what) {
    if (!ok) {
        std::fprintf(stderr, "fuzz property violated: %s\n", what);
        std::abort();
    }
}

// An exception_ptr built by a make_*_error function must hold a wrenn::error.
inline void check_is_wrenn_error(std::exception_ptr p) {
    check(p != nullptr, "make_*_error returned a null exception_ptr");
    try {
        std::rethrow_exception(p);
    } catch (const wrenn::error& e) {
        check(!std::string_view(e.what()).empty(), "error with an empty message");
    }
}

inline std::string_view as_text(const unsigned char* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

} // namespace fuzz
