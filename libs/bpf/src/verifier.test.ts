import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { Datapath } from './datapath.js';
import { defaultObjectPath, PROGRAMS } from './endpoint-loader.js';
import { probeKernelFeatures } from './features.js';
import { BpfObject } from './libbpf.js';
import { endpointConfig } from './map-codecs.js';
import { needsRoot, uniqueName } from './testing/test-support.js';

describe('verifier: the endpoint programs load with varied constants', needsRoot, () => {
  const pinDir = `/sys/fs/bpf/${uniqueName('verifier')}`;
  let dp: Datapath;

  before(async () => {
    Datapath.removePins(pinDir);
    dp = await Datapath.open({ pinDir });
  });
  after(() => {
    dp?.close();
    Datapath.removePins(pinDir);
  });

  test('the object has endpoint and overlay programs and a .rodata sized for struct ep_config', () => {
    const obj = BpfObject.open(defaultObjectPath());
    try {
      assert.deepEqual(obj.programNames().sort(), Object.values(PROGRAMS).sort());
      assert.equal(obj.initialValue('.rodata').length, endpointConfig.size);
    } finally {
      obj.close();
    }
  });

  test('kernel feature probes cover what the datapath uses and find the ones it just used', () => {
    const f = new Map(probeKernelFeatures().map((x) => [x.name, x]));
    assert.deepEqual([...f.keys()], ['BTF', 'ring buffer', 'tc/clsact', 'tcx', 'redirect peer', 'redirect neigh', 'LPM trie', 'LRU hash', 'per-CPU maps', 'bpffs mounted']);
    // The Datapath opened above created these maps on bpffs, so the probes must agree.
    // The endpoint programs below call bpf_redirect_peer / bpf_redirect_neigh: they load only where the probes say yes.
    for (const name of ['ring buffer', 'LPM trie', 'LRU hash', 'per-CPU maps', 'bpffs mounted', 'redirect peer', 'redirect neigh']) assert.equal(f.get(name)?.available, true, `${name}: ${f.get(name)?.detail}`);
  });

  const variants = [
    { id: 1, identity: 0, hostIfindex: 0, ingressEnforced: false, egressEnforced: false },
    { id: 2, identity: 256, hostIfindex: 3, ingressEnforced: true, egressEnforced: false },
    { id: 300, identity: 16777217, hostIfindex: 4096, ingressEnforced: false, egressEnforced: true },
    { id: 65535, identity: 0xffffffff, hostIfindex: 0x7fffffff, ingressEnforced: true, egressEnforced: true },
  ];
  for (const v of variants) {
    test(`loads and pins with id=${v.id} identity=${v.identity} ingress=${v.ingressEnforced} egress=${v.egressEnforced}`, () => {
      const r = dp.loadEndpoint({ ...v, ipv4: '10.9.0.1', ipv6: 'fd09::1' }, [
        { direction: 'ingress', identity: 256, protocol: 6, port: 80, endPort: 82, deny: false },
        { direction: 'egress', identity: 0, protocol: 0, port: 0, deny: true },
      ]);
      assert.ok(r.created);
      assert.ok(existsSync(r.fromContainer) && existsSync(r.toContainer) && existsSync(r.toContainerLocal));
      assert.equal(dp.localDeliveryProgramId(v.id), dp.pinnedProgram(v.id, 'to-container-local')?.id, 'local senders tail-call the new program');
      assert.equal(dp.policyList(v.id).length, 4);
      // Reloading the same endpoint reuses its policy map.
      assert.equal(dp.loadEndpoint({ ...v, ipv4: '10.9.0.1' }, []).created, false);
      assert.equal(dp.policyList(v.id).length, 0);
    });
  }
});
