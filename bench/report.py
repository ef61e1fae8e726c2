"""report.py RESULTS_TXT OUT_MD: turns the lines bench/run collected into the
table it prints and bench/RESULTS.md. Every number comes from RESULTS_TXT;
ratios are taken between figures of that same run.

Input lines: "meta KEY=VALUE" (VALUE to the end of the line) and
"bench=B name=N key=value ..." (one per client or compiled TU, per round).
A client run in several rounds is reported by the median of each figure,
with the spread of its requests/s."""
import os
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
    for rate in ("rps", "eps", "mib_per_s", "ops_per_s"):
        if rate in row:
            values = [float(r[rate]) for r in runs]
            row["spread"] = f"{min(values):,.0f}–{max(values):,.0f}" if len(values) > 1 else "-"
            break
    row["rounds"] = str(len(runs))
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

    def target(self, what, value, op, goal, unit="×", limit=None):
        """limit: the same figure for the limit measured in this run; a missed
        target the limit misses too is beyond what the stack can do here."""
        meets = lambda v: {">=": v >= goal, "<=": v <= goal, "==": v == goal}[op]
        if value is None:
            verdict = "not measured"
        elif meets(value):
            verdict = "met"
        elif limit is not None and not meets(limit):
            verdict = f"**missed**: beyond the limit, which reached {fmt(limit, 2)}{unit}"
        else:
            verdict = "**missed**"
        sep = "" if unit == "×" else " "
        digits = 0 if op == "==" else 2
        self.targets.append([what, fmt(value, digits) + sep + unit, f"{op} {goal}{sep}{unit}", verdict])


def small_requests(r, rows):
    if not rows:
        return
    r.out("## 1. Small requests: `GET /v1/capsules/{id}`, 64 in flight, keep-alive, plain HTTP")
    r.out()
    labels = {
        "wrenn-coro": "wrenn-cpp coroutines (one thread)",
        "wrenn-coro-2t": "wrenn-cpp coroutines, the same client on an io_context run by 2 threads",
        "wrenn-coro-2c": "wrenn-cpp coroutines on 2 threads with nothing shared (an io_context and a client "
                         "each, 32 in flight each): the limit for 2 threads",
        "wrenn-sync": "wrenn-cpp blocking API (64 threads, a client each)",
        "raw-beast": "raw Beast loop (one thread): the limit",
        "raw-beast-2t": "raw Beast loop on an io_context run by 2 threads",
        "raw-beast-threads": "raw Beast, blocking calls (64 threads, a connection each): the blocking API's limit",
        "read-only": "Asio reading the answers and nothing else, no HTTP parser, no JSON (one thread): the "
                     "ceiling of a coroutine client on Asio, not a correct client",
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
    r.out("The blocking API gets 64 requests in flight the way blocking code does, with 64 threads; its "
          "limit is the same Beast client written with blocking calls on 64 threads (a thread switch per "
          "request on 2 cores), not the one-thread loop: blocking API ÷ that limit = "
          + fmt(ratio(num(rows.get("wrenn-sync"), "rps"), num(rows.get("raw-beast-threads"), "rps")), 2) + ".")
    r.out()
    r.target("(1) wrenn-cpp coroutines vs raw Beast loop", ratio(ours, limit), ">=", 1.1)
    two, apart = num(rows.get("wrenn-coro-2t"), "rps"), num(rows.get("wrenn-coro-2c"), "rps")
    r.out("Two threads: the same SDK on 2 threads that share nothing at all (each its own io_context, client "
          "and connections) shows what 2 client threads and nginx on 2 cores leave of the one-thread figure: "
          "the limit beside the target below. What sharing one client costs is the gap between the two "
          "rows: one shared client ÷ a client each = " + fmt(ratio(two, apart), 2) + " (raw Beast on 2 "
          "threads ÷ on one: " + fmt(ratio(num(rows.get("raw-beast-2t"), "rps"), limit), 2) + ").")
    r.out()
    r.target("(19) 2 threads vs one thread, one shared client", ratio(two, ours),
             ">=", 0.9, limit=ratio(apart, ours))
    r.out("The read-only row writes the request as prepared bytes and reads each answer until its "
          "Content-Length is in, on the same one thread and 64 connections: no HTTP parser, no JSON, no "
          "Beast. Any coroutine client built on Asio does at least that much per request, so where it "
          "stays below wrk, ≥ 1× wrk is beyond such a client on this machine (wrk parses no JSON either).")
    r.out()
    read_only = num(rows.get("read-only"), "rps")
    r.target("(1) wrenn-cpp coroutines vs wrk", ratio(ours, ceiling), ">=", 1,
             limit=ratio(read_only if read_only else limit, ceiling))
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


def streams(r, rows, meta):
    if not rows:
        return
    events = int(meta.get("stream_events", "100000"))
    r.out(f"## 3. Exec stream: {events:,} stdout events of ~100 bytes, one stream, one connection")
    r.out()
    r.out("Server: `bench_stream_server` (bench/support/stream_server.cpp), one thread, replaying the same "
          "canned exec stream to every client exactly as WIRE.md §8.2 puts it on the wire: text frames of one "
          "JSON object and `\\n` each, `start`, the stdout events (`data` 72 characters and an escaped "
          "newline), `exit`, then FIN without a close frame (§7). The frames are encoded once and written with "
          "one write per client, so all clients read the same bytes and the server costs almost nothing. "
          "Each client connects, sends `start`, and parses every message until `exit`, checking each event's "
          "data; the time runs from connect to `exit`. Each client program reads "
          f"{meta.get('stream_repeat', '1')} streams one after another (a new connection each) and reports the median "
          "one; the table gives the median over the rounds.")
    r.out()
    labels = {
        "wrenn-cpp": "wrenn-cpp `commands.stream` + `next()` loop (one thread)",
        "wrenn-cpp-no-idle": "the same with `timeouts.idle = 0` (diagnostic: no idle check, no pings)",
        "raw-beast": "raw Beast WebSocket + reused boost::json::parser (one thread)",
        "raw-beast-read-only": "raw Beast reading the messages and nothing else, no JSON (one thread): "
                               "Beast's limit, not a correct client",
        "frames-only": "wrenn-cpp's frame reader (`protocol::ws_reader`) on the socket and nothing else, no JSON "
                       "(one thread): the limit, not a correct client",
        "python-websockets": f"Python websockets {meta.get('websockets', '')} (asyncio), json.loads",
        "node-ws": f"Node ws {meta.get('node_ws', '')}, JSON.parse",
    }
    beast = num(rows.get("raw-beast"), "eps")
    limit = num(rows.get("frames-only"), "eps") or num(rows.get("raw-beast-read-only"), "eps")
    python, node = num(rows.get("python-websockets"), "eps"), num(rows.get("node-ws"), "eps")
    body = []
    for name, label in labels.items():
        row = rows.get(name)
        eps = num(row, "eps")
        body.append([label, fmt(eps, 0), spread(row), fmt(num(row, "seconds"), 3), fmt(ratio(eps, beast), 2),
                     fmt(ratio(eps, limit), 2), fmt(ratio(eps, python), 2), fmt(ratio(eps, node), 2),
                     row["errors"] if row else "n/a"])
    r.table(["client", "events/s", "rounds' range", "seconds", "× raw Beast", "× the limit", "× websockets",
             "× Node ws", "errors"], body)
    r.out("wrenn-cpp reads WebSocket frames itself (`protocol::ws_reader`, sans-I/O, on the socket 16 KiB at a "
          "time), not through Beast's WebSocket stream, whose read is a composed operation per message. Beast's "
          "limit reads each message with Beast's cheapest read (`read_some` into plain memory) and only looks at "
          "its first bytes: no JSON, no events, nothing copied out; no client built on Beast's WebSocket stream "
          "can go faster. The limit does the same with wrenn-cpp's frame reader: the most the SDK's stream "
          "could do here. Where a target is missed and the limit misses it too, the target is beyond this "
          "stack on this machine.")
    r.out()
    r.out("The targets are judged on the default configuration (first row). The `timeouts.idle = 0` row is not a "
          "recommendation (it turns off the detection of a dead connection): it shows what the idle check costs. "
          "That check is one timer per connection ticking at half the idle timeout (Beast's own idle timeout "
          "re-armed its timer, a `timerfd_settime` system call, on every message: see the notes below).")
    r.out()
    ours = num(rows.get("wrenn-cpp"), "eps")
    r.target("(3) wrenn-cpp stream vs Python websockets", ratio(ours, python), ">=", 5, limit=ratio(limit, python))
    r.target("(3) wrenn-cpp stream vs Node ws", ratio(ours, node), ">=", 3, limit=ratio(limit, node))


def scale(r, rows, meta):
    if not rows:
        return
    ops = int(meta.get("scale_ops", "10000"))
    r.out(f"## 4. Scale: {ops:,} concurrent `GET /v1/capsules/{{id}}` on one thread")
    r.out()
    r.out(f"All {ops:,} operations are started at once on one thread and share one client, whose pool is bounded "
          "to 64 connections (wrenn-cpp: the default `max_connections_per_origin`; the peers set the same "
          "bound): the rest wait in its queue. Baseline: the process's peak resident set (VmHWM) after one "
          "warm-up request (runtime, client, pool and first connection included); peak: VmHWM once all have "
          "finished; per in-flight op = (peak − baseline) / operations. Server: the nginx of §1.")
    r.out()
    labels = {
        "wrenn-cpp": "wrenn-cpp coroutines, one io_context",
        "httpx": "Python httpx.AsyncClient, asyncio tasks",
        "node-http": "Node http.Agent (maxSockets 64), promises",
    }
    ours = num(rows.get("wrenn-cpp"), "per_op_bytes")
    body = []
    for name, label in labels.items():
        row = rows.get(name)
        if not row:
            continue
        per_op = num(row, "per_op_bytes")
        body.append([label, f"{num(row, 'ok') + num(row, 'errors'):,.0f}", fmt(num(row, "max_in_flight"), 0),
                     row["errors"], fmt(num(row, "seconds"), 3), fmt(num(row, "ops_per_s"), 0),
                     fmt(num(row, "baseline_kib") / 1024, 1), fmt(num(row, "peak_kib") / 1024, 1),
                     fmt(per_op / 1024, 2), fmt(ratio(per_op, ours), 2)])
    r.table(["client", "operations", "in flight at most", "errors", "seconds", "ops/s", "baseline RSS MiB",
             "peak RSS MiB", "RSS per in-flight op KiB", "÷ wrenn-cpp"], body)
    row = rows.get("wrenn-cpp")
    if row:
        r.target("(4) RSS per in-flight operation", ours / 1024, "<=", 16, "KiB")
        r.target("(4) errors among the concurrent operations", float(row["errors"]), "==", 0, "errors")


def files(r, rows, meta):
    if not rows:
        return
    mib = int(meta.get("file_mib", "1024"))
    size = f"{mib // 1024} GiB" if mib % 1024 == 0 else f"{mib} MiB"
    r.out(f"## 5. Bulk files: {size} upload and download, local file ↔ capsule file")
    r.out()
    if mib < 1024:
        r.out(f"**Quick run: {size} files, not the 1 GiB of the full run.**")
        r.out()
    r.out("Server: wrenn-local (Release, loopback), its streaming files API (`/files/stream/write`, "
          "`/files/stream/read`, WIRE.md §10.7, §10.8), one capsule. Chosen over nginx because it is the "
          "real protocol end to end: the multipart upload is parsed and written to a file in the capsule, the "
          "download is chunked as the real server sends it, and both clients must satisfy it; nginx can "
          "neither read a whole upload before answering without writing it to a temporary file (`return 204` "
          "answers before the body is read, which makes curl stop sending) nor serve a POST download without "
          "tricks. Its own cost is in both clients' figures alike, so the ratio says whether the SDK keeps up "
          "with curl on the same server. The local file is random bytes in a temporary directory, deleted "
          "afterwards. SDK: `files.upload_stream(remote, local_path)` / `files.download_stream(remote, "
          "local_path)`, one thread; curl: `-F path=... -F file=@...` (no `Expect: 100-continue`) / "
          "`--data-binary '{\"path\":...}' -o FILE`. Times are in-process (curl's `time_total`); peak RSS is "
          "VmHWM of the SDK process and ru_maxrss of the curl child. The two clients swap places every "
          "round (the one that goes first after an upload is slower, whoever it is), and an unmeasured read "
          "precedes the downloads.")
    r.out()
    labels = {
        "wrenn-upload": ("upload", "wrenn-cpp `files.upload_stream`"),
        "curl-upload": ("upload", "curl -F"),
        "wrenn-download": ("download", "wrenn-cpp `files.download_stream`"),
        "curl-download": ("download", "curl -o"),
    }
    body = []
    for name, (way, label) in labels.items():
        row = rows.get(name)
        rate = num(row, "mib_per_s")
        peer = num(rows.get(f"curl-{way}"), "mib_per_s")
        peak = num(row, "peak_kib")
        body.append([way, label, fmt(rate, 0), spread(row), fmt(num(row, "seconds"), 2), fmt(ratio(rate, peer), 2),
                     fmt(None if peak is None else peak / 1024, 1), row["errors"] if row else "n/a"])
    r.table(["", "client", "MiB/s", "rounds' range", "seconds", "× curl", "peak RSS MiB", "errors"], body)
    for way in ("upload", "download"):
        r.target(f"(5) wrenn-cpp {way} vs curl", ratio(num(rows.get(f"wrenn-{way}"), "mib_per_s"),
                                                       num(rows.get(f"curl-{way}"), "mib_per_s")), ">=", 0.8)
    peaks = [num(rows.get(n), "peak_kib") for n in ("wrenn-upload", "wrenn-download")]
    peaks = [p for p in peaks if p is not None]
    r.target("(5) wrenn-cpp peak RSS during a transfer", max(peaks) / 1024 if peaks else None, "<=", 64, "MiB")


def e2e(r, rows, meta):
    if not rows:
        return
    r.out("## 6. End to end on wrenn-local: create → `run(\"true\")` → destroy")
    r.out()
    r.out(f"wrenn-local built in Release on loopback ({meta.get('wrenn_local', 'sandbox: ?')}), a temporary "
          "state directory; wrenn-cpp on one thread, one client. Sequential: one capsule after another, "
          "each created, given `true` to run (HTTP exec), destroyed. Concurrent: all capsules started at once, "
          "each through the same three calls.")
    r.out()
    seq, conc = rows.get("sequential"), rows.get("concurrent")
    body = []
    for label, row in (("sequential", seq), ("concurrent", conc)):
        if not row:
            continue
        body.append([label, f"{num(row, 'ok') + num(row, 'errors'):,.0f}", row["errors"], fmt(num(row, "seconds"), 2),
                     fmt(num(row, "per_s"), 1), fmt(num(row, "p50_ms"), 1), fmt(num(row, "p99_ms"), 1),
                     fmt(num(row, "create_p50_ms"), 1), fmt(num(row, "run_p50_ms"), 1),
                     fmt(num(row, "destroy_p50_ms"), 1)])
    r.table(["mode", "capsules", "errors", "total s", "capsules/s", "p50 ms (whole)", "p99 ms (whole)",
             "create p50 ms", "run p50 ms", "destroy p50 ms"], body)
    if conc:
        r.target("(6) errors, capsules driven concurrently", float(conc["errors"]), "==", 0, "errors")
    if seq:
        r.target("(6) errors, sequential create/run/destroy", float(seq["errors"]), "==", 0, "errors")


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
               ("load", "timing"), ("Python websockets", "websockets"), ("Node ws", "node_ws"), ("curl", "curl"),
               ("wrenn-local", "wrenn_local"), ("end to end", "e2e")]
    r.table(["", ""], [[k, meta[v]] for k, v in machine if v in meta or v in ("cpu", "nproc", "kernel")])
    r.out("Server (nginx, one worker, canned JSON from memory) and client run on the same machine, unpinned; "
          "the clients run one after another, round after round, each once the machine is quiet again (`sync`, "
          "then at least 90% idle over half a second, or 10 s). Each figure is the median over the rounds "
          "(the range shows how much requests/s moved between rounds). Latencies are per request, from send "
          "to parsed answer.")
    r.out()
    small_requests(r, rows.get("small-requests"))
    tls_reuse(r, rows.get("tls-reuse"))
    streams(r, rows.get("streams"), meta)
    scale(r, rows.get("scale"), meta)
    files(r, rows.get("files"), meta)
    e2e(r, rows.get("e2e"), meta)
    compile_cost(r, rows.get("compile"))
    if r.targets:
        r.out("## Targets")
        r.out()
        r.table(["figure", "measured", "target", ""], r.targets)
        r.out(TARGETS_NOTE)
    notes = os.path.join(os.path.dirname(os.path.abspath(__file__)), "NOTES.md")
    if os.path.exists(notes):
        r.out()
        r.out(open(notes).read().rstrip())
    text = "\n".join(r.lines).rstrip() + "\n"
    with open(sys.argv[2], "w") as f:
        f.write(text)
    print(text)


main()
