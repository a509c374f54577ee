// The plugin's log: JSON lines appended to the network config's `log-file` (stdout is
// reserved for the CNI result, and runtimes rarely keep a plugin's stderr).
import { appendFileSync } from 'node:fs';

/** Log levels of the plugin. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Writes one structured line per call; a no-op without a log file. */
export interface PluginLog {
  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void;
}

/** A log appending to `file` ('' for none), each line carrying `base` fields. */
export function createPluginLog(file: string, base: Record<string, unknown>): PluginLog {
  return {
    log(level, msg, fields = {}) {
      if (file === '') return;
      const line = JSON.stringify({ time: new Date().toISOString(), level, msg, ...base, ...fields });
      try {
        appendFileSync(file, line + '\n');
      } catch {
        // Logging must never change the outcome of a CNI command.
      }
    },
  };
}
