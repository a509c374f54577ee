// Named errors of the lab tool. Each message says what was attempted, why it failed and
// what to do next.

/** Bad command-line input; `arg` names the offending flag or word. */
export class LabUsageError extends Error {
  override readonly name = 'LabUsageError';
  constructor(
    readonly arg: string,
    readonly reason: string,
  ) {
    super(`lab: ${arg}: ${reason} (run "tools/lab help" for usage)`);
  }
}

/** A command the lab ran (ip, tc, the CNI plugin, a CLI) exited non-zero or could not start. */
export class CommandFailedError extends Error {
  override readonly name = 'CommandFailedError';
  constructor(
    readonly argv: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
    options?: { cause?: unknown },
  ) {
    const out = stderr.trim().split('\n').slice(-8).join('\n  ');
    super(
      `running "${argv.join(' ')}" failed (exit ${exitCode ?? 'signal'})` + (out ? `:\n  ${out}` : ''),
      options,
    );
  }
}

/** A daemon did not become ready in time, or died while starting. */
export class ServiceNotReadyError extends Error {
  override readonly name = 'ServiceNotReadyError';
  constructor(
    readonly service: string,
    readonly reason: string,
    readonly logFile: string,
    readonly logTail: string,
  ) {
    super(
      `starting ${service} failed: ${reason}\n` +
        `  last lines of ${logFile}:\n` +
        (logTail.trim() ? logTail.trim().split('\n').map((l) => `    ${l}`).join('\n') : '    (empty)') +
        `\n  fix the cause, then run "tools/lab up" again (it cleans up first)`,
    );
  }
}

/** A resource the lab needs (a port, a binary) is taken or missing. */
export class LabPreconditionError extends Error {
  override readonly name = 'LabPreconditionError';
  constructor(
    readonly what: string,
    readonly reason: string,
    readonly hint: string,
  ) {
    super(`${what}: ${reason}; ${hint}`);
  }
}

/** state.json exists but cannot be read or parsed. */
export class StateFileError extends Error {
  override readonly name = 'StateFileError';
  constructor(
    readonly path: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`reading lab state ${path} failed: ${reason}; "tools/lab down" still cleans up by name`, options);
  }
}
