// Names of the numbers in a datapath event record (event-record.ts), as Cilium's monitor
// API spells them: message types, trace observation points, drop reasons, policy match
// types. The one table of each for cilium monitor, hubble observe and hubble-server metrics.

/** Cilium monitor message type names by number (`cilium monitor --type`, `hubble observe --type`). */
export const MESSAGE_TYPE_NAMES: Readonly<Record<number, string>> = {
  1: 'drop', 2: 'debug', 3: 'capture', 4: 'trace', 5: 'policy-verdict', 6: 'recorder', 129: 'l7', 130: 'agent',
};

/** Trace observation point names by sub_type of a trace record (Cilium's TraceObservationPoint order). */
export const TRACE_POINT_NAMES: readonly string[] = [
  'to-endpoint', 'to-proxy', 'to-host', 'to-stack', 'to-overlay', 'from-endpoint',
  'from-proxy', 'from-host', 'from-stack', 'from-overlay', 'from-network', 'to-network',
];

/** Policy match type names (MatchType numbers), as `cilium monitor` and `hubble observe` print them. */
export const MATCH_TYPE_NAMES: readonly string[] = ['none', 'L3-Only', 'L3-L4', 'L4-Only', 'all', 'L3-Proto', 'Proto-Only'];

/** IP protocol names of the protocols the programs parse (matched protocol of a policy verdict, debug args). */
export const PROTOCOL_NAMES: Readonly<Record<number, string>> = { 1: 'ICMP', 6: 'TCP', 17: 'UDP', 58: 'ICMPv6', 132: 'SCTP' };

/** Drop reason texts by code (Cilium pkg/monitor/api); 0 is success. */
export const DROP_REASON_TEXT: Readonly<Record<number, string>> = {
  0: 'Success',
  2: 'Invalid packet',
  3: 'Interface',
  4: 'Interface Decrypted',
  5: 'LB, sock cgroup: No backend slot entry found',
  6: 'LB, sock cgroup: No backend entry found',
  7: 'LB, sock cgroup: Reverse entry update failed',
  8: 'LB, sock cgroup: Reverse entry stale',
  9: 'Fragmented packet',
  10: 'Fragmented packet entry update failed',
  11: 'Missed tail call to custom program',
  130: 'Invalid source mac',
  131: 'Invalid destination mac',
  132: 'Invalid source ip',
  133: 'Policy denied',
  134: 'Invalid packet',
  135: 'CT: Truncated or invalid header',
  136: 'Fragmentation needed',
  137: 'CT: Unknown L4 protocol',
  138: "CT: Can't create entry from packet",
  139: 'Unsupported L3 protocol',
  140: 'Missed tail call',
  141: 'Error writing to packet',
  142: 'Unknown L4 protocol',
  143: 'Unknown ICMPv4 code',
  144: 'Unknown ICMPv4 type',
  145: 'Unknown ICMPv6 code',
  146: 'Unknown ICMPv6 type',
  147: 'Error retrieving tunnel key',
  148: 'Error retrieving tunnel options',
  149: 'Invalid Geneve option',
  150: 'Unknown L3 target address',
  151: 'Stale or unroutable IP',
  152: 'No matching local container found',
  153: 'Error while correcting L3 checksum',
  154: 'Error while correcting L4 checksum',
  155: 'CT: Map insertion failed',
  156: 'Invalid IPv6 extension header',
  157: 'IP fragmentation not supported',
  158: 'Service backend not found',
  160: 'No tunnel/encapsulation endpoint (datapath BUG!)',
  161: 'Failed to insert into proxymap',
  162: 'Reached EDT rate-limiting drop horizon',
  163: 'Unknown connection tracking state',
  164: 'Local host is unreachable',
  165: 'No configuration available to perform policy decision',
  166: 'Unsupported L2 protocol',
  167: 'No mapping for NAT masquerade',
  168: 'Unsupported protocol for NAT masquerade',
  169: 'FIB lookup failed',
  170: 'Encapsulation traffic is prohibited',
  171: 'Invalid identity',
  172: 'Unknown sender',
  173: 'NAT not needed',
  174: 'Is a ClusterIP',
  175: 'First logical datagram fragment not found',
  176: 'Forbidden ICMPv6 message',
  177: 'Denied by LB src range check',
  178: 'Socket lookup failed',
  179: 'Socket assign failed',
  180: 'Proxy redirection not supported for protocol',
  181: 'Policy denied by denylist',
  182: 'VLAN traffic disallowed by VLAN filter',
  183: 'Incorrect VNI from VTEP',
  184: 'Failed to update or lookup TC buffer',
  185: 'No SID was found for the IP address',
  186: 'SRv6 state was removed during tail call',
  187: 'L3 translation from IPv4 to IPv6 failed (NAT46)',
  188: 'L3 translation from IPv6 to IPv4 failed (NAT64)',
  189: 'Authentication required',
  190: 'No conntrack map found',
  191: 'No nat map found',
  192: 'Invalid ClusterID',
  193: 'Unsupported packet protocol for DSR encapsulation',
  194: 'No egress gateway found',
  196: 'TTL exceeded',
  197: 'No node ID found',
};

/**
 * The text of a drop reason code; codes are taken modulo 256 (a u8 on the wire). A code
 * without a text reads `<code>, 0` (the code and an extended error of 0), as upstream's
 * `DropReason` prints it in `cilium monitor`, `cilium bpf metrics list` and `hubble observe`.
 */
export function dropReasonText(code: number): string {
  const c = ((code % 256) + 256) % 256;
  return DROP_REASON_TEXT[c] ?? `${c}, 0`;
}

/** Text of a metrics reason as the Cilium CLI prints it: 0 is 'Forwarded', others their drop reason text. */
export function reasonText(reason: number): string {
  return reason === 0 ? 'Forwarded' : dropReasonText(reason);
}

/** The name of a trace observation point, or its number for points without one. */
export function tracePointName(point: number): string {
  return TRACE_POINT_NAMES[point] ?? String(point);
}

/** The name of a policy match type, or its number for types without one. */
export function matchTypeName(type: number): string {
  return MATCH_TYPE_NAMES[type] ?? String(type);
}
