// The kube-proxy baseline of the service benchmark writes kube-proxy's own chain names and
// rule shapes (names checked against chains every kube-proxy cluster has).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { endpointChainName, kubeProxyNatRules, serviceChainName } from './testing/kube-proxy-rules.js';

test('chain names are kube-proxy\'s (base32 SHA-256 of the service port name and protocol)', () => {
  const dns = { namespace: 'kube-system', name: 'kube-dns', portName: 'dns-tcp', protocol: 'tcp' as const };
  assert.equal(serviceChainName(dns), 'KUBE-SVC-ERIFXISQEP7F7OF4');
  assert.equal(serviceChainName({ ...dns, portName: 'dns', protocol: 'udp' }), 'KUBE-SVC-TCOU7JCQXEZGVUNU');
  assert.equal(serviceChainName({ namespace: 'default', name: 'kubernetes', portName: 'https', protocol: 'tcp' }), 'KUBE-SVC-NPX46M4PTMTKRN6Y');
  assert.match(endpointChainName(dns, '10.244.0.2:53'), /^KUBE-SEP-[A-Z2-7]{16}$/);
  assert.notEqual(endpointChainName(dns, '10.244.0.2:53'), endpointChainName(dns, '10.244.0.3:53'));
});

test('a service of 4 endpoints: statistic probabilities 1/4, 1/3, 1/2, then the last unconditionally; DNAT per endpoint', () => {
  const svc = { namespace: 'default', name: 'web', portName: 'http', clusterIp: '10.96.0.10', port: 80, protocol: 'tcp' as const, endpoints: ['10.0.0.1:8080', '10.0.0.2:8080', '10.0.0.3:8080', '10.0.0.4:8080'] };
  const rules = kubeProxyNatRules([svc], '10.0.0.0/16').split('\n');
  const chain = serviceChainName(svc);
  const jumps = rules.filter((r) => r.startsWith(`-A ${chain} `) && r.includes('-j KUBE-SEP-'));
  assert.deepEqual(jumps.map((r) => /--probability (\S+)/.exec(r)?.[1]), ['0.25000000000', '0.33333333333', '0.50000000000', undefined]);
  assert.ok(rules.includes(`-A KUBE-SERVICES -d 10.96.0.10/32 -p tcp -m comment --comment "default/web:http cluster IP" -m tcp --dport 80 -j ${chain}`));
  assert.ok(rules.includes(`-A ${endpointChainName(svc, '10.0.0.3:8080')} -p tcp -m comment --comment "default/web:http" -m tcp -j DNAT --to-destination 10.0.0.3:8080`));
  assert.equal(rules[0], '*nat');
  assert.equal(rules.at(-2), 'COMMIT');
  assert.match(rules.filter((r) => r.startsWith('-A KUBE-SERVICES')).at(-1)!, /--dst-type LOCAL -j KUBE-NODEPORTS$/, 'the nodeports rule comes last');
});
