// Helpers shared by this library's tests (compiled with them; not exported).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger, LogLevel } from './logger.js';
import { createLogger } from './logger.js';

/** A temporary directory removed by the returned cleanup function. */
export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `cts-${prefix}-${process.pid}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A logger that keeps its records in memory. */
export function memoryLogger(component = 'test', level: LogLevel = 'debug'): { logger: Logger; records: Record<string, unknown>[] } {
  const records: Record<string, unknown>[] = [];
  const logger = createLogger(component, {
    level,
    stream: { write: (line: string) => records.push(JSON.parse(line) as Record<string, unknown>) },
  });
  return { logger, records };
}
