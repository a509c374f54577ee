// A logger for tests that keeps its records in memory instead of writing them to stderr.
import type { Logger, LogLevel } from '../logger.js';
import { createLogger } from '../logger.js';

/** A logger that keeps its records in memory. */
export function memoryLogger(component = 'test', level: LogLevel = 'debug'): { logger: Logger; records: Record<string, unknown>[] } {
  const records: Record<string, unknown>[] = [];
  const logger = createLogger(component, {
    level,
    stream: { write: (line: string) => records.push(JSON.parse(line) as Record<string, unknown>) },
  });
  return { logger, records };
}
