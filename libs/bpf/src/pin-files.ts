// Removing pins from bpffs: one pin quietly, or a whole pin directory.
import { existsSync, readdirSync, rmdirSync, unlinkSync } from 'node:fs';

/** Unlinks path; already gone is fine. */
export function rmQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

/** Removes every pin under pinDir (one level of subdirectories) and pinDir itself when empty. */
export function removePinTree(pinDir: string): void {
  if (!existsSync(pinDir)) return;
  for (const f of readdirSync(pinDir, { withFileTypes: true })) {
    const p = `${pinDir}/${f.name}`;
    if (f.isDirectory()) {
      for (const g of readdirSync(p)) rmQuiet(`${p}/${g}`);
      try { rmdirSync(p); } catch { /* not empty */ }
    } else rmQuiet(p);
  }
  try { rmdirSync(pinDir); } catch { /* not empty */ }
}
