// Demo traffic generator run inside a pod namespace: every interval, GET http://<target>:<port>/
// for each port, with a short timeout, logging one line per request.
// Usage: node traffic.js <target-ip> [--ports 80,8080] [--interval 1000] [--timeout 800]
import { flagValue, httpGet } from './http-get.js';

const argv = process.argv.slice(2);
const target = argv[0];
if (!target || target.startsWith('--')) {
  console.error('usage: traffic.js <target-ip> [--ports 80,8080] [--interval 1000] [--timeout 800]');
  process.exit(2);
}
const portList = flagValue(argv, '--ports', '80,8080').split(',').map(Number);
const interval = Number(flagValue(argv, '--interval', '1000'));
const timeout = Number(flagValue(argv, '--timeout', '800'));

async function round(): Promise<void> {
  await Promise.all(
    portList.map(async (port) => {
      const r = await httpGet(target!, port, timeout);
      const what = r.ok ? `ok ${r.status}` : `fail ${r.error}`;
      console.log(`${new Date().toISOString()} GET http://${target}:${port}/ ${what} (${r.ms} ms)`);
    }),
  );
}
const timer = setInterval(() => void round(), interval);
void round();
const stop = (): void => {
  clearInterval(timer);
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
