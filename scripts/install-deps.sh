#!/usr/bin/env bash
# Installs, from Debian 12's packages, whatever wrenn-cpp needs and is not yet
# on this machine. Idempotent: a no-op (one dpkg query) when all is present.
set -euo pipefail

packages=(
  cmake ninja-build g++ clang-14 ccache git pkg-config   # toolchain
  libboost1.81-dev libboost-json1.81-dev libssl-dev   # the SDK's dependencies
  catch2 openssl tmux                                 # tests (openssl makes the test CA, tmux runs the shell example)
  bubblewrap procps                                   # wrenn-local's sandbox
  python3                                             # tests (upstream servers inside capsules for the proxy tests)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
sudo=()
if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
