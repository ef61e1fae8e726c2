#!/usr/bin/env bash
# Builds everything (SDK, wrenn-local, tests, examples) with sanitizers and
# runs the whole test suite under them.
#
#   scripts/sanitize.sh asan [ctest args...]   AddressSanitizer + UndefinedBehaviorSanitizer
#   scripts/sanitize.sh tsan [ctest args...]   ThreadSanitizer
#
# Any sanitizer report fails the test that caused it (halt_on_error; UBSan
# does not recover). wrenn-local is built the same way, so its reports fail
# the tests that drive it. Each kind builds in its own directory
# (build-asan, build-tsan; WRENN_SANITIZE_BUILD_DIR overrides it).
# WRENN_SANITIZE_TARGETS="a b" builds only those targets (run their tests
# alone with ctest's -R), e.g. CI's ThreadSanitizer run of thread_tests.
# Left out, since no sanitizer reaches them: the libFuzzer short runs
# (scripts/fuzz.sh builds those with ASan + UBSan already) and the package
# tests (each builds its own unsanitized consumer project); the plain test
# run (scripts/test.sh) runs both.
set -euo pipefail
cd "$(dirname "$0")/.."

kind=${1:-}
case $kind in
  asan) flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" ;;
  # -Wno-tsan: g++ 12 warns (an error under -Werror) that TSan does not model
  # the fences in Asio's fenced_block (so it could report a race they prevent).
  tsan) flags="-fsanitize=thread -fno-omit-frame-pointer -Wno-tsan" ;;
  -h|--help|"") sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; [[ -n $kind ]]; exit ;;
  *) echo "sanitize.sh: unknown kind '$kind' (asan or tsan)" >&2; exit 2 ;;
esac
shift

scripts/install-deps.sh
build=${WRENN_SANITIZE_BUILD_DIR:-build-$kind}
# -O0: -O1 compiles the Beast coroutine TUs about twice as slowly (45 s against
# 25 s for test_streams.cpp here), and the tests wait on sockets, not the CPU.
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_FLAGS="-O0 -g $flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" >/dev/null
targets=()
for t in ${WRENN_SANITIZE_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$build" -j "${WRENN_JOBS:-2}" "${targets[@]}"

supp=$PWD/tests/sanitizers
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:detect_stack_use_after_return=0:quarantine_size_mb=16:abort_on_error=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export LSAN_OPTIONS="suppressions=$supp/lsan.supp"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$supp/tsan.supp"

cd "$build"
# TSan maps its shadow at fixed addresses that a kernel with more mmap
# randomisation may collide with; running without ASLR avoids that.
runner=()
if [[ $kind == tsan ]] && command -v setarch >/dev/null; then runner=(setarch "$(uname -m)" -R); fi
"${runner[@]}" ctest --output-on-failure -j "${WRENN_TEST_JOBS:-2}" -E '^(fuzz|package): ' "$@"
