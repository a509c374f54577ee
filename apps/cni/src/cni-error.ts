// CNI error codes and the error type every command failure is reported as. The
// runtime receives it on stdout as `{"cniVersion","code","msg","details"}`.

/** Well-known CNI error codes (CNI spec 1.1, "Error"), plus our plugin-specific ones (>= 100). */
export const CniErrorCode = {
  /** The runtime asked for a CNI version this plugin does not speak. */
  IncompatibleVersion: 1,
  /** A field of the network config is not supported. */
  UnsupportedField: 2,
  /** The container is unknown or does not exist. */
  UnknownContainer: 3,
  /** A required environment variable is missing or invalid. */
  InvalidEnvironment: 4,
  /** An I/O operation failed. */
  IoFailure: 5,
  /** The network config (stdin) could not be decoded. */
  DecodeFailure: 6,
  /** The network config was decoded but is invalid. */
  InvalidNetworkConfig: 7,
  /** The network namespace is invalid. */
  InvalidNetns: 8,
  /** A transient condition (the agent is unreachable): the runtime should retry. */
  TryAgainLater: 11,
  /** STATUS: the plugin cannot serve ADD requests. */
  PluginNotAvailable: 50,
  /** Plugin specific: the agent refused or failed the request. */
  AgentRequestFailed: 100,
  /** Plugin specific: setting up or tearing down the pod's interfaces failed. */
  InterfaceSetupFailed: 101,
  /** Plugin specific: a check (CHECK command) found the attachment broken. */
  CheckFailed: 102,
  /** Plugin specific: ADD for a container that is already attached (nothing was changed; DEL first). */
  AlreadyAttached: 103,
  /** Plugin specific: the node's pod CIDR has no address left (the agent answered RESOURCE_EXHAUSTED). */
  AddressesExhausted: 104,
  /** Any other internal error. */
  Internal: 999,
} as const;

/** One of the codes of CniErrorCode. */
export type CniErrorCodeValue = (typeof CniErrorCode)[keyof typeof CniErrorCode];

/** A failed CNI command: code, a message, and details for the runtime's logs. */
export class CniError extends Error {
  override readonly name = 'CniError';
  /** The CNI error code reported to the runtime. */
  readonly code: number;
  /** Longer, free-form details (the cause, a hint). */
  readonly details: string;

  constructor(code: number, msg: string, details = '', options?: { cause?: unknown }) {
    super(msg, options);
    this.code = code;
    this.details = details;
  }

  /** The error object of the CNI spec, ready to be printed on stdout. */
  toJSON(cniVersion: string): { cniVersion: string; code: number; msg: string; details?: string } {
    const out: { cniVersion: string; code: number; msg: string; details?: string } = {
      cniVersion,
      code: this.code,
      msg: this.message,
    };
    if (this.details !== '') out.details = this.details;
    return out;
  }
}

/** Wraps any thrown value as a CniError with the given code (a CniError passes through). */
export function asCniError(err: unknown, code: number, msg: string): CniError {
  if (err instanceof CniError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new CniError(code, `${msg}: ${detail}`, detail, { cause: err });
}
