// The version a service reports: its package.json's, read next to its compiled code.
import { readFileSync } from 'node:fs';

/** The `version` of the package.json one level above `moduleUrl` (dist/main.js -> package.json), or 'unknown'. */
export function packageVersion(moduleUrl: string): string {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', moduleUrl), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
