// Flow UUIDs without a random draw and a retained string per flow: one random prefix per
// process (RFC 9562 version 8, "custom", with the RFC 4122 variant) followed by a 48-bit
// sequence number. Unique within a server for 2^48 flows; across servers and restarts the
// 74 random prefix bits keep collisions out of reach. The text is made only when a flow is
// encoded or built, so the ring keeps a number per flow, not a 36-character string.
import { randomBytes } from 'node:crypto';

/** `xxxxxxxx-xxxx-8xxx-Vxxx-` from 74 random bits (V = the variant nibble, 8 to b). */
function makePrefix(): string {
  const hex = randomBytes(10).toString('hex');
  const variant = (0x8 | (parseInt(hex[17]!, 16) & 0x3)).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(12, 15)}-${variant}${hex.slice(15, 17)}${hex[18]}-`;
}

const PREFIX = makePrefix();
let next = 0;

/** The next flow sequence number of this process. */
export function nextFlowSeq(): number {
  next = next >= 0xffffffffffff ? 1 : next + 1;
  return next;
}

/** The UUID text of flow sequence number `seq` (see the file comment). */
export function flowUuid(seq: number): string {
  return PREFIX + seq.toString(16).padStart(12, '0');
}
