import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DatapathInputError } from './errors.js';
import { nodePortConfigCodec, nodePortCtValueCodec, nodePortRevValueCodec, nodePortTupleCodec } from './nodeport-codecs.js';

describe('NodePort map codecs (bpf/nodeport.h)', () => {
  test('config, tuple, connection and reverse entries round-trip; addresses and ports as on the wire', () => {
    const cfg = { nodeIpv4: '192.168.200.1', mode: 'snat' as const };
    const b = nodePortConfigCodec.encode(cfg);
    assert.deepEqual([...b.subarray(0, 4)], [192, 168, 200, 1]);
    assert.deepEqual(nodePortConfigCodec.decode(b), cfg);
    assert.equal(nodePortConfigCodec.decode(nodePortConfigCodec.encode(undefined)), undefined);
    const t = { saddr: '192.168.200.200', daddr: '192.168.200.1', sport: 40000, dport: 30080, protocol: 6 };
    const tb = nodePortTupleCodec.encode(t);
    assert.equal(tb.readUInt16BE(10), 30080);
    assert.deepEqual(nodePortTupleCodec.decode(tb), t);
    const cv = { backendId: 7, snatPort: 33000, revNatIndex: 3, snat: true, dsr: false };
    assert.deepEqual(nodePortCtValueCodec.decode(nodePortCtValueCodec.encode(cv)), cv);
    const rv = { clientAddr: '192.168.200.200', frontendAddr: '192.168.200.1', clientPort: 40000, frontendPort: 30080, revNatIndex: 3, snat: false, dsr: true };
    assert.deepEqual(nodePortRevValueCodec.decode(nodePortRevValueCodec.encode(rv)), rv);
  });

  test('a bad node address or mode is refused naming the field', () => {
    for (const [c, field] of [[{ nodeIpv4: 'fd00::1', mode: 'snat' }, 'nodePort.nodeIpv4'], [{ nodeIpv4: '0.0.0.0', mode: 'snat' }, 'nodePort.nodeIpv4'], [{ nodeIpv4: '10.0.0.1', mode: 'maglev' }, 'nodePort.mode']] as const) {
      assert.throws(() => nodePortConfigCodec.encode(c as never), (e: unknown) => e instanceof DatapathInputError && e.field === field, JSON.stringify(c));
    }
  });
});
