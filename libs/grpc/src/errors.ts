// Errors a handler throws to answer with a specific gRPC status, and the mapping of
// any thrown value to the status the client sees.
import { status, type Metadata, type ServiceError } from '@grpc/grpc-js';

/** An error carrying the gRPC status code a handler wants to answer with. */
export class GrpcStatusError extends Error {
  /** The gRPC status code sent to the client. */
  readonly code: status;

  constructor(code: status, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GrpcStatusError';
    this.code = code;
  }
}

/** The request is malformed: INVALID_ARGUMENT. `field` names the offending input, if any. */
export class InvalidArgumentError extends GrpcStatusError {
  readonly field: string | undefined;

  constructor(message: string, options?: { field?: string; cause?: unknown }) {
    super(status.INVALID_ARGUMENT, message, options);
    this.name = 'InvalidArgumentError';
    this.field = options?.field;
  }
}

/** The requested object does not exist: NOT_FOUND. `resource` names what was looked up. */
export class NotFoundError extends GrpcStatusError {
  readonly resource: string | undefined;

  constructor(message: string, options?: { resource?: string; cause?: unknown }) {
    super(status.NOT_FOUND, message, options);
    this.name = 'NotFoundError';
    this.resource = options?.resource;
  }
}

/** The object to create exists already: ALREADY_EXISTS. */
export class AlreadyExistsError extends GrpcStatusError {
  readonly resource: string | undefined;

  constructor(message: string, options?: { resource?: string; cause?: unknown }) {
    super(status.ALREADY_EXISTS, message, options);
    this.name = 'AlreadyExistsError';
    this.resource = options?.resource;
  }
}

/** The system is not in a state that allows the operation: FAILED_PRECONDITION. */
export class FailedPreconditionError extends GrpcStatusError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(status.FAILED_PRECONDITION, message, options);
    this.name = 'FailedPreconditionError';
  }
}

/** What was waited for did not happen in time: DEADLINE_EXCEEDED. */
export class DeadlineExceededError extends GrpcStatusError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(status.DEADLINE_EXCEEDED, message, options);
    this.name = 'DeadlineExceededError';
  }
}

/** A dependency is down or the server is shutting down; retrying may help: UNAVAILABLE. */
export class UnavailableError extends GrpcStatusError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(status.UNAVAILABLE, message, options);
    this.name = 'UnavailableError';
  }
}

/** A quota or pool is used up (e.g. no address left in the pod CIDR): RESOURCE_EXHAUSTED. */
export class ResourceExhaustedError extends GrpcStatusError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(status.RESOURCE_EXHAUSTED, message, options);
    this.name = 'ResourceExhaustedError';
  }
}

/** The method exists in the API but this server does not serve it: UNIMPLEMENTED. */
export class UnimplementedError extends GrpcStatusError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(status.UNIMPLEMENTED, message, options);
    this.name = 'UnimplementedError';
  }
}

/**
 * A user-facing failure without a better code: UNKNOWN. The Hubble CLI prints only the
 * message of an UNKNOWN status, so filter errors meant for users use this.
 */
export class UnknownStatusError extends GrpcStatusError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(status.UNKNOWN, message, options);
    this.name = 'UnknownStatusError';
  }
}

/** The status a client will see for a thrown value, and whether it was unexpected. */
export interface MappedStatus {
  code: status;
  details: string;
  metadata?: Metadata;
  /** True when the value was not a deliberate status (a bug): logged with its stack. */
  unexpected: boolean;
}

function isServiceErrorLike(err: unknown): err is Partial<ServiceError> & { code: number } {
  return typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'number'
    && (err as { code: number }).code in status && typeof (err as { message?: unknown }).message === 'string';
}

/**
 * Maps any thrown value to a gRPC status: GrpcStatusError subclasses keep their code and
 * message; grpc-js ServiceErrors (e.g. from a backend this server proxies) keep code and
 * details; anything else becomes INTERNAL and is marked unexpected.
 */
export function statusFromError(err: unknown): MappedStatus {
  if (err instanceof GrpcStatusError) return { code: err.code, details: err.message, unexpected: false };
  if (isServiceErrorLike(err)) {
    return {
      code: err.code as status,
      details: typeof err.details === 'string' ? err.details : (err.message ?? ''),
      metadata: err.metadata,
      unexpected: false,
    };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: status.INTERNAL, details: `internal error: ${message}`, unexpected: true };
}

/** Builds the object grpc-js sends as an error status from a thrown value. */
export function serviceErrorFromStatus(mapped: MappedStatus): Partial<ServiceError> & { code: status; details: string } {
  const e = Object.assign(new Error(mapped.details), { code: mapped.code, details: mapped.details }) as Partial<ServiceError> & {
    code: status;
    details: string;
  };
  if (mapped.metadata) e.metadata = mapped.metadata;
  return e;
}
