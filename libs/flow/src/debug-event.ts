// Datapath debug records (monitor message type 2, docs/CONTRACTS.md) -> flow.DebugEvent, as
// upstream Hubble's debug parser: type = sub_type (Cilium's DBG_* code), the emitting
// endpoint, the skb hash, arg1..arg3 and the message text. Debug records never become flows.
import { flow, type Timestamp } from '@cilium-ts/api';
import { debugRecordMessage } from './debug-message-adapter.js';
import type { EndpointGetter } from './getters.js';

/** Monitor message type of a debug record (byte 0 of the record). */
export const DEBUG_RECORD_TYPE = 2;

/** Header bytes of a debug record (it carries no packet). */
export const DEBUG_RECORD_LEN = 48;

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
      type !== DEBUG_RECORD_TYPE
        ? `decode debug record: type is ${type ?? 'missing'}, not ${DEBUG_RECORD_TYPE} (debug); only debug records go to the debug decoder`
        : `decode debug record: got ${length} bytes, need ${DEBUG_RECORD_LEN} (is the agent forwarding records unchanged, as docs/CONTRACTS.md requires?)`,
    );
  }
}

function u32(b: Uint8Array, off: number): number {
  return (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16)) + b[off + 3]! * 0x1000000;
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
  if (bytes.length < DEBUG_RECORD_LEN || bytes[0] !== DEBUG_RECORD_TYPE) throw new DebugRecordError(bytes.length, bytes[0]);
  const subType = bytes[1]!;
  const args: [number, number, number] = [u32(bytes, 16), u32(bytes, 20), u32(bytes, 24)];
  return flow.DebugEvent.fromPartial({
    type: subType,
    source: sourceEndpoint(bytes[2]! | (bytes[3]! << 8), endpoints),
    hash: u32(bytes, 4),
    arg1: args[0],
    arg2: args[1],
    arg3: args[2],
    message: debugRecordMessage({ subType, args, ipv6: (bytes[15]! & 0x04) !== 0 }),
  });
}
