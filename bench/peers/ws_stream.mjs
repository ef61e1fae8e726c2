// Peer: Node's `ws` (bench/package.json), the exec stream as the JS SDK reads
// it: connect with the API key header, send the start message, JSON.parse
// each message until exit, counting the stdout events and checking each
// one's data.
//
// usage: node ws_stream.mjs BASE_URL ID EVENTS [REPEAT]
// REPEAT streams one after another (default 1), each on a new connection;
// the median one is reported, in the same "result ..." line as
// bench_wrenn_stream.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const WebSocket = require('ws');
const DATA_SIZE = 73; // bench/support/stream_server.hpp

const [base, id, expectedText, repeatText] = process.argv.slice(2);
const expected = Number(expectedText);
const repeat = Math.max(1, Number(repeatText ?? 1));
const url = `${base.replace(/^http:/, 'ws:')}/v1/capsules/${id}/exec/stream`;

function oneStream() {
  return new Promise((resolve) => {
    let events = 0, bad = 0, bytes = 0, exitCode = -1, done = false;
    const started = process.hrtime.bigint();
    const finish = (error) => {
      if (done) return;
      done = true;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const ok = !error && bad === 0 && events === expected && exitCode === 0;
      if (!ok) console.error(`ws_stream: FAILED: ${events} of ${expected} events, ${bad} malformed, ` +
        `exit code ${exitCode}${error ? `, ${error}` : ''}`);
      resolve({ ok, seconds, events, bytes });
    };
    const ws = new WebSocket(url, { headers: { 'X-API-Key': 'wrn_bench' }, perMessageDeflate: false });
    ws.on('open', () => ws.send(JSON.stringify({ type: 'start', cmd: '/bin/sh', args: ['-c', 'bench-output'] })));
    ws.on('message', (raw) => {
      const msg = JSON.parse(raw.toString());
      if (msg.type === 'stdout') {
        const data = msg.data ?? '';
        events++;
        bytes += data.length;
        if (data.length !== DATA_SIZE) bad++;
      } else if (msg.type === 'exit') {
        exitCode = msg.exit_code ?? -1;
        finish();
        ws.terminate();
      } else if (msg.type !== 'start') {
        bad++;
      }
    });
    ws.on('error', (e) => finish(e.message));
    ws.on('close', () => finish('closed before exit'));
  });
}

const runs = [];
for (let i = 0; i < repeat; i++) runs.push(await oneStream());
const ok = runs.every((r) => r.ok);
const m = [...runs].sort((a, b) => a.seconds - b.seconds)[Math.floor(runs.length / 2)];
console.log(`result events=${m.events} errors=${ok ? 0 : 1} seconds=${m.seconds.toFixed(4)} ` +
  `eps=${(m.events / m.seconds).toFixed(1)} bytes=${m.bytes}`);
process.exitCode = ok ? 0 : 1;
