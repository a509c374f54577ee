// Fields of debug events as upstream hubble prints them (fmtEndpointShort, fmtHexUint32,
// fmtCPU and the DebugEventType name).
import { flow } from '@cilium-ts/api';

/** debugEventTypeName is the DebugEventType enum name (e.g. `DBG_CT_MATCH`), or the number for codes the enum does not know (as Go's String()). */
export function debugEventTypeName(type: number): string {
  return flow.DebugEventType[type] ?? String(type);
}

/** endpointShort is `namespace/pod (ID: n)`, `reserved:label (ID: n)` for a lone reserved label, `ID: n`, or `N/A` without an endpoint. */
export function endpointShort(ep: flow.Endpoint | undefined): string {
  if (ep === undefined) return 'N/A';
  const id = `ID: ${ep.ID}`;
  if (ep.namespace !== '' && ep.podName !== '') return `${ep.namespace}/${ep.podName} (${id})`;
  if (ep.labels.length === 1 && ep.labels[0]!.startsWith('reserved:')) return `${ep.labels[0]} (${id})`;
  return id;
}

/** hexUint32 is a UInt32Value as `0x<hex>`, or `N/A` when unset. */
export function hexUint32(v: number | undefined): string {
  return v === undefined ? 'N/A' : `0x${v.toString(16)}`;
}

/** cpuText is an Int32Value as Go's `%02d`, or `N/A` when unset. */
export function cpuText(cpu: number | undefined): string {
  if (cpu === undefined) return 'N/A';
  const digits = String(Math.abs(cpu)).padStart(cpu < 0 ? 1 : 2, '0');
  return cpu < 0 ? `-${digits}` : digits;
}
