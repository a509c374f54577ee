// The shape every flow filter kind implements, and the error invalid filter values raise.
import type { flow } from '@cilium-ts/api';

/** A compiled condition on a flow. */
export type FlowPredicate = (f: flow.Flow) => boolean;

/** One filter kind: reads its fields of a FlowFilter and returns one predicate per set field. */
export interface FlowFilterKind {
  /** Short name, e.g. `ip`, `pod`. */
  readonly name: string;
  /** Compiles this kind's fields of `filter`; returns [] when none of them is set; throws FilterError on invalid values. */
  build(filter: flow.FlowFilter): FlowPredicate[];
}

/** Raised when a FlowFilter holds a value that cannot be compiled (the server answers INVALID_ARGUMENT). */
export class FilterError extends Error {
  override readonly name = 'FilterError';
  constructor(
    /** The FlowFilter field, e.g. `destination_port`. */
    readonly field: string,
    /** The offending value. */
    readonly value: string,
    /** Why it was rejected. */
    readonly reason: string,
  ) {
    super(`invalid ${field} filter "${value}": ${reason}`);
  }
}
