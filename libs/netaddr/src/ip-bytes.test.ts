import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cidrContains, formatIPv6, parseCidr, parseIP } from './ip-bytes.js';

test('parseIP / formatIPv6 round trip in Go canonical form', () => {
  const rows: [string, string][] = [
    ['fd00::1', 'fd00::1'],
    ['FD00:0:0:0:0:0:0:1', 'fd00::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['::', '::'],
    ['::ffff:10.0.0.1', '10.0.0.1'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['1:0:3:4:5:6:7:8', '1:0:3:4:5:6:7:8'],
  ];
  for (const [input, want] of rows) {
    const b = parseIP(input);
    assert.ok(b, input);
    assert.equal(formatIPv6(b), want, input);
  }
  assert.deepEqual([...parseIP('0.0.0.0')!], [0, 0, 0, 0]);
  assert.deepEqual([...parseIP('10.200.0.255')!], [10, 200, 0, 255]);
  for (const bad of ['1.2.3.4.5', '1..2.3', '1.2.3.', '.1.2.3', '1.2.3.4a', '1000.1.1.1', '1.2.3', '256.1.1.1', '01.1.1.1', '1::2::3', 'g::1', '1:2:3:4:5:6:7:8:9', '']) {
    assert.equal(parseIP(bad), undefined, bad);
  }
});

test('parseCidr / cidrContains', () => {
  const c = parseCidr('10.1.0.0/16')!;
  assert.ok(cidrContains(c, parseIP('10.1.255.1')!));
  assert.ok(!cidrContains(c, parseIP('10.2.0.1')!));
  assert.ok(cidrContains(c, parseIP('::ffff:10.1.0.1')!));
  assert.ok(cidrContains(parseCidr('0.0.0.0/0')!, parseIP('8.8.8.8')!));
  assert.ok(cidrContains(parseCidr('fd00::/63')!, parseIP('fd00:0:0:1::1')!));
  assert.ok(!cidrContains(parseCidr('fd00::/64')!, parseIP('fd00:0:0:1::1')!));
  assert.equal(parseCidr('10.0.0.0/33'), undefined);
  assert.equal(parseCidr('10.0.0.0'), undefined);
});
