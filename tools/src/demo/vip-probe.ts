// Probes a service VIP for "lab check": GETs http://<ip>:<port>/ (a new connection each
// time) until every expected backend has answered (the demo web server answers
// "<name> port <p>") or `--tries` GETs were made. Prints "ok <n> backends in <k> tries:
// <names>" and exits 0 when all were seen; "partial ..." and exits 3 when some answered
// but not all; "fail <reason>" and exits 1 when the first GET got no answer (denied).
// Usage: node vip-probe.js <ip> <port> [--expect n1-web,n2-web] [--tries 64] [--timeout 2000]
import { flagValue, httpGet } from './http-get.js';

const argv = process.argv.slice(2);
const [ip, port] = argv;
if (!ip || !port || !/^\d+$/.test(port)) {
  console.error('usage: vip-probe.js <ip> <port> [--expect name,...] [--tries 64] [--timeout 2000]');
  process.exit(2);
}
const expected = flagValue(argv, '--expect', '').split(',').filter(Boolean);
const tries = Number(flagValue(argv, '--tries', '64'));
const timeoutMs = Number(flagValue(argv, '--timeout', '2000'));
const seen = new Set<string>();
let k = 0;
while (k < tries) {
  k++;
  const r = await httpGet(ip, Number(port), timeoutMs);
  if (!r.ok) {
    if (seen.size === 0) {
      console.log(`fail ${r.error}`);
      process.exit(1);
    }
    continue;
  }
  seen.add(r.body.split(' ')[0] ?? '');
  if (expected.every((e) => seen.has(e))) break;
}
const names = [...seen].sort().join(',');
const missing = expected.filter((e) => !seen.has(e));
if (missing.length === 0) {
  console.log(`ok ${seen.size} backends in ${k} tries: ${names}`);
  process.exit(0);
}
console.log(`partial ${seen.size} backends in ${k} tries: ${names} (missing ${missing.join(',')})`);
process.exit(3);
