import { test } from 'node:test';
import { flow } from '@cilium-ts/api';
import { assertMatches } from '../testing/filter-assertions.js';
import { ipVersionFilter } from './ip-version.js';

test('ip version filter', () => {
  assertMatches(ipVersionFilter, { ipVersion: [flow.IPVersion.IPv6, flow.IPVersion.IP_NOT_USED] }, [
    ['v6', { IP: { source: '::1', destination: '::2', ipVersion: flow.IPVersion.IPv6 } }, true],
    ['no IP', {}, true],
    ['v4', { IP: { source: '1.1.1.1', destination: '2.2.2.2', ipVersion: flow.IPVersion.IPv4 } }, false],
  ]);
});
