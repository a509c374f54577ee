// The gRPC-over-HTTP/2 pieces that lean clients built directly on node:http2 share (the
// relay's peer calls, hubble-server's agent stream): the request headers and the single
// length-prefixed request frame of a server-streaming call, and the status of its trailers.
import { constants, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { status } from '@grpc/grpc-js';

/** The status a call ended with (grpc-status and grpc-message). */
export interface RawStatus {
  code: number;
  details: string;
}

function decodeGrpcMessage(raw: string | string[] | undefined): string {
  const text = Array.isArray(raw) ? raw.join(',') : (raw ?? '');
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** grpcStatusOf reads grpc-status / grpc-message of trailers (or of a trailers-only response's headers). */
export function grpcStatusOf(headers: IncomingHttpHeaders): RawStatus {
  const code = Number(headers['grpc-status'] ?? status.UNKNOWN);
  return { code: Number.isInteger(code) ? code : status.UNKNOWN, details: decodeGrpcMessage(headers['grpc-message']) };
}

/** grpcCallHeaders are the request headers of a call to `path`, after any `extra` (forwarded metadata). */
export function grpcCallHeaders(path: string, extra?: Record<string, string | string[]>): OutgoingHttpHeaders {
  return {
    ...extra,
    [constants.HTTP2_HEADER_METHOD]: 'POST',
    [constants.HTTP2_HEADER_PATH]: path,
    [constants.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
    te: 'trailers',
  };
}

/** grpcMessageFrame is `message` with gRPC's 5-byte prefix (uncompressed, big-endian length). */
export function grpcMessageFrame(message: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(5 + message.length);
  frame[0] = 0;
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}
