"""report.py RESULTS_TXT OUT_MD: turns the lines bench/run collected into the
table it prints and bench/RESULTS.md. Every number comes from RESULTS_TXT;
ratios are taken between figures of that same run.

Input lines: "meta KEY=VALUE" (VALUE to the end of the line) and
"bench=B name=N key=value ..." (one per client or compiled TU, per round).
A client run in several rounds is reported by the median of each figure,
with the spread of its requests/s."""
import statistics
import sys

TARGETS_NOTE = "Targets are from issue 7. A missed target never fails a build."


def load(path):
    meta, rows = {}, {}
    for line in open(path):
        line = line.strip()
        if line.startswith("meta "):
            key, _, value = line[5:].partition("=")
            meta[key] = value
        elif line.startswith("bench="):
            fields = dict(f.split("=", 1) for f in line.split())
            rows.setdefault(fields["bench"], {}).setdefault(fields["name"], []).append(fields)
    return meta, {bench: {name: median_row(runs) for name, runs in names.items()} for bench, names in rows.items()}


def median_row(runs):
    """One row from several rounds: the median of each number; errors summed."""
    row = dict(runs[0])
    for key in row:
        if key in ("bench", "name"):
            continue
        values = [float(r[key]) for r in runs]
        row[key] = str(int(sum(values)) if key == "errors" else statistics.median(values))
    if "rps" in row:
        rps = [float(r["rps"]) for r in runs]
        row["spread"] = f"{min(rps):,.0f}–{max(rps):,.0f}" if len(rps) > 1 else "-"
    return row


def num(row, key):
    return float(row[key]) if row and key in row else None


def fmt(x, digits=1):
    return "n/a" if x is None else f"{x:,.{digits}f}"


def ratio(a, b):
    return a / b if a is not None and b else None


def spread(row):
    return row.get("spread", "-") if row else "n/a"


def ms(us):
    return None if us is None else us / 1000


class report:
    def __init__(self):
        self.lines, self.targets = [], []

    def out(self, text=""):
        self.lines.append(text)

    def table(self, head, rows):
        self.out("| " + " | ".join(head) + " |")
        self.out("|" + "---|" * len(head))
        for r in rows:
            self.out("| " + " | ".join(r) + " |")
        self.out()

    def target(self, what, value, op, goal):
        if value is None:
            verdict = "not measured"
        else:
            verdict = "met" if (value >= goal if op == ">=" else value <= goal) else "**missed**"
        self.targets.append([what, fmt(value, 2) + "×", f"{op} {goal}×", verdict])


def small_requests(r, rows):
    if not rows:
        return
    r.out("## 1. Small requests: `GET /v1/capsules/{id}`, 64 in flight, keep-alive, plain HTTP")
    r.out()
    labels = {
        "wrenn-coro": "wrenn-cpp coroutines (one thread)",
        "wrenn-sync": "wrenn-cpp blocking API (64 threads, a client each)",
        "raw-beast": "raw Beast loop (one thread): the limit",
        "httpx": "Python httpx.AsyncClient",
        "node-fetch": "Node fetch",
        "wrk": "wrk -t1 -c64: the HTTP ceiling",
    }
    limit, ceiling = num(rows.get("raw-beast"), "rps"), num(rows.get("wrk"), "rps")
    body = []
    for name, label in labels.items():
        row = rows.get(name)
        rps = num(row, "rps")
        body.append([label, fmt(rps, 0), spread(row), fmt(ms(num(row, "p50_us")), 2),
                     fmt(ms(num(row, "p99_us")), 2), fmt(ratio(rps, limit), 2), fmt(ratio(rps, ceiling), 2),
                     row["errors"] if row else "n/a"])
    r.table(["client", "req/s", "rounds' range", "p50 ms", "p99 ms", "× raw Beast", "× wrk", "errors"], body)
    ours = num(rows.get("wrenn-coro"), "rps")
    r.target("(1) wrenn-cpp coroutines vs raw Beast loop", ratio(ours, limit), ">=", 0.85)
    r.target("(1) wrenn-cpp coroutines vs wrk", ratio(ours, ceiling), ">=", 1)
    r.target("(1) wrenn-cpp coroutines vs httpx", ratio(ours, num(rows.get("httpx"), "rps")), ">=", 30)
    r.target("(1) wrenn-cpp coroutines vs Node fetch", ratio(ours, num(rows.get("node-fetch"), "rps")), ">=", 10)


def tls_reuse(r, rows):
    if not rows:
        return
    r.out("## 2. Connection reuse over TLS (TLS 1.3, RSA 2048 server certificate), 64 in flight")
    r.out()
    labels = {
        "pooled": "wrenn-cpp, keep-alive pool",
        "no-reuse": "wrenn-cpp, new connection + handshake per request (transport max_idle_age = 0, wrenn::detail)",
        "fresh-client": "wrenn-cpp, new `wrenn::client` per request (public API)",
        "wrk": "wrk -t1 -c64 over TLS, keep-alive: the ceiling",
    }
    pooled = num(rows.get("pooled"), "rps")
    body = []
    for name, label in labels.items():
        row = rows.get(name)
        rps = num(row, "rps")
        body.append([label, fmt(rps, 0), spread(row), fmt(ms(num(row, "p50_us")), 2),
                     fmt(ms(num(row, "p99_us")), 2), fmt(ratio(pooled, rps), 2), row["errors"] if row else "n/a"])
    r.table(["client", "req/s", "rounds' range", "p50 ms", "p99 ms", "pooled ÷ this", "errors"], body)
    r.out("The public config has no switch that turns connection reuse off, so the per-request-connection "
          "figure is taken two ways: a transport whose idle connections are never reused (the target is "
          "judged on this one: it isolates the connection and handshake), and a new client per request.")
    r.out()
    r.target("(2) pooled vs new connection per request (TLS)", ratio(pooled, num(rows.get("no-reuse"), "rps")),
             ">=", 3)


def compile_cost(r, rows):
    if not rows:
        return
    r.out("## 7. Compile cost of `examples/quickstart.cpp` at -O0 (`-c`, no ccache)")
    r.out()
    labels = {
        "asio-only": "a TU with only `#include <boost/asio.hpp>`",
        "quickstart-header-only": "quickstart.cpp, header-only",
        "quickstart-separate": "quickstart.cpp, separate compilation (`WRENN_SEPARATE_COMPILATION` etc.)",
    }
    base = num(rows.get("asio-only"), "cpu_s")
    body = []
    for name, label in labels.items():
        row = rows.get(name)
        cpu = num(row, "cpu_s")
        body.append([label, fmt(cpu, 2), fmt(num(row, "wall_s"), 2), fmt(ratio(cpu, base), 2)])
    r.table(["translation unit", "CPU s (user+sys)", "wall s", "× asio-only (CPU)"], body)
    r.target("(7) separate-compilation quickstart vs asio-only TU",
             ratio(num(rows.get("quickstart-separate"), "cpu_s"), base), "<=", 1.5)


def main():
    meta, rows = load(sys.argv[1])
    r = report()
    r.out("# Benchmark results")
    r.out()
    r.out(f"Written by `{meta.get('command', 'bench/run')}` on {meta.get('date', '?')}; every number below "
          "comes from that one run. Absolute times on a shared machine move from run to run: read the ratios, "
          "which compare figures measured minutes apart on the same machine.")
    r.out()
    r.out("## Machine")
    r.out()
    machine = [("CPU", "cpu"), ("cores (nproc)", "nproc"), ("kernel", "kernel"), ("compiler", "compiler"),
               ("wrenn-cpp", "commit"), ("nginx", "nginx"), ("wrk", "wrk"), ("Node", "node"), ("httpx", "httpx"),
               ("load", "timing")]
    r.table(["", ""], [[k, meta.get(v, "?")] for k, v in machine])
    r.out("Server (nginx, one worker, canned JSON from memory) and client run on the same machine, unpinned; "
          "the clients run one after another, round after round. Each figure is the median over the rounds "
          "(the range shows how much requests/s moved between rounds). Latencies are per request, from send "
          "to parsed answer.")
    r.out()
    small_requests(r, rows.get("small-requests"))
    tls_reuse(r, rows.get("tls-reuse"))
    compile_cost(r, rows.get("compile"))
    if r.targets:
        r.out("## Targets")
        r.out()
        r.table(["figure", "measured", "target", ""], r.targets)
        r.out(TARGETS_NOTE)
    text = "\n".join(r.lines).rstrip() + "\n"
    with open(sys.argv[2], "w") as f:
        f.write(text)
    print(text)


main()
