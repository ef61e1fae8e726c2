// Peer: Node's built-in fetch (undici, keep-alive), GET <base>/v1/capsules/<id>
// from CONCURRENCY async loops on one event loop, JSON parsed.
//
// usage: node fetch_get.mjs BASE_URL ID CONCURRENCY WARMUP_S DURATION_S
// Prints the same "result ..." line as the C++ programs.
const [base, id, concurrencyText, warmupText, durationText] = process.argv.slice(2);
const concurrency = Number(concurrencyText);
const url = `${base}/v1/capsules/${id}`;
const now = () => process.hrtime.bigint();
const start = now();
const measureFrom = start + BigInt(Math.round(Number(warmupText) * 1e9));
const stopAt = measureFrom + BigInt(Math.round(Number(durationText) * 1e9));
const latencies = [];
let errors = 0;

async function worker() {
  while (now() < stopAt) {
    const started = now();
    try {
      const r = await fetch(url, { headers: { 'X-API-Key': 'wrn_bench' } });
      if (r.status !== 200) throw new Error(`status ${r.status}`);
      const body = await r.json();
      if (body.id !== id) throw new Error('answer for another capsule');
      const done = now();
      if (started >= measureFrom && done <= stopAt) latencies.push(Number(done - started));
    } catch (e) {
      if (errors++ === 0) console.error(`fetch_get: error: ${e}`);
    }
  }
}

await Promise.all(Array.from({ length: concurrency }, worker));
latencies.sort((a, b) => a - b);
const pct = (q) => (latencies.length ? latencies[Math.round(q * (latencies.length - 1))] / 1000 : 0);
const secs = Number(durationText);
console.log(`result ok=${latencies.length} errors=${errors} seconds=${secs.toFixed(3)} ` +
  `rps=${(latencies.length / secs).toFixed(1)} p50_us=${pct(0.5).toFixed(1)} p99_us=${pct(0.99).toFixed(1)}`);
process.exitCode = errors > 0 || latencies.length === 0 ? 1 : 0;
