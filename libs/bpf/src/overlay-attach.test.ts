import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, rmSync, unlinkSync } from 'node:fs';
import { Datapath } from './datapath.js';
import { defaultObjectPath } from './endpoint-loader.js';
import { sh } from './testing/pod-lab.js';
import { tcAttachedProgramId } from './tc-attach.js';
import { needsRoot, uniqueName } from './testing/test-support.js';

// attachOverlay on a restart: the attached from-overlay stays when it is current (same
// program id, reattached false) and is replaced when the object's build id changed or a
// shared map it uses was replaced.
describe('attachOverlay skips the attach when the attached program is current', needsRoot, () => {
  const ns = uniqueName('ovl');
  const netns = `/run/netns/${ns}`;
  const target = { ifname: 'cilium_vxlan', netns };
  const pinDir = `/sys/fs/bpf/${ns}`;
  const otherObject = `/tmp/${ns}-datapath.o`;
  const open = (objectPath?: string): Promise<Datapath> => Datapath.open({ pinDir, ctGcIntervalMs: 0, objectPath });

  before(() => {
    spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    Datapath.removePins(pinDir);
    sh('ip', 'netns', 'add', ns);
    sh('ip', '-n', ns, 'link', 'add', 'cilium_vxlan', 'type', 'vxlan', 'external', 'dstport', '8472');
    sh('ip', '-n', ns, 'link', 'set', 'cilium_vxlan', 'up');
    // The same code with another build id (the id is a hash of the file; ELF readers ignore trailing bytes).
    copyFileSync(defaultObjectPath(), otherObject);
    appendFileSync(otherObject, Buffer.from('other build'));
  });

  after(() => {
    spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    Datapath.removePins(pinDir);
    rmSync(otherObject, { force: true });
  });

  test('attach, reopen, attach again: same program, reattached false', async () => {
    let dp = await open();
    try {
      assert.equal((await dp.attachOverlay(target)).reattached, true);
      const first = await tcAttachedProgramId(target, 'ingress');
      assert.ok(first);
      assert.equal((await dp.attachOverlay(target)).reattached, false);
      dp.close();
      dp = await open(); // the agent restarted
      assert.equal((await dp.attachOverlay(target)).reattached, false);
      assert.equal(await tcAttachedProgramId(target, 'ingress'), first);
    } finally {
      dp.close();
    }
  });

  test('another build id: reattached true with a new program', async () => {
    const before = await tcAttachedProgramId(target, 'ingress');
    const dp = await open(otherObject);
    try {
      assert.equal((await dp.attachOverlay(target)).reattached, true);
      const now = await tcAttachedProgramId(target, 'ingress');
      assert.notEqual(now, before);
      assert.equal((await dp.attachOverlay(target)).reattached, false);
    } finally {
      dp.close();
    }
  });

  test('a shared map replaced since the load: reattached true', async () => {
    let dp = await open(otherObject);
    try {
      dp.close();
      unlinkSync(`${pinDir}/endpoints`); // from-overlay uses it; open pins a new one
      dp = await open(otherObject);
      const before = await tcAttachedProgramId(target, 'ingress');
      assert.equal((await dp.attachOverlay(target)).reattached, true);
      assert.notEqual(await tcAttachedProgramId(target, 'ingress'), before);
      assert.equal((await dp.attachOverlay(target)).reattached, false);
    } finally {
      dp.close();
    }
  });

  test('the pin is the attached program after a detach and a new attach', async () => {
    const dp = await open(otherObject);
    try {
      await dp.detachOverlay(target);
      assert.equal(await tcAttachedProgramId(target, 'ingress'), undefined);
      assert.equal((await dp.attachOverlay(target)).reattached, true);
    } finally {
      dp.close();
    }
  });
});
