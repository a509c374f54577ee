import { test } from 'node:test';
import { assertInvalid, assertMatches } from '../testing/filter-assertions.js';
import { protocolFilter } from './protocol.js';

test('protocol filter', () => {
  const tcp = { l4: { TCP: { sourcePort: 1, destinationPort: 2 } } };
  const icmp6 = { l4: { ICMPv6: { type: 128, code: 0 } } };
  assertMatches(protocolFilter, { protocol: ['TCP', 'icmp'] }, [
    ['tcp', tcp, true],
    ['icmpv6 is icmp', icmp6, true],
    ['udp', { l4: { UDP: { sourcePort: 1, destinationPort: 2 } } }, false],
  ]);
  assertMatches(protocolFilter, { protocol: ['sctp'] }, [
    ['sctp', { l4: { SCTP: { sourcePort: 1, destinationPort: 2 } } }, true],
    ['tcp is not sctp', tcp, false],
  ]);
  assertMatches(protocolFilter, { protocol: ['dns'] }, [
    ['dns record', { l7: { dns: { query: 'x.' } } }, true],
    ['no l7', tcp, false],
  ]);
  assertInvalid(protocolFilter, { protocol: ['quic'] }, 'protocol');
});
