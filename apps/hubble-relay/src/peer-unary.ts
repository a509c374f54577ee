// The relay's unary calls to one peer (ServerStatus, GetNamespaces), made on the peer's one
// connection: its RawChannel, or its grpc-js client when the peer is reached through grpc-js.
import { Metadata, status as Status, type MethodDefinition } from '@grpc/grpc-js';
import { RawCallError, rawUnaryCall } from '@cilium-ts/grpc';
import type { PeerConnection } from './peer-connection.js';

/** The connection side of a peer that unary calls need (PeerConnection has it). */
export type PeerCallTarget = Pick<PeerConnection, 'rawChannel' | 'observer' | 'displayAddress'>;

/**
 * peerUnary calls the unary method `def` with `req` on the peer's connection, with a deadline of
 * `timeoutMs`; it rejects with RawCallError (code and details) when the call fails or the peer
 * has no connection.
 */
export function peerUnary<Req, Res>(peer: PeerCallTarget, def: MethodDefinition<Req, Res>, req: Req, timeoutMs: number): Promise<Res> {
  const raw = peer.rawChannel;
  if (raw !== undefined) {
    return rawUnaryCall({ channel: raw, path: def.path, request: def.requestSerialize(req), timeoutMs }).then((bytes) => def.responseDeserialize(bytes));
  }
  const client = peer.observer;
  if (client === undefined) return Promise.reject(new RawCallError(Status.UNAVAILABLE, `no connection to ${peer.displayAddress}`, def.path));
  return new Promise<Res>((resolve, reject) => {
    client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, req, new Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
      if (err || res === undefined) reject(new RawCallError(err?.code ?? Status.INTERNAL, err?.details ?? 'no response', def.path));
      else resolve(res);
    });
  });
}
