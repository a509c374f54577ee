// Process shutdown: hooks run once on SIGTERM/SIGINT (telemetry flush, state saves),
// after the gRPC server has drained, then the process exits 0.
import type { Logger } from '@cilium-ts/process';

/** Something a GrpcServer-like object offers for graceful shutdown. */
export interface Drainable {
  /** Stops accepting calls, ends streams, waits for in-flight calls up to timeoutMs, then forces. */
  shutdown(options?: { timeoutMs?: number }): Promise<void>;
  readonly logger?: Logger;
}

type Hook = () => void | Promise<void>;
const hooks: Hook[] = [];

/**
 * Registers `hook` to run at shutdown (after servers drained, in reverse order of
 * registration). Returns a function that unregisters it.
 */
export function onShutdown(hook: Hook): () => void {
  hooks.push(hook);
  return () => {
    const i = hooks.indexOf(hook);
    if (i !== -1) hooks.splice(i, 1);
  };
}

/** Runs and removes every registered hook, newest first; a failing hook is logged and skipped. */
export async function runShutdownHooks(logger?: Logger): Promise<void> {
  while (hooks.length > 0) {
    const hook = hooks.pop()!;
    try {
      await hook();
    } catch (err) {
      logger?.warn('shutdown hook failed', { error: err });
    }
  }
}

/** Options of installSignalHandlers. */
export interface SignalHandlerOptions {
  /** How long in-flight calls may take before they are cut off; default 10 s. */
  timeoutMs?: number;
  /** Signals to handle; default SIGTERM and SIGINT. */
  signals?: NodeJS.Signals[];
  logger?: Logger;
  /** Exit the process when done (default true); the exit code is 0, or 1 if shutdown failed. */
  exit?: boolean;
}

/**
 * On the first SIGTERM/SIGINT: shut the servers down gracefully (stop accepting, finish
 * in-flight unary calls, end streams OK, force after timeoutMs, remove unix sockets),
 * run the onShutdown hooks (telemetry flush), and exit 0. A second signal exits at once
 * with code 1. Returns a function that removes the handlers.
 */
export function installSignalHandlers(servers: Drainable | Drainable[], options: SignalHandlerOptions = {}): () => void {
  const list = Array.isArray(servers) ? servers : [servers];
  const logger = options.logger ?? list[0]?.logger;
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  let shuttingDown = false;

  const handler = (signal: NodeJS.Signals) => {
    if (shuttingDown) {
      logger?.warn('second signal during shutdown; exiting now', { signal });
      process.exit(1);
    }
    shuttingDown = true;
    logger?.info('shutting down', { signal });
    void (async () => {
      let code = 0;
      try {
        await Promise.all(list.map((s) => s.shutdown({ timeoutMs: options.timeoutMs })));
        await runShutdownHooks(logger);
      } catch (err) {
        code = 1;
        logger?.error('shutdown failed', { error: err });
      }
      logger?.info('shutdown complete', { exitCode: code });
      if (options.exit ?? true) process.exit(code);
    })();
  };
  for (const s of signals) process.on(s, handler);
  return () => {
    for (const s of signals) process.off(s, handler);
  };
}
