// Client-side helpers for the hubble-server tests.
import type { ClientReadableStream, ServiceError } from '@grpc/grpc-js';
import { observer } from '@cilium-ts/api';

/** Collects a whole non-follow stream, or rejects with its error. */
export function collect<T>(stream: ClientReadableStream<T>): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const out: T[] = [];
    stream.on('data', (m: T) => out.push(m));
    stream.on('error', (e: ServiceError) => reject(e));
    stream.on('end', () => resolve(out));
  });
}

/** Calls GetFlows and returns every response. */
export function getFlows(client: observer.ObserverClient, req: observer.DeepPartial<observer.GetFlowsRequest>): Promise<observer.GetFlowsResponse[]> {
  return collect(client.getFlows(observer.GetFlowsRequest.fromPartial(req)));
}

/** Polls `cond` every 10 ms until it holds; rejects after `timeoutMs` with `what`. */
export async function waitUntil(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
