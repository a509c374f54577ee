// cilium.proxy.v1.Proxy over gRPC: Sync (the agent's policy channel, one ack per applied
// revision), AccessLog (records as they happen) and Status.
import type { ServerDuplexStream, ServerWritableStream } from '@grpc/grpc-js';
import { proxy as api, timestampFromDate } from '@cilium-ts/api';
import { InvalidArgumentError, serviceErrorFromStatus, statusFromError, type ServiceRegistration } from '@cilium-ts/grpc';
import { type Logger } from '@cilium-ts/process';
import { dnsAccessLogRecord } from './dns-access-record.js';
import type { AccessRecord } from './http-listener.js';
import { PolicyTable } from './policy-table.js';
import type { L7Proxy } from './proxy.js';

const DIRECTION = { ingress: api.TrafficDirection.INGRESS, egress: api.TrafficDirection.EGRESS } as const;
const VERDICT = { forwarded: api.Verdict.FORWARDED, denied: api.Verdict.DENIED, error: api.Verdict.ERROR } as const;

/** An access record as the API sends it. */
export function accessLogRecord(r: AccessRecord): api.AccessLogRecord {
  const c = r.context;
  return api.AccessLogRecord.fromPartial({
    time: timestampFromDate(r.time),
    type: r.type,
    verdict: VERDICT[r.verdict],
    direction: DIRECTION[c.direction],
    endpointId: c.endpointId,
    sourceAddress: c.source.address,
    sourcePort: c.source.port,
    sourceIdentity: c.source.identity,
    destinationAddress: c.destination.address,
    destinationPort: c.destination.port,
    destinationIdentity: c.destination.identity,
    http: { method: r.method, url: r.url, protocol: r.protocol, code: r.code, headers: r.headers.map(([key, value]) => ({ key, value })) },
    latencyNs: r.latencyNs,
  });
}

/** The Proxy service registration for createServer/serve. */
export function proxyService(proxy: L7Proxy, logger: Logger, version: string): ServiceRegistration {
  return {
    definition: api.ProxyService,
    implementation: {
      sync(call: ServerDuplexStream<api.PolicyUpdate, api.PolicyAck>): void {
        let last = 0n;
        call.on('data', (update: api.PolicyUpdate) => {
          try {
            if (update.revision <= last) throw new InvalidArgumentError(`revision ${update.revision} is not above the last one on this stream (${last})`, { field: 'revision' });
            const table = PolicyTable.fromUpdate(update);
            proxy.apply(table);
            last = update.revision;
            call.write(api.PolicyAck.fromPartial({ revision: update.revision, endpointIds: [...table.endpointIds] }));
          } catch (err) {
            // A refused update changes nothing: the previous revision stays enforced.
            logger.warn('policy update refused', { revision: String(update.revision), error: (err as Error).message });
            call.emit('error', serviceErrorFromStatus(statusFromError(err)));
          }
        });
        call.on('end', () => call.end());
      },
      dnsMappings(call: ServerDuplexStream<api.DnsMappingAck, api.DnsMapping>): void {
        proxy.dnsMappings.attach(call);
      },
      accessLog(call: ServerWritableStream<api.AccessLogRequest, api.AccessLogRecord>): void {
        const off = proxy.onRecord((r) => call.write(accessLogRecord(r)));
        const offDns = proxy.onDnsRecord((r) => call.write(dnsAccessLogRecord(r)));
        const stop = (): void => {
          off();
          offDns();
        };
        call.on('cancelled', stop);
        call.on('close', stop);
        call.on('finish', stop);
      },
      async status(): Promise<api.StatusResponse> {
        const c = proxy.counters();
        return api.StatusResponse.fromPartial({
          version,
          revision: proxy.policy.revision,
          endpointIds: [...proxy.policy.endpointIds],
          listeners: proxy.listenerInfo().map((l) => ({ proxyPort: l.proxyPort, direction: DIRECTION[l.direction], parser: l.parser, address: l.address })),
          requestsForwarded: BigInt(c.forwarded),
          requestsDenied: BigInt(c.denied),
          requestsRejected: BigInt(c.rejected),
        });
      },
    },
  };
}
