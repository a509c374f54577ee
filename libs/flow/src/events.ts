// The events hubble-server keeps in its ring buffer: flows, lost events, agent and debug events.
import type { flow, Timestamp } from '@cilium-ts/api';

/** One buffered event with the time and node it belongs to. */
export type HubbleEvent =
  | { kind: 'flow'; time: Timestamp; nodeName: string; flow: flow.Flow }
  | { kind: 'lost'; time: Timestamp; nodeName: string; lost: flow.LostEvent }
  | { kind: 'agent'; time: Timestamp; nodeName: string; agent: flow.AgentEvent }
  | { kind: 'debug'; time: Timestamp; nodeName: string; debug: flow.DebugEvent };

/** The kind of a HubbleEvent. */
export type HubbleEventKind = HubbleEvent['kind'];
