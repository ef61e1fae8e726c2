#!/usr/bin/env bash
# Compiles every ```cpp block of the README on its own (-fsyntax-only), so the
# README's examples can never drift from the API. Usage: check-snippets.sh CXX README INCLUDE_DIR
set -euo pipefail
cxx=$1 readme=$2 include=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
awk -v dir="$dir" '
  /^```cpp$/ { n++; file = sprintf("%s/snippet%02d.cpp", dir, n); inblock = 1; next }
  /^```$/    { inblock = 0; next }
  inblock    { print > file }
' "$readme"
count=0
for f in "$dir"/snippet*.cpp; do
  count=$((count + 1))
  if ! "$cxx" -std=c++20 -fsyntax-only -Wall -Wextra -Werror -DWRENN_SEPARATE_COMPILATION -I"$include" "$f"; then
    echo "README snippet $count does not compile:" >&2
    cat -n "$f" >&2
    exit 1
  fi
done
if [[ $count -eq 0 ]]; then echo "no C++ snippets found in $readme" >&2; exit 1; fi
echo "$count README snippets compile"
