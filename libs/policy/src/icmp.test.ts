import assert from 'node:assert/strict';
import { test } from 'node:test';
import { icmpTypeNumber, validateICMPRule } from './icmp.js';
import { IssueCollector } from './validation-error.js';

test('ICMP fields: numbers and names per family', () => {
  const c = new IssueCollector();
  const r = validateICMPRule({ fields: [{ type: 8 }, { type: 'EchoRequest', family: 'IPv6' }, { type: '0' }] }, 'i', c);
  assert.deepEqual(c.issues, []);
  assert.deepEqual(r!.fields!.map(icmpTypeNumber), [8, 128, 0]);
});

test('ICMP validation errors with paths', () => {
  const c = new IssueCollector();
  validateICMPRule({ fields: [{ type: 256 }, { type: 'Nope' }, { family: 'IPv5', type: 1 }, {}, { type: 'PacketTooBig' }], x: 1 }, 'i', c);
  assert.deepEqual(c.issues.map((i) => `${i.path}: ${i.message}`), [
    'i.x: unknown field "x" (allowed: fields)',
    'i.fields[0].type: 256 is not an ICMP type (0-255)',
    'i.fields[1].type: "Nope" is not a known ICMPv4 type name',
    'i.fields[2].family: string "IPv5" is not IPv4 or IPv6',
    'i.fields[3].type: is required (an ICMP type number 0-255 or name)',
    'i.fields[4].type: "PacketTooBig" is not a known ICMPv4 type name',
  ]);
});
