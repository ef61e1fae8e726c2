#!/usr/bin/env bash
# Installs, from Debian 12's packages, whatever wrenn-cpp needs and is not yet
# on this machine. Idempotent: a no-op (one dpkg query) when all is present.
set -euo pipefail

packages=(
  cmake ninja-build g++ clang-14 libclang-rt-14-dev ccache git pkg-config   # toolchain (libclang-rt: the fuzzers' sanitizers and libFuzzer)
  libboost1.81-dev libboost-json1.81-dev libssl-dev   # the SDK's dependencies
  catch2 openssl tmux                                 # tests (openssl makes the test CA, tmux runs the shell example)
  bubblewrap procps                                   # wrenn-local's sandbox
  python3                                             # tests (upstream servers inside capsules for the proxy tests)
  slirp4netns                                         # wrenn-local: a network namespace per capsule
  python3-jupyter-server python3-ipykernel            # wrenn-local: the code-runner-beta template (Jupyter)
  # python3-matplotlib's dependencies, installed before it (see below)
  python3-numpy python3-contourpy python3-pil.imagetk python3-kiwisolver python3-fonttools
  python-matplotlib-data python3-cycler python3-pyparsing python3-six libqhull-r8.0 libjs-jquery libjs-jquery-ui
)
# Installed in a second apt-get call: asked for together with its dependencies,
# apt's resolver may try to pull in libboost1.74-dev, which conflicts with
# libboost1.81-dev, and give up.
late_packages=(python3-matplotlib)

not_installed() {
  local p
  for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      echo "$p"
    fi
  done
}
mapfile -t missing < <(not_installed "${packages[@]}")
mapfile -t late_missing < <(not_installed "${late_packages[@]}")

if ((${#missing[@]} == 0 && ${#late_missing[@]} == 0)); then
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi
"${sudo[@]}" apt-get update -qq
if ((${#missing[@]} > 0)); then
  echo "install-deps: installing ${missing[*]}" >&2
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
if ((${#late_missing[@]} > 0)); then
  echo "install-deps: installing ${late_missing[*]}" >&2
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${late_missing[@]}" >&2
fi
