"""Peer: Python httpx.AsyncClient, GET <base>/v1/capsules/<id> from
CONCURRENCY asyncio tasks on one event loop, keep-alive, JSON parsed.
Run with Debian's /usr/bin/python3 (python3-httpx).

usage: httpx_get.py BASE_URL ID CONCURRENCY WARMUP_S DURATION_S
Prints the same "result ..." line as the C++ programs."""
import asyncio
import sys
import time

import httpx


def percentile_us(sorted_ns, q):
    if not sorted_ns:
        return 0.0
    return sorted_ns[int(q * (len(sorted_ns) - 1) + 0.5)] / 1000.0


async def worker(client, url, cap_id, measure_from, stop_at, latencies, errors):
    while time.monotonic_ns() < stop_at:
        started = time.monotonic_ns()
        try:
            r = await client.get(url)
            r.raise_for_status()
            if r.json()["id"] != cap_id:
                raise ValueError("answer for another capsule")
            done = time.monotonic_ns()
            if started >= measure_from and done <= stop_at:
                latencies.append(done - started)
        except Exception as e:  # counted, reported once
            if not errors:
                print(f"httpx_get: error: {e!r}", file=sys.stderr)
            errors.append(e)


async def main():
    base, cap_id, concurrency, warmup, duration = sys.argv[1:6]
    concurrency = int(concurrency)
    url = f"{base}/v1/capsules/{cap_id}"
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    latencies, errors = [], []
    async with httpx.AsyncClient(limits=limits, headers={"X-API-Key": "wrn_bench"}) as client:
        start = time.monotonic_ns()
        measure_from = start + int(float(warmup) * 1e9)
        stop_at = measure_from + int(float(duration) * 1e9)
        await asyncio.gather(*(worker(client, url, cap_id, measure_from, stop_at, latencies, errors)
                               for _ in range(concurrency)))
    latencies.sort()
    secs = float(duration)
    print(f"result ok={len(latencies)} errors={len(errors)} seconds={secs:.3f} rps={len(latencies) / secs:.1f} "
          f"p50_us={percentile_us(latencies, 0.5):.1f} p99_us={percentile_us(latencies, 0.99):.1f}", flush=True)
    return 1 if errors or not latencies else 0


sys.exit(asyncio.run(main()))
