// Named errors of the service model.

/** A service definition was refused: `field` names the offending input (e.g. `backends[2].port`). */
export class ServiceValidationError extends Error {
  override readonly name = 'ServiceValidationError';
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}
