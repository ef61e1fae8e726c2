"""Turns wrk's --latency output (stdin) into the same "result ..." line as
the other programs. usage: wrk ... --latency URL | wrk_result.py DURATION_S"""
import re
import sys

UNITS = {"us": 1.0, "ms": 1000.0, "s": 1e6, "m": 60e6}


def to_us(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(m.group(1)) * UNITS[m.group(2)]


out = sys.stdin.read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
ok = int(re.search(r"(\d+) requests in", out).group(1))
p50 = to_us(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
p99 = to_us(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
errors = 0
socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
if socket:
    errors += sum(int(g) for g in socket.groups())
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
if non2xx:
    errors += int(non2xx.group(1))
print(f"result ok={ok - errors} errors={errors} seconds={float(sys.argv[1]):.3f} rps={rps:.1f} "
      f"p50_us={p50:.1f} p99_us={p99:.1f}")
sys.exit(1 if errors else 0)
