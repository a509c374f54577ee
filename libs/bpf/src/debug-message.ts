// Debug messages of the datapath (event type 2, Cilium's cilium_dbg): the codes the
// programs emit (Cilium's DBG_* numbering, flow.proto DebugEventType) and their text as
// `cilium monitor` prints it. Layout of the record: docs/CONTRACTS.md.
import { PROTOCOL_NAMES } from './event-names.js';
import type { EventRecord } from './event-record.js';

/** Debug message codes (sub_type of a debug record) the programs emit. */
export const DebugType = {
  localDelivery: 2, encap: 3, policyDenied: 5, ctMatch: 8, decap: 16, l4Policy: 45,
  ctLookup4First: 48, ctLookup4Second: 49, ctCreated4: 50, ctLookup6First: 51, ctLookup6Second: 52, ctCreated6: 53,
} as const;

/** flow.proto DebugEventType names of the codes above (DBG_*). */
export const DEBUG_TYPE_NAMES: Readonly<Record<number, string>> = {
  2: 'DBG_LOCAL_DELIVERY', 3: 'DBG_ENCAP', 5: 'DBG_POLICY_DENIED', 8: 'DBG_CT_MATCH', 16: 'DBG_DECAP', 45: 'DBG_L4_POLICY',
  48: 'DBG_CT_LOOKUP4_1', 49: 'DBG_CT_LOOKUP4_2', 50: 'DBG_CT_CREATED4', 51: 'DBG_CT_LOOKUP6_1', 52: 'DBG_CT_LOOKUP6_2', 53: 'DBG_CT_CREATED6',
};

/** CT results in DBG_CT_LOOKUP*_2 arg3 and DBG_CT_MATCH arg1. */
export const CT_RESULT_NAMES: readonly string[] = ['new', 'established', 'reply', 'related'];

/** An address argument (a.b.c.d = a << 24 | ... | d) as text; for IPv6 the last 32 bits of the address. */
function addr(v: number, ipv6: boolean): string {
  const dotted = [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff].join('.');
  return ipv6 ? `[..:${(v >>> 16).toString(16)}:${(v & 0xffff).toString(16)}]` : dotted;
}

const dir = (d: number): string => (d === 1 ? 'egress' : 'ingress');
const l4 = (a: number): string => `${PROTOCOL_NAMES[a & 0xff] ?? `proto ${a & 0xff}`}/${a >>> 16}`;

/** The text of a debug record (Cilium's wording where Cilium has the message); unknown codes print their number and args. */
export function debugMessage(r: Pick<EventRecord, 'subType' | 'args' | 'ipv6'>): string {
  const [a1, a2, a3] = r.args;
  switch (r.subType) {
    case DebugType.localDelivery: return `Attempting local delivery for container id ${a1} from seclabel ${a2}`;
    case DebugType.encap: return `Encapsulating to node ${addr(a1, false)} (0x${a1.toString(16)}) from seclabel ${a2}`;
    case DebugType.policyDenied: return `Policy evaluation would deny packet from ${a1} to ${a2} (${l4(a3)})`;
    case DebugType.l4Policy: return `Resolved L4 policy: allowed from ${a1} to ${a2} (${l4(a3)})`;
    case DebugType.ctMatch: return `CT entry found: ${CT_RESULT_NAMES[a1] ?? a1}, peer identity ${a2}`;
    case DebugType.decap: return `Tunnel decap: id ${a1} from node ${a2 ? addr(a2, false) : 'unknown'}`;
    case DebugType.ctLookup4First:
    case DebugType.ctLookup6First:
      return `Conntrack lookup 1/2: src=${addr(a1, r.ipv6)}:${a3 >>> 16} dst=${addr(a2, r.ipv6)}:${a3 & 0xffff}`;
    case DebugType.ctLookup4Second:
    case DebugType.ctLookup6Second:
      return `Conntrack lookup 2/2: nexthdr=${a1} dir=${dir(a2)} result=${CT_RESULT_NAMES[a3] ?? a3}`;
    case DebugType.ctCreated4:
    case DebugType.ctCreated6:
      return `Conntrack create: peer identity ${a1} proxy-port=${a2} dir=${dir(a3)}`;
    default: return `Unknown message type ${r.subType} arg1=${a1} arg2=${a2} arg3=${a3}`;
  }
}
