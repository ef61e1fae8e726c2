// Peer for the scale benchmark: Node's http module with a keep-alive Agent
// of 64 sockets (as wrenn-cpp's default max_connections_per_origin), OPS
// `GET <base>/v1/capsules/<id>` started at once on one event loop (the rest
// wait in the agent's queue), JSON parsed. Baseline: VmHWM after one warm-up
// request; peak: VmHWM at the end.
//
// usage: node node_http_scale.mjs BASE_URL ID OPS
// Prints the same "result ..." line as bench_wrenn_scale.
import http from 'node:http';
import { readFileSync } from 'node:fs';

const [base, id, opsText] = process.argv.slice(2);
const ops = Number(opsText);
const url = new URL(`${base}/v1/capsules/${id}`);
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const vmKib = (key) => Number(readFileSync('/proc/self/status', 'utf8').match(new RegExp(`^${key}:\\s+(\\d+)`, 'm'))[1]);
let ok = 0, errors = 0, inFlight = 0, maxInFlight = 0;

function get() {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers: { 'X-API-Key': 'wrn_bench' } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        try {
          if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
          if (JSON.parse(Buffer.concat(chunks).toString()).id !== id) throw new Error('answer for another capsule');
          resolve();
        } catch (e) { reject(e); }
      });
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

async function one() {
  inFlight++;
  maxInFlight = Math.max(maxInFlight, inFlight);
  try {
    await get();
    ok++;
  } catch (e) {
    if (errors++ === 0) console.error(`node_http_scale: error: ${e}`);
  }
  inFlight--;
}

await one();
ok = 0; maxInFlight = 0;
const baseline = vmKib('VmHWM');
const started = process.hrtime.bigint();
await Promise.all(Array.from({ length: ops }, one));
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const peak = vmKib('VmHWM');
console.log(`result ok=${ok} errors=${errors} seconds=${seconds.toFixed(3)} ops_per_s=${(ok / seconds).toFixed(1)} ` +
  `baseline_kib=${baseline} peak_kib=${peak} per_op_bytes=${((peak - baseline) * 1024 / ops).toFixed(0)} ` +
  `max_in_flight=${maxInFlight} max_connections=64`);
agent.destroy();
process.exitCode = ok === ops && errors === 0 ? 0 : 1;
