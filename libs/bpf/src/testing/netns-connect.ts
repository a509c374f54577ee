// One TCP connect from inside a network namespace, as the datapath tests probe reachability.
import { execFile } from 'node:child_process';

/**
 * Connects to host:port from network namespace `ns` (ip netns exec) and resolves what
 * happened: `connected`, `error:<code>` (e.g. error:ECONNREFUSED) or `timeout` when nothing
 * answered within `timeoutMs` (a dropped SYN). Rejects when the probe itself could not run.
 */
export function tcpConnect(ns: string, host: string, port: number, timeoutMs = 2000): Promise<string> {
  const script = `const s=require('net').connect({host:process.argv[1],port:+process.argv[2]});` +
    `const t=setTimeout(()=>{console.log('timeout');process.exit(0)},+process.argv[3]);` +
    `s.on('connect',()=>{console.log('connected');clearTimeout(t);s.destroy()});` +
    `s.on('error',(e)=>{console.log('error:'+e.code);clearTimeout(t)})`;
  return new Promise((resolve, reject) => {
    execFile('ip', ['netns', 'exec', ns, process.execPath, '-e', script, host, String(port), String(timeoutMs)], { timeout: timeoutMs + 8000 }, (err, stdout) => {
      if (err) reject(err);
      else resolve(stdout.trim());
    });
  });
}
