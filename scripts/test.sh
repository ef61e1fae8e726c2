#!/usr/bin/env bash
# Runs the whole test suite from nothing: installs the dependencies, builds
# everything (SDK, wrenn-local, tests, examples) and runs ctest.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
build=${WRENN_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=${WRENN_BUILD_TYPE:-Debug} >/dev/null
cmake --build "$build" -j "${WRENN_JOBS:-2}"
cd "$build"
ctest --output-on-failure -j "${WRENN_TEST_JOBS:-2}" "$@"
