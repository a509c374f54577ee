// Telling HTTP/2 with prior knowledge (h2c) from HTTP/1.1 on one redirected port: the
// first bytes of a connection either are the HTTP/2 client connection preface (RFC 9113
// section 3.4) or diverge from it. The HTTP/1.1 side gets the socket back with the bytes
// read so far unshifted; the HTTP/2 side gets a duplex over the socket that replays them
// (node:http2 reads a net.Socket's handle directly, bypassing anything unshifted).
import type net from 'node:net';
import { Duplex } from 'node:stream';

/** The HTTP/2 client connection preface. */
export const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** What the first bytes of a connection were. */
export interface SniffResult {
  /** True when the connection starts with the HTTP/2 preface. */
  h2: boolean;
  /** The bytes read to decide (to be replayed). */
  head: Buffer;
}

/**
 * Reads from `socket` until its first bytes match the HTTP/2 preface or diverge from it
 * (one byte is enough for an HTTP/1.1 request line) and leaves the socket paused. Resolves
 * undefined if the connection ends or fails first.
 */
export function sniffPreface(socket: net.Socket): Promise<SniffResult | undefined> {
  return new Promise((resolve) => {
    let head: Buffer = Buffer.alloc(0);
    const finish = (result: SniffResult | undefined): void => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.pause();
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const n = Math.min(head.length, H2_PREFACE.length);
      const same = head.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
      if (same && head.length < H2_PREFACE.length) return;
      finish({ h2: same, head });
    };
    const onEnd = (): void => finish(undefined);
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
  });
}

/**
 * A duplex over `socket` that first yields `head` (bytes already read from it), then the
 * socket's data, with back-pressure both ways; destroying either side destroys the other.
 */
export function replayDuplex(socket: net.Socket, head: Buffer): Duplex {
  const duplex = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      socket.write(chunk, callback);
    },
    final(callback) {
      socket.end();
      callback();
    },
    destroy(err, callback) {
      socket.destroy();
      callback(err);
    },
  });
  socket.on('data', (chunk: Buffer) => {
    if (!duplex.push(chunk)) socket.pause();
  });
  socket.on('end', () => duplex.push(null));
  socket.on('close', () => duplex.destroy());
  // The socket's own errors end it (close follows); the session sees the close.
  socket.on('error', () => undefined);
  duplex.push(head);
  return duplex;
}
