import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BpfMap } from './bpf-map.js';
import { Datapath } from './datapath.js';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { BpfError, BpfLoadError, DatapathInputError } from './errors.js';
import { ipcacheKey, ipcacheValue, metricsKey, metricsValue, policyKey, policyValue } from './map-codecs.js';
import { needsRoot, uniqueName } from './testing/test-support.js';

/** Asserts err is a BpfError for operation (substring) with errno code and a hint. */
function isBpfError(operation: string, code: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof BpfError, `expected BpfError, got ${String(err)}`);
    assert.match(err.operation, new RegExp(operation));
    assert.equal(err.code, code);
    assert.ok(err.hint.length > 0);
    assert.match(err.message, new RegExp(`${code} \\(errno ${err.errno}\\).*hint: `, 's'));
    return true;
  };
}

describe('bad input gives errors naming the operation, errno and a hint', needsRoot, () => {
  const pinDir = `/sys/fs/bpf/${uniqueName('badinput')}`;
  let dp: Datapath;
  let ipcache: BpfMap<never, never>;

  before(async () => {
    Datapath.removePins(pinDir);
    dp = await Datapath.open({ pinDir });
    ipcache = BpfMap.openPinned(`${pinDir}/ipcache`, 'ipcache', ipcacheKey, ipcacheValue) as BpfMap<never, never>;
  });
  after(() => {
    ipcache?.close();
    dp?.close();
    Datapath.removePins(pinDir);
  });

  test('a key of the wrong size is refused before the syscall', () => {
    assert.throws(() => ipcache.updateRaw(Buffer.alloc(8), Buffer.alloc(24)), isBpfError('map update "ipcache"', 'EINVAL'));
    assert.throws(() => ipcache.lookupRaw(Buffer.alloc(25)), isBpfError('map lookup "ipcache"', 'EINVAL'));
    assert.throws(() => ipcache.deleteRaw(Buffer.alloc(0)), isBpfError('map delete "ipcache"', 'EINVAL'));
  });

  test('a value of the wrong size is refused, per-CPU maps need one slot per CPU', () => {
    assert.throws(() => ipcache.updateRaw(Buffer.alloc(24), Buffer.alloc(4)), isBpfError('map update "ipcache"', 'EINVAL'));
    const metrics = BpfMap.openPinned(`${pinDir}/metrics`, 'metrics', metricsKey, metricsValue, { perCpu: true });
    try {
      assert.throws(() => metrics.updateRaw(Buffer.alloc(4), Buffer.alloc(16)), (e: unknown) => isBpfError('map update "metrics"', 'EINVAL')(e) && /CPUs/.test((e as Error).message));
    } finally {
      metrics.close();
    }
  });

  test('the kernel rejects what the size check cannot see (LPM prefix too long)', () => {
    const key = Buffer.alloc(24);
    key.writeUInt32LE(32 + 129, 0);
    assert.throws(() => ipcache.updateRaw(key, Buffer.alloc(24)), isBpfError('map update "ipcache"', 'EINVAL'));
  });

  test('opening a pinned map with codecs of another layout fails with EINVAL', () => {
    assert.throws(() => BpfMap.openPinned(`${pinDir}/ipcache`, 'ipcache', policyKey, policyValue), isBpfError('open map "ipcache"', 'EINVAL'));
  });

  test('a missing pinned object gives ENOENT with the path and a hint', () => {
    assert.throws(() => BpfMap.openPinned(`${pinDir}/nope`, 'nope', ipcacheKey, ipcacheValue), (e: unknown) =>
      isBpfError(`open pinned map "nope" ${pinDir}/nope`, 'ENOENT')(e) && /nothing is pinned/.test((e as BpfError).hint));
    assert.throws(() => dp.updatePolicy(4242, []), isBpfError('open pinned map "policy of endpoint 4242"', 'ENOENT'));
    assert.throws(() => dp.testRun(4242, 'from-container', Buffer.alloc(64)), isBpfError('open pinned program from-container of endpoint 4242', 'ENOENT'));
  });

  test('a missing object file and a non-bpffs pinDir are refused by Datapath.open', async () => {
    await assert.rejects(Datapath.open({ pinDir, objectPath: '/nonexistent/datapath.o' }), isBpfError('open datapath object', 'ENOENT'));
    await assert.rejects(Datapath.open({ pinDir: `/tmp/${uniqueName('notbpffs')}` }), isBpfError('use pin directory', 'EINVAL'));
  });

  test('an incompatible pinned policy map fails the load with libbpf\'s log (also while a reader thread runs)', async () => {
    const reader = dp.events();
    const dir = `${pinDir}/ep77`;
    try {
      await reader.ready();
      mkdirSync(dir, { recursive: true });
      execFileSync('bpftool', ['map', 'create', `${dir}/policy`, 'type', 'hash', 'key', '4', 'value', '4', 'entries', '1', 'name', 'policy']);
      assert.throws(() => dp.loadEndpoint({ id: 77, identity: 1, hostIfindex: 1, ipv4: '10.0.0.77', ingressEnforced: true, egressEnforced: true }, []), (e: unknown) => {
        assert.ok(e instanceof BpfLoadError, String(e));
        assert.match(e.operation, /load BPF object/);
        assert.match(e.log, /policy/);
        return true;
      });
    } finally {
      await reader.close();
      Datapath.removePins(dir);
    }
  });

  test('a shared map pinned by another build (other type or sizes) is replaced on open', async () => {
    const other = `${pinDir}-stale`;
    Datapath.removePins(other);
    mkdirSync(other, { recursive: true });
    execFileSync('bpftool', ['map', 'create', `${other}/ipcache`, 'type', 'hash', 'key', '4', 'value', '4', 'entries', '1', 'name', 'ipcache']);
    try {
      const fresh = await Datapath.open({ pinDir: other, ctGcIntervalMs: 0 });
      try {
        assert.deepEqual(fresh.replacedMaps, ['ipcache']);
        fresh.ipcacheUpsert('10.9.9.0/24', 300);
        assert.deepEqual(fresh.ipcacheList(), [{ cidr: '10.9.9.0/24', identity: 300 }]);
      } finally {
        fresh.close();
      }
      const again = await Datapath.open({ pinDir: other, ctGcIntervalMs: 0 });
      assert.deepEqual(again.replacedMaps, [], 'a compatible pin is reused');
      assert.equal(again.ipcacheList().length, 1);
      again.close();
    } finally {
      Datapath.removePins(other);
    }
  });

  test('invalid endpoint specs and policies are refused before touching the kernel', () => {
    const spec = { id: 0, identity: 1, hostIfindex: 1, ipv4: '10.0.0.1', ingressEnforced: true, egressEnforced: true };
    assert.throws(() => dp.loadEndpoint(spec, []), (e: unknown) => e instanceof DatapathInputError && e.field === 'spec.id');
    assert.throws(() => dp.loadEndpoint({ ...spec, id: 5, ipv4: 'fd00::1' }, []), (e: unknown) => e instanceof DatapathInputError && e.field === 'spec.ipv4');
    assert.throws(() => dp.loadEndpoint({ ...spec, id: 5 }, [{ direction: 'ingress', identity: 1, protocol: 6, port: 70000, deny: false }]),
      (e: unknown) => e instanceof DatapathInputError && e.field === 'policy[0].port');
    assert.throws(() => dp.ipcacheUpsert('10.0.0.0/40', 5), (e: unknown) => e instanceof DatapathInputError && e.field === 'cidr');
    assert.throws(() => dp.policyList(5), isBpfError('open pinned map', 'ENOENT'), 'nothing was left behind for endpoint 5');
  });
});
