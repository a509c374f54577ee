// One connectivity probe for "lab check": GET http://<ip>:<port>/ once; prints "ok <status>"
// and exits 0 on any HTTP answer, prints "fail <reason>" and exits 1 otherwise.
// Usage: node probe.js <ip> <port> [--timeout 2000]
import { flagValue, httpGet } from './http-get.js';

const argv = process.argv.slice(2);
const [ip, port] = argv;
if (!ip || !port || !/^\d+$/.test(port)) {
  console.error('usage: probe.js <ip> <port> [--timeout 2000]');
  process.exit(2);
}
const r = await httpGet(ip, Number(port), Number(flagValue(argv, '--timeout', '2000')));
console.log(r.ok ? `ok ${r.status}` : `fail ${r.error}`);
process.exit(r.ok ? 0 : 1);
