import { test } from 'node:test';
import { assertMatches } from '../testing/filter-assertions.js';
import { tcpFlagsFilter } from './tcp-flags.js';

test('tcp flags filter', () => {
  const tcp = (flags: Record<string, boolean>) => ({ l4: { TCP: { sourcePort: 1, destinationPort: 2, flags } } });
  assertMatches(tcpFlagsFilter, { tcpFlags: [{ SYN: true, ACK: true }, { RST: true }] }, [
    ['syn-ack', tcp({ SYN: true, ACK: true }), true],
    ['rst+ack', tcp({ RST: true, ACK: true }), true],
    ['syn only', tcp({ SYN: true }), false],
    ['udp', { l4: { UDP: { sourcePort: 1, destinationPort: 2 } } }, false],
  ]);
});
