import { status as Status } from '@grpc/grpc-js';

/** GO_CODE_NAMES are grpc-go's names for status codes, as shown in `rpc error: code = X` texts. */
const GO_CODE_NAMES: Record<number, string> = {
  0: 'OK', 1: 'Canceled', 2: 'Unknown', 3: 'InvalidArgument', 4: 'DeadlineExceeded', 5: 'NotFound',
  6: 'AlreadyExists', 7: 'PermissionDenied', 8: 'ResourceExhausted', 9: 'FailedPrecondition',
  10: 'Aborted', 11: 'OutOfRange', 12: 'Unimplemented', 13: 'Internal', 14: 'Unavailable',
  15: 'DataLoss', 16: 'Unauthenticated',
};

/**
 * statusText renders a gRPC status the way grpc-go's error string does
 * (`rpc error: code = Unavailable desc = ...`), or just the details for UNKNOWN, which is how
 * upstream Hubble passes plain errors through.
 */
export function statusText(code: number, details: string): string {
  if (code === Status.UNKNOWN) return details;
  return `rpc error: code = ${GO_CODE_NAMES[code] ?? `Code(${code})`} desc = ${details}`;
}
