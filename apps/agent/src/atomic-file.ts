/**
 * The agent's one way to write a state file: a temporary file beside it (mode 0600),
 * fsync, rename over the old one, fsync of the directory. A crash leaves either the old
 * file or the new one, never a torn one.
 */
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Atomically replaces `file` with `body`; creates its directory (0700) when missing. */
export async function writeFileAtomic(file: string, body: string): Promise<void> {
  const dir = dirname(file);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(body);
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  await rename(tmp, file);
  // The rename itself is durable only once the directory is.
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}
