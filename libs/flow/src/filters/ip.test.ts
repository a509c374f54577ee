import { test } from 'node:test';
import { assertInvalid, assertMatches } from '../testing/filter-assertions.js';
import { ipFilter } from './ip.js';

test('ip filter: exact and CIDR, source and destination', () => {
  const ip = (source: string, destination: string) => ({ IP: { source, destination } });
  assertMatches(ipFilter, { sourceIp: ['10.0.0.1', '10.1.0.0/16'] }, [
    ['exact', ip('10.0.0.1', '1.1.1.1'), true],
    ['in cidr', ip('10.1.200.3', '1.1.1.1'), true],
    ['outside', ip('10.2.0.1', '10.0.0.1'), false],
    ['no IP', {}, false],
  ]);
  assertMatches(ipFilter, { destinationIp: ['fd00::/64'] }, [
    ['v6 inside', ip('::1', 'fd00::5'), true],
    ['v6 outside', ip('::1', 'fd01::5'), false],
    ['v4 never in v6 prefix', ip('::1', '10.0.0.1'), false],
  ]);
});

test('ip filter: invalid values', () => {
  assertInvalid(ipFilter, { sourceIp: ['10.0.0.0/33'] }, 'source_ip');
  assertInvalid(ipFilter, { destinationIp: ['not-an-ip'] }, 'destination_ip');
});
