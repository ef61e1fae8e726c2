"""Peer: Python `websockets` (Debian's python3-websockets, asyncio API), the
exec stream as the Python SDK reads it: connect with the API key header, send
the start message, then recv() and json.loads() each message until exit,
counting the stdout events and checking each one's data. Run with Debian's
/usr/bin/python3.

usage: websockets_stream.py BASE_URL ID EVENTS [REPEAT]
REPEAT streams one after another (default 1), each on a new connection; the
median one is reported, in the same "result ..." line as bench_wrenn_stream."""
import asyncio
import json
import sys
import time

import websockets

DATA_SIZE = 73  # bench/support/stream_server.hpp


async def one_stream(url, expected):
    events = bad = nbytes = 0
    exit_code = -1
    started = time.monotonic()
    async with websockets.connect(url, extra_headers={"X-API-Key": "wrn_bench"}, compression=None,
                                  max_size=None, ping_interval=None) as ws:
        await ws.send(json.dumps({"type": "start", "cmd": "/bin/sh", "args": ["-c", "bench-output"]}))
        while True:
            msg = json.loads(await ws.recv())
            kind = msg.get("type")
            if kind == "stdout":
                data = msg.get("data", "")
                events += 1
                nbytes += len(data)
                if len(data) != DATA_SIZE:
                    bad += 1
            elif kind == "exit":
                exit_code = msg.get("exit_code", -1)
                break
            elif kind != "start":
                raise RuntimeError(f"unexpected message {msg!r}")
        seconds = time.monotonic() - started
    ok = bad == 0 and events == expected and exit_code == 0
    if not ok:
        print(f"websockets_stream: FAILED: {events} of {expected} events, {bad} malformed, exit code {exit_code}",
              file=sys.stderr)
    return ok, seconds, events, nbytes


async def main():
    base, cap_id, expected = sys.argv[1], sys.argv[2], int(sys.argv[3])
    repeat = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    url = base.replace("http://", "ws://", 1) + f"/v1/capsules/{cap_id}/exec/stream"
    runs = [await one_stream(url, expected) for _ in range(max(1, repeat))]
    ok = all(r[0] for r in runs)
    _, seconds, events, nbytes = sorted(runs, key=lambda r: r[1])[len(runs) // 2]
    print(f"result events={events} errors={0 if ok else 1} seconds={seconds:.4f} "
          f"eps={events / seconds:.1f} bytes={nbytes}", flush=True)
    return 0 if ok else 1


sys.exit(asyncio.run(main()))
