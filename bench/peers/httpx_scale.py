"""Peer for the scale benchmark: Python httpx.AsyncClient with a pool of 64
connections (as wrenn-cpp's default max_connections_per_origin), OPS
`GET <base>/v1/capsules/<id>` started at once as asyncio tasks on one event
loop, JSON parsed. Baseline: VmHWM after one warm-up request; peak: VmHWM at
the end. Run with Debian's /usr/bin/python3 (python3-httpx).

usage: httpx_scale.py BASE_URL ID OPS
Prints the same "result ..." line as bench_wrenn_scale."""
import asyncio
import sys
import time

import httpx


def vm_kib(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return -1


async def main():
    base, cap_id, ops = sys.argv[1], sys.argv[2], int(sys.argv[3])
    url = f"{base}/v1/capsules/{cap_id}"
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    state = {"ok": 0, "errors": 0, "in_flight": 0, "max_in_flight": 0}

    async def one(client):
        state["in_flight"] += 1
        state["max_in_flight"] = max(state["max_in_flight"], state["in_flight"])
        try:
            r = await client.get(url)
            r.raise_for_status()
            if r.json()["id"] != cap_id:
                raise ValueError("answer for another capsule")
            state["ok"] += 1
        except Exception as e:  # counted, reported once
            if not state["errors"]:
                print(f"httpx_scale: error: {e!r}", file=sys.stderr)
            state["errors"] += 1
        state["in_flight"] -= 1

    async with httpx.AsyncClient(limits=limits, headers={"X-API-Key": "wrn_bench"}, timeout=120) as client:
        await one(client)
        state.update(ok=0, max_in_flight=0)
        baseline = vm_kib("VmHWM")
        started = time.monotonic()
        await asyncio.gather(*(one(client) for _ in range(ops)))
        seconds = time.monotonic() - started
        peak = vm_kib("VmHWM")
    print(f"result ok={state['ok']} errors={state['errors']} seconds={seconds:.3f} "
          f"ops_per_s={state['ok'] / seconds:.1f} baseline_kib={baseline} peak_kib={peak} "
          f"per_op_bytes={(peak - baseline) * 1024 / ops:.0f} max_in_flight={state['max_in_flight']} "
          f"max_connections=64", flush=True)
    return 0 if state["ok"] == ops and not state["errors"] else 1


sys.exit(asyncio.run(main()))
