// The CNI result of a successful ADD, in the shape of the requested cniVersion.
import { compareVersions } from './net-config.js';

/** One interface of the result. */
export interface ResultInterface {
  name: string;
  mac: string;
  sandbox?: string;
}

/** One IP of the result; `interface` indexes ResultInterface[]. */
export interface ResultIp {
  address: string;
  gateway: string;
  interface: number;
  /** Only for cniVersion < 1.0.0. */
  version?: '4' | '6';
}

/** The result object printed on stdout after ADD. */
export interface CniResult {
  cniVersion: string;
  interfaces: ResultInterface[];
  ips: ResultIp[];
  routes: Array<{ dst: string; gw?: string }>;
  dns: Record<string, never>;
}

/** What an ADD set up, for buildAddResult. */
export interface AddOutcome {
  hostIfname: string;
  hostMac: string;
  podIfname: string;
  podMac: string;
  netns: string;
  ip: string;
  gateway: string;
  /** The pod's IPv6 address and gateway, when dual-stack. */
  ipv6?: string;
  gateway6?: string;
}

/** Builds the result of an ADD: host veth (0) and pod interface (1), the pod's /32 (and /128) and default routes. */
export function buildAddResult(cniVersion: string, o: AddOutcome): CniResult {
  const legacy = compareVersions(cniVersion, '1.0.0') < 0;
  const ip: ResultIp = { address: `${o.ip}/32`, gateway: o.gateway, interface: 1 };
  if (legacy) ip.version = '4';
  const ips = [ip];
  const routes: CniResult['routes'] = [{ dst: '0.0.0.0/0', gw: o.gateway }];
  if (o.ipv6 && o.gateway6) {
    ips.push({ address: `${o.ipv6}/128`, gateway: o.gateway6, interface: 1, ...(legacy ? { version: '6' as const } : {}) });
    routes.push({ dst: '::/0', gw: o.gateway6 });
  }
  return {
    cniVersion,
    interfaces: [
      { name: o.hostIfname, mac: o.hostMac },
      { name: o.podIfname, mac: o.podMac, sandbox: o.netns },
    ],
    ips,
    routes,
    dns: {},
  };
}

/** The pod IPv4 address of a previous result (CHECK's prevResult), or undefined. */
export function prevResultIp(prevResult: unknown): string | undefined {
  if (typeof prevResult !== 'object' || prevResult === null) return undefined;
  const ips = (prevResult as { ips?: unknown }).ips;
  if (!Array.isArray(ips)) return undefined;
  for (const entry of ips) {
    const address = (entry as { address?: unknown }).address;
    if (typeof address === 'string' && address.includes('.')) return address.split('/')[0];
  }
  return undefined;
}

/** The pod IPv6 address and its gateway in a previous result (CHECK's prevResult), or undefined. */
export function prevResultIpv6(prevResult: unknown): { ip: string; gateway: string } | undefined {
  if (typeof prevResult !== 'object' || prevResult === null) return undefined;
  const ips = (prevResult as { ips?: unknown }).ips;
  if (!Array.isArray(ips)) return undefined;
  for (const entry of ips) {
    const { address, gateway } = entry as { address?: unknown; gateway?: unknown };
    if (typeof address === 'string' && address.includes(':') && typeof gateway === 'string') return { ip: address.split('/')[0]!, gateway };
  }
  return undefined;
}

/** The gateway of the first IP of a previous result, or undefined. */
export function prevResultGateway(prevResult: unknown): string | undefined {
  if (typeof prevResult !== 'object' || prevResult === null) return undefined;
  const ips = (prevResult as { ips?: unknown }).ips;
  if (!Array.isArray(ips)) return undefined;
  const gw = (ips[0] as { gateway?: unknown } | undefined)?.gateway;
  return typeof gw === 'string' ? gw : undefined;
}
