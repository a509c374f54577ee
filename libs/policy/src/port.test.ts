import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isNamedPort, namedPortProblem, validatePortRule } from './port.js';
import { IssueCollector } from './validation-error.js';

function check(raw: unknown): { value: unknown; issues: string[] } {
  const c = new IssueCollector();
  const value = validatePortRule(raw, 'p', c);
  return { value, issues: c.issues.map((i) => `${i.path}: ${i.message}`) };
}

test('valid ports normalize to strings and upper-case protocols', () => {
  assert.deepEqual(check({ ports: [{ port: 80, protocol: 'tcp' }, { port: '53', protocol: 'UDP' }, { port: 'http' }, { port: 1000, endPort: 2000 }, { protocol: 'ANY' }] }), {
    value: { ports: [{ port: '80', protocol: 'TCP' }, { port: '53', protocol: 'UDP' }, { port: 'http' }, { port: '1000', endPort: 2000 }, { protocol: 'ANY' }] },
    issues: [],
  });
  assert.deepEqual(check({ ports: [{ port: 80, endPort: 80 }] }).value, { ports: [{ port: '80' }] });
});

test('invalid ports are reported with paths', () => {
  assert.deepEqual(check({ ports: [{ port: '80x' }, { port: 70000 }, { port: '65536' }, { port: 'HTTP' }, { port: true }, { port: 1.5 }] }).issues, [
    'p.ports[0].port: "80x" is not a port number',
    'p.ports[1].port: 70000 is not a port number (1-65535)',
    'p.ports[2].port: "65536" is not a port number (1-65535)',
    'p.ports[3].port: "HTTP" is not a port number (1-65535) or a valid port name (lowercase letters, digits and \'-\', at most 15 characters, with a letter)',
    'p.ports[4].port: must be a port number or name, got boolean true',
    'p.ports[5].port: 1.5 is not a port number (1-65535)',
  ]);
  assert.deepEqual(check({ ports: [{ port: 443, endPort: 80 }, { port: 'http', endPort: 90 }, { endPort: 70000 }, { protocol: 'ICMP' }] }).issues, [
    'p.ports[0].endPort: 80 is lower than port 443; endPort must be >= port',
    'p.ports[1].endPort: requires a non-zero numeric port to start the range',
    'p.ports[2].endPort: number 70000 is not a port number (1-65535)',
    'p.ports[3].protocol: string "ICMP" is not a protocol (TCP, UDP, SCTP or ANY)',
  ]);
  assert.deepEqual(check({ ports: [{ port: 80 }], rules: { http: [] }, listener: {}, x: 1 }).issues, [
    'p.listener: field "listener" is not supported by this version of cilium-ts',
    'p.x: unknown field "x" (allowed: ports, rules)',
  ]);
  assert.deepEqual(check('80').issues, ['p: must be an object {ports: [...]}, got string "80"']);
});

test('named port syntax', () => {
  assert.equal(namedPortProblem('http'), undefined);
  assert.equal(namedPortProblem('grpc-web'), undefined);
  assert.notEqual(namedPortProblem('a--b'), undefined);
  assert.notEqual(namedPortProblem('-http'), undefined);
  assert.notEqual(namedPortProblem('a'.repeat(16)), undefined);
  assert.equal(isNamedPort('http'), true);
  assert.equal(isNamedPort('80'), false);
});
