#!/usr/bin/env bash
# From nothing to `hello` printed inside a capsule: installs the dependencies,
# builds wrenn-local and the quickstart example, starts a fresh wrenn-local
# and runs the quickstart against it.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
build=${WRENN_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=${WRENN_BUILD_TYPE:-Debug} >/dev/null
cmake --build "$build" -j "${WRENN_JOBS:-2}" --target wrenn-local quickstart
scripts/with-wrenn-local.sh --server "$build/server/wrenn-local" -- "$build/examples/quickstart"
