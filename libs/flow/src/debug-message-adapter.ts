// The text of a datapath debug record, from @cilium-ts/bpf/events (the one source of truth
// that `cilium monitor` prints too; that entry point does not load libbpf's FFI).
import { debugMessage } from '@cilium-ts/bpf/events';

/** The fields of a debug record the message text depends on. */
export interface DebugMessageFields {
  subType: number;
  args: [number, number, number];
  ipv6: boolean;
}

/** The message `cilium monitor` prints for a debug record (unknown codes name their number and args). */
export function debugRecordMessage(fields: DebugMessageFields): string {
  return debugMessage(fields);
}
