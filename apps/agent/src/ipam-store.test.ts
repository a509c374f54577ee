import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createLogger } from '@cilium-ts/process';
import { Ipv4Allocator } from './ipam.js';
import { Ipv6Allocator } from './ipam-v6.js';
import { IpamStateError, IpamStore } from './ipam-store.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const log = createLogger('ipam-store-test', { level: 'error' });

function store(content?: string): { dir: string; ipam: Ipv4Allocator; ipam6: Ipv6Allocator; s: IpamStore } {
  const dir = mkdtempSync(join(tmpdir(), 'cts-ipam-store-'));
  dirs.push(dir);
  if (content !== undefined) writeFileSync(join(dir, 'ipam.json'), content);
  const ipam = new Ipv4Allocator('10.1.0.0/24');
  const ipam6 = new Ipv6Allocator('fd00:1::/120');
  return { dir, ipam, ipam6, s: new IpamStore(dir, () => ({ ipam, ipam6 }), log) };
}

test('ipam store: saves both pools atomically (0600, no temporary file left) and loads them back', async () => {
  const a = store();
  a.ipam.allocate('c1', '10.1.0.7');
  a.ipam6.allocate('c1', 'fd00:1::7');
  await Promise.all([a.s.save(), a.s.save()]);
  assert.deepEqual(readdirSync(a.dir), ['ipam.json']);
  assert.equal(statSync(join(a.dir, 'ipam.json')).mode & 0o777, 0o600);
  const b = store(readFileSync(join(a.dir, 'ipam.json'), 'utf8'));
  await b.s.load();
  assert.equal(b.ipam.ownerOf('10.1.0.7'), 'c1');
  assert.equal(b.ipam6.ownerOf('fd00:1::7'), 'c1');
});

test('ipam store: no file is a first start; another pod CIDR\'s allocations are not restored', async () => {
  const a = store();
  await a.s.load();
  assert.equal(a.ipam.list().length, 0);
  assert.equal(existsSync(join(a.dir, 'ipam.json')), false);
  const b = store(JSON.stringify({ podCidr: '10.9.0.0/24', allocations: [{ ip: '10.9.0.5', owner: 'c1' }] }));
  await b.s.load();
  assert.equal(b.ipam.list().length, 0);
});

test('ipam store: a corrupt file stops the load with an IpamStateError naming the file and what is wrong', async () => {
  const cases: Array<[string, RegExp]> = [
    ['{"podCidr": "10.1.0.0/24", "allocations": [', /not valid JSON/],
    ['[]', /the top level is not an object/],
    [JSON.stringify({ podCidr: 24 }), /"podCidr" is not a string/],
    [JSON.stringify({ podCidr: '10.1.0.0/24', allocations: {} }), /"allocations" is not a list/],
    [JSON.stringify({ podCidr: '10.1.0.0/24', allocations: [{ ip: '10.1.0.5' }] }), /allocations\[0\] is not \{"ip": string, "owner": non-empty string\}/],
    [JSON.stringify({ podCidr: '10.1.0.0/24', allocations: [{ ip: '10.1.0.5', owner: 'a' }, { ip: 'ten', owner: 'b' }] }), /allocations\[1\]: "ten" is not an IPv4 address/],
    [JSON.stringify({ podCidr: '10.1.0.0/24', allocations: [{ ip: '10.1.0.5', owner: 'a' }, { ip: '10.1.0.5', owner: 'b' }] }), /allocations\[1\]: 10\.1\.0\.5 is already allocated to a/],
    [JSON.stringify({ podCidr: '10.1.0.0/24', podCidrV6: 'fd00:1::/120', allocationsV6: [{ ip: 'fd00:2::5', owner: 'a' }] }), /allocationsV6\[0\]: /],
  ];
  for (const [content, problem] of cases) {
    const a = store(content);
    await assert.rejects(a.s.load(), (err: unknown) => {
      assert.ok(err instanceof IpamStateError, String(err));
      assert.equal(err.file, join(a.dir, 'ipam.json'));
      assert.match(err.message, problem);
      assert.match(err.message, new RegExp(`^cannot restore the IPAM allocations from ${join(a.dir, 'ipam.json')}: .*remove it to start with no allocations`));
      return true;
    }, content);
  }
});
