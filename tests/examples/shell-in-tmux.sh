#!/usr/bin/env bash
# Drives examples/shell.cpp in a real terminal: a detached tmux session on a
# private socket, against a fresh wrenn-local. Checks that the remote prompt
# appears, that typing works, that the remote terminal has the pane's size
# and follows a resize (SIGWINCH forwarded), that `exit 5` makes the example
# exit with 5, and that the local terminal settings are restored afterwards.
# Usage: shell-in-tmux.sh SERVER_BIN SHELL_BIN. Fails without tmux (scripts/install-deps.sh installs it).
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 SERVER_BIN SHELL_BIN" >&2
  exit 2
fi
server=$1
shell_bin=$2
if ! command -v tmux >/dev/null; then
  echo "shell-in-tmux: tmux is not installed; run scripts/install-deps.sh" >&2
  exit 1
fi

dir=$(mktemp -d)
server_pid=
tmx() { tmux -L "wrenn-test-$$" "$@"; }
cleanup() {
  tmx kill-server 2>/dev/null || true
  if [[ -n $server_pid ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT
unset TMUX  # in case the tests themselves run inside tmux

# A fresh wrenn-local; it prints WRENN_BASE_URL=... and WRENN_API_KEY=... once it listens.
"$server" --listen 127.0.0.1:0 >"$dir/server.out" &
server_pid=$!
for _ in $(seq 1 200); do
  [[ $(grep -c '^WRENN_' "$dir/server.out" || true) -ge 2 ]] && break
  kill -0 "$server_pid" 2>/dev/null || { echo "shell-in-tmux: wrenn-local exited early" >&2; exit 1; }
  sleep 0.05
done
base_url=$(sed -n 's/^WRENN_BASE_URL=//p' "$dir/server.out")
api_key=$(sed -n 's/^WRENN_API_KEY=//p' "$dir/server.out")
[[ -n $base_url && -n $api_key ]] || { echo "shell-in-tmux: wrenn-local did not announce itself" >&2; exit 1; }

# What runs in the pane: the example, then a report of its exit code and of
# whether the terminal settings are what they were (raw mode undone). The
# report is written to a temporary name and renamed: it appears complete.
cat >"$dir/run.sh" <<RUN
before=\$(stty -g)
WRENN_BASE_URL=$(printf %q "$base_url") WRENN_API_KEY=$(printf %q "$api_key") $(printf %q "$shell_bin") 2>$(printf %q "$dir/shell.err")
code=\$?
if [ "\$before" = "\$(stty -g)" ]; then tty=restored; else tty=changed; fi
printf 'EXIT=%s\nTTY=%s\n' "\$code" "\$tty" >$(printf %q "$dir/report.tmp")
mv $(printf %q "$dir/report.tmp") $(printf %q "$dir/report")
RUN
tmx -f /dev/null new-session -d -s test -x 100 -y 30 "sh $(printf %q "$dir/run.sh")"

screen() { tmx capture-pane -p -J -S - -t test 2>/dev/null || true; }
fail() {
  echo "shell-in-tmux: FAIL: $*" >&2
  echo "--- pane ---" >&2
  screen | cat -s >&2
  echo "--- the example's stderr ---" >&2
  cat "$dir/shell.err" >&2 2>/dev/null || true
  exit 1
}
# wait_for SECONDS DESCRIPTION COMMAND...: polls until COMMAND succeeds.
wait_for() {
  local seconds=$1 what=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    ((SECONDS < deadline)) || fail "no $what within $seconds s"
    sleep 0.1
  done
}
has_line() { screen | grep -qxF -- "$1"; }
# A shell prompt (bash's default ends with "$ " or "# ") as the last non-empty line.
has_prompt() { screen | grep -v '^[[:space:]]*$' | tail -n 1 | grep -q '[$#][[:space:]]*$'; }
pane_size() { tmx display-message -p -t test '#{pane_height} #{pane_width}'; }

wait_for 30 "remote prompt" has_prompt

tmx send-keys -t test 'echo hi' Enter
wait_for 15 "line 'hi'" has_line hi

# The shell really is the capsule's (its host name), not a local one.
tmx send-keys -t test 'echo "host=$(hostname)"' Enter
wait_for 15 "line 'host=capsule'" has_line host=capsule

size=$(pane_size)
[[ $size == "30 100" ]] || fail "the pane is $size, not 30 100"
tmx send-keys -t test 'stty size' Enter
wait_for 15 "'stty size' of $size" has_line "$size"

# Resizing the window sends the example SIGWINCH; it must resize the remote
# terminal, which `stty size` inside then reports.
tmx resize-window -t test -x 120 -y 40
size=$(pane_size)
[[ $size == "40 120" ]] || fail "the pane is $size after resize-window, not 40 120"
tmx send-keys -t test 'stty size' Enter
wait_for 15 "'stty size' of $size after the resize" has_line "$size"

tmx send-keys -t test 'exit 5' Enter
wait_for 30 "exit of the example" test -f "$dir/report"
grep -qx 'EXIT=5' "$dir/report" || fail "the example did not exit with 5: $(tr '\n' ' ' <"$dir/report")"
grep -qx 'TTY=restored' "$dir/report" || fail "the terminal settings were not restored"
echo "shell-in-tmux: prompt, typing, size $size after resize, exit code 5, terminal restored: ok"
