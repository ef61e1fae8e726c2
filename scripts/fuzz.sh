#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz/ with clang++-14 (ASan + UBSan)
# and runs each on a fresh copy of its seed corpus.
#
#   scripts/fuzz.sh [--seconds N] [target...]
#
# --seconds N   how long each target runs (default 20; ctest's short run).
#               `scripts/fuzz.sh --seconds 600 fuzz_url` is a long run.
# target...     fuzz_answers fuzz_stream_messages fuzz_git fuzz_jupyter
#               fuzz_url fuzz_multipart fuzz_server_request fuzz_ws_frames
#               fuzz_http_answer (default: all, one after the other)
#
# Environment: WRENN_FUZZ_BUILD_DIR (default build-fuzz) is where the targets
# are built and where each run keeps its corpus, log and crash inputs;
# WRENN_JOBS (default 2) the build's parallelism.
#
# Exits non-zero when a target finds anything (a crash, a sanitizer report, a
# timeout, running out of memory), after printing where the input is.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

all_targets=(fuzz_answers fuzz_stream_messages fuzz_git fuzz_jupyter fuzz_url fuzz_multipart fuzz_server_request fuzz_ws_frames fuzz_http_answer)
seconds=20
targets=()
while (($#)); do
  case $1 in
    --seconds) seconds=${2:?--seconds needs a number}; shift 2 ;;
    --seconds=*) seconds=${1#*=}; shift ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[[ $seconds =~ ^[0-9]+$ ]] || { echo "fuzz.sh: --seconds wants a whole number" >&2; exit 2; }
((${#targets[@]})) || targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
  [[ " ${all_targets[*]} " == *" $t "* ]] || { echo "fuzz.sh: no target $t (${all_targets[*]})" >&2; exit 2; }
done

cxx=${WRENN_FUZZ_CXX:-clang++-14}
command -v "$cxx" >/dev/null || { echo "fuzz.sh: $cxx not found (scripts/install-deps.sh installs it)" >&2; exit 2; }

build=${WRENN_FUZZ_BUILD_DIR:-build-fuzz}
[[ $build = /* ]] || build=$repo/$build
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [[ ! -f $build/CMakeCache.txt ]]; then
  cmake -S "$repo/tests/fuzz/standalone" -B "$build" "${generator[@]}" -DCMAKE_CXX_COMPILER="$cxx" >/dev/null
fi
echo "fuzz.sh: building ${targets[*]} in $build" >&2
cmake --build "$build" -j "${WRENN_JOBS:-2}" --target "${targets[@]}" >&2

failed=()
for t in "${targets[@]}"; do
  run=$build/runs/$t
  rm -rf "$run"
  mkdir -p "$run/corpus" "$run/artifacts"
  cp "$repo/tests/fuzz/corpus/$t/"* "$run/corpus/"
  echo "fuzz.sh: $t for ${seconds}s ($(ls "$run/corpus" | wc -l) seeds)" >&2
  rc=0
  (cd "$run" && "$build/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$run/artifacts/" "$run/corpus" >"$run/log" 2>&1) || rc=$?
  # the last status line: "#N DONE cov: C ft: F corp: ... exec/s: E rss: ..."
  stats=$(grep -E '^#[0-9]+' "$run/log" | tail -1 | grep -oE '(cov|ft|corp|exec/s|rss): [^ ]+' | tr '\n' ' ' || true)
  execs=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$run/log" | grep -oE '[0-9]+$' || true)
  echo "fuzz.sh: $t: ${execs:-?} runs, $stats(log: $run/log)" >&2
  findings=$(find "$run/artifacts" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) 2>/dev/null || true)
  if ((rc != 0)) || [[ -n $findings ]]; then
    failed+=("$t")
    echo "fuzz.sh: FINDING in $t (exit $rc). The report:" >&2
    grep -E -A40 'ERROR: (AddressSanitizer|UndefinedBehaviorSanitizer|libFuzzer)|runtime error:|fuzz property violated|terminate called|ALARM|out-of-memory' \
      "$run/log" | head -60 >&2 || tail -40 "$run/log" >&2
    for f in $findings; do
      echo "fuzz.sh: the input: $f" >&2
      echo "fuzz.sh: reproduce: $build/$t $f" >&2
    done
  fi
done

if ((${#failed[@]})); then
  echo "fuzz.sh: findings in ${failed[*]}" >&2
  exit 1
fi
echo "fuzz.sh: no findings (${targets[*]}, ${seconds}s each)" >&2
