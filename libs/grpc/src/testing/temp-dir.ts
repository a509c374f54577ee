// A temporary directory for a test, removed by the returned cleanup function.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A temporary directory removed by the returned cleanup function. */
export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `cts-${prefix}-${process.pid}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
