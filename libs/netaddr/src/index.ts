// @cilium-ts/netaddr: IP addresses and CIDR prefixes, IPv4 and IPv6 — the one parser and
// formatter of address text, as bytes (ip-bytes.ts) or numbers with prefix math (prefix.ts).
// Pure: no dependencies.
export * from './ip-bytes.js';
export * from './prefix.js';
