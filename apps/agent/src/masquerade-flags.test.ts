import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MasqueradeFlagError, parseMasqueradeFlags } from './masquerade-flags.js';
import { masqueradeRules } from './masquerade.js';

test('parseMasqueradeFlags: off by default; --enable-ipv4-masquerade needs an IPv4 --ipv4-native-routing-cidr and --node-ip; BPF masquerading refused naming the flag', () => {
  assert.equal(parseMasqueradeFlags({}), undefined);
  assert.equal(parseMasqueradeFlags({ ipv4NativeRoutingCidr: '10.200.0.0/16' }), undefined);
  assert.deepEqual(parseMasqueradeFlags({ enableIpv4Masquerade: true, ipv4NativeRoutingCidr: '10.200.0.0/16', nodeIp: '192.168.200.1' }), { nativeRoutingCidr: '10.200.0.0/16' });
  const refused: Array<[object, RegExp]> = [
    [{ enableIpv4Masquerade: true, nodeIp: '192.168.200.1' }, /^--enable-ipv4-masquerade: needs --ipv4-native-routing-cidr/],
    [{ enableIpv4Masquerade: true, ipv4NativeRoutingCidr: '10.200.0.0/16' }, /^--enable-ipv4-masquerade: needs --node-ip/],
    [{ enableIpv4Masquerade: true, ipv4NativeRoutingCidr: '10.200.0.1/16', nodeIp: '192.168.200.1' }, /^--ipv4-native-routing-cidr: "10.200.0.1\/16" has host bits set/],
    [{ enableIpv4Masquerade: true, ipv4NativeRoutingCidr: 'ten', nodeIp: '192.168.200.1' }, /^--ipv4-native-routing-cidr: "ten" is not a valid CIDR/],
    [{ enableIpv4Masquerade: true, ipv4NativeRoutingCidr: 'fd00::/64', nodeIp: '192.168.200.1' }, /^--ipv4-native-routing-cidr: "fd00::\/64" is not an IPv4 CIDR/],
    [{ enableBpfMasquerade: true }, /^--enable-bpf-masquerade: BPF masquerading is not built yet/],
  ];
  for (const [f, msg] of refused) assert.throws(() => parseMasqueradeFlags(f), (e: Error) => e instanceof MasqueradeFlagError && msg.test(e.message), JSON.stringify(f));
});

test('masqueradeRules: the chain replaced with one MASQUERADE rule from the pod CIDR, not to the native routing CIDR, out of the device', () => {
  assert.equal(
    masqueradeRules({ podCidr: '10.200.1.0/24', nativeRoutingCidr: '10.200.0.0/16', device: 'node0' }),
    '*nat\n:CILIUM_POST_nat - [0:0]\n-A CILIUM_POST_nat -s 10.200.1.0/24 ! -d 10.200.0.0/16 -o node0 -m comment --comment "cilium masquerade non-cluster" -j MASQUERADE\nCOMMIT\n',
  );
});
