// Datapath debug records (monitor message type 2, docs/CONTRACTS.md) -> flow.DebugEvent, as
// upstream Hubble's debug parser: type = sub_type (Cilium's DBG_* code), the emitting
// endpoint, the skb hash, arg1..arg3 and the message text. Debug records never become flows.
import { flow, type Timestamp } from '@cilium-ts/api';
import { debugMessage, EVENT_HEADER_LEN, EventType, RecordFlag, recordDebugArgs, recordFlags, recordHash, recordSource, recordSubType, recordType } from '@cilium-ts/bpf/events';
import type { EndpointGetter } from './getters.js';

/** A debug event as hubble-server keeps it on its debug ring. */
export interface DebugHubbleEvent {
  kind: 'debug';
  time: Timestamp;
  nodeName: string;
  debug: flow.DebugEvent;
}

/** Raised for a byte string that is not a whole debug record. */
export class DebugRecordError extends Error {
  override readonly name = 'DebugRecordError';
  constructor(
    readonly length: number,
    readonly type: number | undefined,
  ) {
    super(
      type !== EventType.debug
        ? `decode debug record: type is ${type ?? 'missing'}, not ${EventType.debug} (debug); only debug records go to the debug decoder`
        : `decode debug record: got ${length} bytes, need ${EVENT_HEADER_LEN} (is the agent forwarding records unchanged, as docs/CONTRACTS.md requires?)`,
    );
  }
}

/** The emitting endpoint: its metadata when the getter knows it, else just its id; undefined for id 0 (as upstream). */
function sourceEndpoint(id: number, endpoints: EndpointGetter | undefined): flow.Endpoint | undefined {
  if (id === 0) return undefined;
  const ep = endpoints?.getEndpointByID(id);
  if (ep === undefined) return flow.Endpoint.fromPartial({ ID: id });
  return flow.Endpoint.fromPartial({ ID: id, identity: ep.identity, namespace: ep.namespace, podName: ep.podName, labels: [...ep.labels].sort() });
}

/**
 * Decodes one debug record into a flow.DebugEvent. `cpu` stays unset: the record does not
 * carry the CPU it was emitted on. Throws DebugRecordError for another record type or a
 * short record.
 */
export function decodeDebugRecord(bytes: Uint8Array, endpoints?: EndpointGetter): flow.DebugEvent {
  if (bytes.length < EVENT_HEADER_LEN || recordType(bytes) !== EventType.debug) throw new DebugRecordError(bytes.length, bytes[0]);
  const subType = recordSubType(bytes);
  const args = recordDebugArgs(bytes);
  return flow.DebugEvent.fromPartial({
    type: subType,
    source: sourceEndpoint(recordSource(bytes), endpoints),
    hash: recordHash(bytes),
    arg1: args[0],
    arg2: args[1],
    arg3: args[2],
    message: debugMessage({ subType, args, ipv6: (recordFlags(bytes) & RecordFlag.ipv6) !== 0 }),
  });
}
