// One connectivity probe for "lab check": GET http://<ip>:<port><path> once; prints
// "ok <status> <first line of the body>" and exits 0 on any HTTP answer, prints
// "fail <reason>" and exits 1 otherwise.
// Usage: node probe.js <ip> <port> [--path /] [--timeout 2000]
import { flagValue, httpGet } from './http-get.js';

const argv = process.argv.slice(2);
const [ip, port] = argv;
if (!ip || !port || !/^\d+$/.test(port)) {
  console.error('usage: probe.js <ip> <port> [--path /] [--timeout 2000]');
  process.exit(2);
}
const r = await httpGet(ip, Number(port), Number(flagValue(argv, '--timeout', '2000')), flagValue(argv, '--path', '/'));
console.log(r.ok ? `ok ${r.status} ${r.body.split('\n')[0]!.trim()}`.trimEnd() : `fail ${r.error}`);
process.exit(r.ok ? 0 : 1);
