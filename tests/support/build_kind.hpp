// Whether this test program was built with a sanitizer (scripts/sanitize.sh).
// Its code then runs several times slower, and wrenn-local's too, so set-up
// deadlines that a plain build meets with room to spare get `slowdown` times
// more room there. Nothing else changes: the same assertions hold.
#pragma once

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define WRENN_TEST_SANITIZED 1
#else
#define WRENN_TEST_SANITIZED 0
#endif

namespace wrenn_test {
inline constexpr int slowdown = WRENN_TEST_SANITIZED ? 4 : 1;
// The load tests (hundreds of streams, thousands of operations) run at a
// quarter of their size there: the same code paths, so the same memory
// errors show, while at full size they outlast ctest's per-test limit and
// take a third of the CI's 90 minutes.
inline constexpr int load_divisor = WRENN_TEST_SANITIZED ? 4 : 1;
} // namespace wrenn_test
