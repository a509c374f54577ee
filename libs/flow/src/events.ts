// The events hubble-server keeps in its ring buffer: flows, lost events, agent and debug events.
import type { flow, Timestamp } from '@cilium-ts/api';
import type { DebugHubbleEvent } from './debug-event.js';

/**
 * One buffered event with the time and node it belongs to. Flow events the Parser makes are
 * DatapathFlowEvent instances (compact; `flow` built on first access), others plain objects.
 * A flow event may carry `wire`:
 * its GetFlowsResponse encoded once by the first server stream that sends it and reused by
 * every other (entries are immutable once written to the ring).
 */
export type HubbleEvent =
  | { kind: 'flow'; time: Timestamp; nodeName: string; flow: flow.Flow; wire?: Uint8Array }
  | { kind: 'lost'; time: Timestamp; nodeName: string; lost: flow.LostEvent }
  | { kind: 'agent'; time: Timestamp; nodeName: string; agent: flow.AgentEvent }
  | DebugHubbleEvent;

/** The kind of a HubbleEvent. */
export type HubbleEventKind = HubbleEvent['kind'];
