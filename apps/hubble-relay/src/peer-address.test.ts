import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backoff } from './backoff.js';
import { InvalidPeerAddressError, toDialTarget, toListenTarget } from './peer-address.js';

describe('toDialTarget', () => {
  it('adds port 4244 to bare IPs and keeps explicit forms', () => {
    assert.equal(toDialTarget('10.0.0.1'), '10.0.0.1:4244');
    assert.equal(toDialTarget('fd00::1'), '[fd00::1]:4244');
    assert.equal(toDialTarget('10.0.0.1:4300'), '10.0.0.1:4300');
    assert.equal(toDialTarget('[fd00::1]:4300'), '[fd00::1]:4300');
    assert.equal(toDialTarget('node-1.example:4244'), 'node-1.example:4244');
    assert.equal(toDialTarget('node-1'), 'node-1:4244');
    assert.equal(toDialTarget('unix:///var/run/cilium/hubble.sock'), 'unix:///var/run/cilium/hubble.sock');
    assert.equal(toDialTarget('/var/run/hubble.sock'), 'unix:///var/run/hubble.sock');
  });

  it('rejects empty addresses and bad ports', () => {
    assert.throws(() => toDialTarget(''), InvalidPeerAddressError);
    assert.throws(() => toDialTarget('host:99999'), /not a port number/);
    assert.throws(() => toDialTarget('[nope]:1'), InvalidPeerAddressError);
  });

  it('turns :port into a wildcard listen address', () => {
    assert.equal(toListenTarget(':4245'), '0.0.0.0:4245');
    assert.equal(toListenTarget('127.0.0.1'), '127.0.0.1:4245');
  });
});

describe('Backoff', () => {
  it('grows exponentially up to the maximum and resets', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0 });
    assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next()], [100, 200, 400, 800, 1000]);
    b.reset();
    assert.equal(b.next(), 100);
  });

  it('keeps jittered delays within the spread', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0.5 }, () => 0);
    assert.equal(b.next(), 50);
  });
});
