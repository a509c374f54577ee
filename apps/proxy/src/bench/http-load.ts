// The proxy bench's load generator, run inside the client pod: HTTP/1.1 keep-alive GETs on
// raw sockets (one request in flight per connection).
//   http-load throughput HOST PORT PATH CONNS SECONDS -> {"requests": n, "seconds": s}
//   http-load latency HOST PORT PATH RATE SECONDS    -> {"p50Us": x, "p99Us": y, "count": n}
// Latency mode sends at a fixed rate (a 1 ms timer sends what is due) on a pool of
// connections and measures each request from its write to its response.
import net from 'node:net';

/** One keep-alive connection that sends a request and calls back on its response. */
class Conn {
  private buf: Buffer = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  readonly ready: Promise<void>;
  private readonly socket: net.Socket;

  constructor(host: string, port: number, private readonly request: Buffer) {
    this.socket = net.connect(port, host);
    this.socket.setNoDelay(true);
    this.ready = new Promise((resolve, reject) => {
      this.socket.once('connect', resolve);
      this.socket.once('error', reject);
    });
    this.socket.on('data', (d: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      this.parse();
    });
    this.socket.on('error', (err) => {
      process.stderr.write(`http-load: ${err.message}\n`);
      process.exit(1);
    });
  }

  private parse(): void {
    const end = this.buf.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = this.buf.subarray(0, end).toString('latin1');
    if (!head.startsWith('HTTP/1.1 200')) {
      process.stderr.write(`http-load: unexpected response ${head.split('\r\n')[0]}\n`);
      process.exit(1);
    }
    const m = /content-length: *(\d+)/i.exec(head);
    const total = end + 4 + (m ? Number(m[1]) : 0);
    if (this.buf.length < total) return;
    this.buf = this.buf.subarray(total);
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** Sends one request; `done` runs on its response. */
  send(done: () => void): void {
    this.waiter = done;
    this.socket.write(this.request);
  }

  close(): void {
    this.socket.destroy();
  }
}

async function throughput(host: string, port: number, request: Buffer, conns: number, seconds: number): Promise<void> {
  const pool = Array.from({ length: conns }, () => new Conn(host, port, request));
  await Promise.all(pool.map((c) => c.ready));
  let counting = false;
  let count = 0;
  let stop = false;
  for (const c of pool) {
    const loop = (): void => {
      if (counting) count++;
      if (!stop) c.send(loop);
    };
    c.send(loop);
  }
  await new Promise((r) => setTimeout(r, 500));
  counting = true;
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  counting = false;
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  stop = true;
  console.log(JSON.stringify({ requests: count, seconds: elapsed }));
  for (const c of pool) c.close();
}

async function latency(host: string, port: number, request: Buffer, rate: number, seconds: number): Promise<void> {
  const pool = Array.from({ length: 16 }, () => new Conn(host, port, request));
  await Promise.all(pool.map((c) => c.ready));
  const idle = [...pool];
  const queue: bigint[] = [];
  const samples: number[] = [];
  const start = process.hrtime.bigint();
  const warmup = start + 1_000_000_000n;
  const end = warmup + BigInt(seconds * 1e9);
  const interval = BigInt(Math.round(1e9 / rate));
  let sent = 0n;
  const dispatch = (): void => {
    while (queue.length && idle.length) {
      const scheduled = queue.shift()!;
      const c = idle.pop()!;
      const t0 = process.hrtime.bigint();
      c.send(() => {
        const now = process.hrtime.bigint();
        if (scheduled >= warmup) samples.push(Number(now - t0) / 1000);
        idle.push(c);
        dispatch();
      });
    }
  };
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = process.hrtime.bigint();
      while (start + sent * interval <= now && start + sent * interval < end) queue.push(start + sent++ * interval);
      dispatch();
      if (now >= end && queue.length === 0 && idle.length === pool.length) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  samples.sort((a, b) => a - b);
  const pct = (p: number): number => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))]!;
  console.log(JSON.stringify({ p50Us: pct(0.5), p99Us: pct(0.99), count: samples.length }));
  for (const c of pool) c.close();
}

const [mode, host, port, path, n, seconds] = process.argv.slice(2);
const request = Buffer.from(`GET ${path} HTTP/1.1\r\nHost: bench\r\n\r\n`);
if (mode === 'throughput') await throughput(host!, Number(port), request, Number(n), Number(seconds));
else if (mode === 'latency') await latency(host!, Number(port), request, Number(n), Number(seconds));
else {
  process.stderr.write('usage: http-load throughput|latency HOST PORT PATH CONNS|RATE SECONDS\n');
  process.exit(2);
}
