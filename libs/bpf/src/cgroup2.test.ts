import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cgroup2Mounts } from './cgroup2.js';

test('finds the cgroup v2 mounts of a hybrid, a pure v2 and a v1-only machine', () => {
  const hybrid = [
    'tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0',
    'cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0',
    'cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0',
  ].join('\n');
  assert.deepEqual(cgroup2Mounts(hybrid), ['/sys/fs/cgroup/unified']);
  assert.deepEqual(cgroup2Mounts('cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec 0 0\n'), ['/sys/fs/cgroup']);
  assert.deepEqual(cgroup2Mounts('cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\n'), []);
  assert.deepEqual(cgroup2Mounts('none /run/my\\040cgroups cgroup2 rw 0 0'), ['/run/my cgroups']);
});
