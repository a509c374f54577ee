import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeFileAtomic } from './atomic-file.js';

test('writeFileAtomic: creates the directory (0700), replaces the file (0600), leaves no temporary file', async () => {
  const root = mkdtempSync(join(tmpdir(), 'cts-atomic-'));
  try {
    const file = join(root, 'state', 'x.json');
    await writeFileAtomic(file, 'one\n');
    await writeFileAtomic(file, 'two\n');
    assert.equal(readFileSync(file, 'utf8'), 'two\n');
    assert.deepEqual(readdirSync(join(root, 'state')), ['x.json']);
    assert.equal(statSync(join(root, 'state')).mode & 0o777, 0o700);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    // A path that cannot be written fails, and the old file stays as it was.
    await assert.rejects(writeFileAtomic(join(root, 'state', 'x.json', 'y'), 'z'), /EEXIST|ENOTDIR/);
    assert.deepEqual(readdirSync(join(root, 'state')), ['x.json']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
