// Errors cilium-docker answers Docker with: {"Err": message}, HTTP 400 for a request Docker
// (or its user) got wrong, 500 for anything that failed on our side.

/** A request that cannot be served as sent (bad JSON, a missing field, an unsupported option). */
export class PluginRequestError extends Error {
  override readonly name = 'PluginRequestError';
  readonly status = 400;
  /** `method: field: reason`. */
  constructor(method: string, reason: string) {
    super(`cilium-docker ${method}: ${reason}`);
  }
}

/** A request that failed while being served (the agent refused or is unreachable, a kernel call failed). */
export class PluginFailedError extends Error {
  override readonly name = 'PluginFailedError';
  readonly status = 500;
  constructor(method: string, reason: string, options?: { cause?: unknown }) {
    super(`cilium-docker ${method}: ${reason}`, options);
  }
}
