import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CidrPool, CidrPoolConfigError, CidrPoolExhaustedError } from './cidr-pool.js';

describe('CidrPool', () => {
  it('hands out the lowest free block per node and keeps it stable', () => {
    const pool = new CidrPool('10.200.0.0/16', 24);
    assert.equal(pool.capacity, 256);
    assert.equal(pool.allocate('a'), '10.200.0.0/24');
    assert.equal(pool.allocate('b'), '10.200.1.0/24');
    assert.equal(pool.allocate('a'), '10.200.0.0/24');
    assert.equal(pool.release('a'), '10.200.0.0/24');
    assert.equal(pool.allocate('c'), '10.200.0.0/24');
    assert.deepEqual([...pool.allocations()], [['b', '10.200.1.0/24'], ['c', '10.200.0.0/24']]);
  });

  it('honours blocks nodes already use and refuses conflicts', () => {
    const pool = new CidrPool('10.200.0.0/16', 24);
    assert.equal(pool.occupy('explicit', '10.200.0.0/24'), true);
    assert.equal(pool.occupy('other', '10.200.0.0/24'), false);
    assert.equal(pool.occupy('x', '10.201.0.0/24'), false, 'outside the pool');
    assert.equal(pool.occupy('x', '10.200.0.0/25'), false, 'wrong size');
    assert.equal(pool.allocate('new'), '10.200.1.0/24');
    assert.equal(pool.contains('10.200.255.0/24'), true);
    assert.equal(pool.contains('10.200.255.1/24'), false);
  });

  it('reports exhaustion and bad configuration clearly', () => {
    const pool = new CidrPool('192.168.0.0/30', 30);
    pool.allocate('a');
    assert.throws(() => pool.allocate('b'), CidrPoolExhaustedError);
    assert.throws(() => new CidrPool('10.200.0.1/16', 24), CidrPoolConfigError);
    assert.throws(() => new CidrPool('10.200.0.0/16', 8), /between the pool's \/16 and \/30/);
    assert.throws(() => new CidrPool('nope', 24), CidrPoolConfigError);
    assert.equal(new CidrPool('0.0.0.0/0', 24).capacity, 2 ** 24);
    assert.equal(new CidrPool('10.0.0.0/8', 24).allocate('n'), '10.0.0.0/24');
  });

  it('cuts an IPv6 pool into per-node blocks the same way', () => {
    const pool = new CidrPool('fd00:10:200::/104', 120);
    assert.equal(pool.capacity, 65536);
    assert.equal(pool.allocate('a'), 'fd00:10:200::/120');
    assert.equal(pool.allocate('b'), 'fd00:10:200::100/120');
    assert.equal(pool.occupy('c', 'fd00:10:200::ff00/120'), true);
    assert.equal(pool.occupy('d', 'FD00:10:200::FF00/120'), false, 'held by c');
    assert.equal(pool.occupy('d', 'fd00:10:201::/120'), false, 'outside the pool');
    assert.equal(pool.occupy('d', '10.200.0.0/24'), false, 'other family');
    assert.equal(pool.contains('fd00:10:200:0:0:0:ff:ff00/120'), true);
    assert.equal(pool.release('a'), 'fd00:10:200::/120');
    assert.equal(pool.allocate('e'), 'fd00:10:200::/120');
    assert.throws(() => new CidrPool('fd00::/104', 127), /between the pool's \/104 and \/126/);
    assert.throws(() => new CidrPool('fd00::/48', 56), /between \/64 and \/126/);
    const small = new CidrPool('fd00::/125', 126);
    small.allocate('x');
    small.allocate('y');
    assert.throws(() => small.allocate('z'), (e: unknown) => e instanceof CidrPoolExhaustedError && /--cluster-pool-ipv6-cidr/.test(e.message));
  });
});
