import { test } from 'node:test';
import { assertInvalid, assertMatches } from '../testing/filter-assertions.js';
import { portFilter } from './port.js';

test('port filter', () => {
  assertMatches(portFilter, { destinationPort: ['80', '53'] }, [
    ['tcp', { l4: { TCP: { sourcePort: 40000, destinationPort: 80 } } }, true],
    ['udp', { l4: { UDP: { sourcePort: 40000, destinationPort: 53 } } }, true],
    ['sctp', { l4: { SCTP: { sourcePort: 40000, destinationPort: 80 } } }, true],
    ['source port does not count', { l4: { TCP: { sourcePort: 80, destinationPort: 1 } } }, false],
    ['icmp never', { l4: { ICMPv4: { type: 8, code: 0 } } }, false],
  ]);
  assertInvalid(portFilter, { destinationPort: ['abc'] }, 'destination_port');
  assertInvalid(portFilter, { sourcePort: ['65536'] }, 'source_port');
});
