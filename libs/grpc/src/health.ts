// The standard gRPC health service (grpc.health.v1.Health): per-service serving status
// set by the service itself; Check answers NOT_FOUND for unknown names; Watch streams
// the current status and every change.
import { type sendUnaryData, type ServerUnaryCall, type ServerWritableStream } from '@grpc/grpc-js';
import { health } from '@cilium-ts/api';
import { NotFoundError } from './errors.js';

/** Serving status values of grpc.health.v1 (SERVING = 1, NOT_SERVING = 2, ...). */
export const ServingStatus = health.HealthCheckResponse_ServingStatus;
/** A serving status value. */
export type ServingStatus = health.HealthCheckResponse_ServingStatus;

type Listener = (status: ServingStatus) => void;

/** Health statuses of this server's services; "" stands for the server as a whole. */
export class HealthRegistry {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly listeners = new Map<string, Set<Listener>>();
  private frozen = false;

  /** Sets the status of `service` ("" for the whole server) and notifies watchers. */
  set(service: string, status: ServingStatus | 'SERVING' | 'NOT_SERVING'): void {
    if (this.frozen) return;
    this.apply(service, typeof status === 'string' ? ServingStatus[status] : status);
  }

  /** The status of `service`, or undefined when it was never set. */
  get(service: string): ServingStatus | undefined {
    return this.statuses.get(service);
  }

  /** Names with a status, "" included. */
  services(): string[] {
    return [...this.statuses.keys()];
  }

  /** Marks every service NOT_SERVING and ignores later `set` calls (used at shutdown). */
  shutdown(): void {
    for (const name of this.statuses.keys()) this.apply(name, ServingStatus.NOT_SERVING);
    this.frozen = true;
  }

  /** Calls `listener` on each change of `service`; returns the unsubscribe function. */
  subscribe(service: string, listener: Listener): () => void {
    let set = this.listeners.get(service);
    if (!set) this.listeners.set(service, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(service);
    };
  }

  /** The grpc.health.v1.Health handlers backed by this registry. */
  implementation(): health.HealthServer {
    return {
      check: (call: ServerUnaryCall<health.HealthCheckRequest, health.HealthCheckResponse>, callback: sendUnaryData<health.HealthCheckResponse>) => {
        const s = this.statuses.get(call.request.service);
        if (s === undefined) {
          callback(new NotFoundError(`unknown service "${call.request.service}"`, { resource: call.request.service }));
          return;
        }
        callback(null, health.HealthCheckResponse.create({ status: s }));
      },
      watch: (call: ServerWritableStream<health.HealthCheckRequest, health.HealthCheckResponse>) => {
        const service = call.request.service;
        let last: ServingStatus | undefined;
        const send = (s: ServingStatus) => {
          if (s === last || call.writableEnded) return;
          last = s;
          call.write(health.HealthCheckResponse.create({ status: s }));
        };
        send(this.statuses.get(service) ?? ServingStatus.SERVICE_UNKNOWN);
        const unsubscribe = this.subscribe(service, send);
        call.on('cancelled', unsubscribe);
        call.on('close', unsubscribe);
        call.on('finish', unsubscribe);
      },
    };
  }

  private apply(service: string, status: ServingStatus): void {
    if (this.statuses.get(service) === status) return;
    this.statuses.set(service, status);
    for (const l of [...(this.listeners.get(service) ?? [])]) l(status);
  }
}
