// Raw HTTP/1.1 over a socket for the proxy's tests: read one response, wait for the close.
import type net from 'node:net';

/** Reads one HTTP/1.1 response with a Content-Length body from a raw socket. */
export function readResponse(socket: net.Socket): Promise<{ status: number; headers: Record<string, string>; body: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const done = (closed: boolean): boolean => {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return false;
      const [statusLine, ...lines] = buf.subarray(0, end).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) headers[l.slice(0, l.indexOf(':')).toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
      const len = Number(headers['content-length'] ?? 0);
      if (buf.length < end + 4 + len) return false;
      cleanup();
      resolve({ status: Number(statusLine!.split(' ')[1]), headers, body: buf.subarray(end + 4, end + 4 + len).toString(), closed });
      return true;
    };
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d]);
      done(false);
    };
    const onEnd = (): void => {
      if (!done(true)) {
        cleanup();
        reject(new Error(`connection closed after ${JSON.stringify(buf.toString())}`));
      }
    };
    const cleanup = (): void => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', reject);
    };
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('error', reject);
  });
}

/** Resolves when the peer has closed the socket. */
export function closed(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.readableEnded || socket.destroyed) resolve();
    else socket.once('close', () => resolve());
  });
}
