// The node namespace's side of the transparent redirect (run inside the node's network
// namespace, never the host's): packets the datapath marked for proxy port P
// (0x0200 | P << 16) are routed locally (ip rule fwmark 0x200/0xf00 -> table 2004, a
// local default route) and handed by TPROXY to the listener of P, which keeps the
// original destination as the accepted socket's local address.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { MARK_MAGIC_MASK, MARK_MAGIC_TO_PROXY, toProxyMark } from '@cilium-ts/bpf';
import { proxyListener } from '@cilium-ts/policy';

/** The routing table of marked packets (as Cilium's). */
export const PROXY_ROUTE_TABLE = 2004;
const RULE_PREF = 9000;

/** A command of the TPROXY set-up failed. */
export class TproxySetupError extends Error {
  constructor(readonly command: string, readonly stderr: string) {
    super(`${command} failed: ${stderr.trim() || 'no output'}`);
    this.name = 'TproxySetupError';
  }
}

function run(argv: string[]): string {
  try {
    return execFileSync(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  } catch (err) {
    throw new TproxySetupError(argv.join(' '), String((err as { stderr?: unknown }).stderr ?? (err as Error).message));
  }
}

const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;

/** The iptables arguments (after `-t mangle -X PREROUTING`) of the TPROXY rule of one listener and protocol. */
export function tproxyRule(proxyPort: number, onIp: string, protocol: 'tcp' | 'udp' = 'tcp'): string[] {
  return ['-p', protocol, '-m', 'mark', '--mark', `${hex(toProxyMark(proxyPort))}/${hex(0xffff0000 | MARK_MAGIC_MASK)}`, '-m', 'comment', '--comment', `cilium-ts proxy ${proxyPort}`,
    '-j', 'TPROXY', '--on-port', String(proxyPort), '--on-ip', onIp];
}

/** The address families TPROXY serves for a listener bound to `host`, each with the address its rule hands packets to. */
export function tproxyFamilies(host: string): Array<{ family: 4 | 6; onIp: string }> {
  // A listener on :: is dual-stack (IPV6_TRANSPARENT covers both): both families, each to its loopback.
  if (host === '::') return [{ family: 4, onIp: '127.0.0.1' }, { family: 6, onIp: '::1' }];
  return [{ family: host.includes(':') ? 6 : 4, onIp: host }];
}

/**
 * Installs (idempotently) the policy route and one TPROXY rule per listener port in the
 * current network namespace, for each family the listener host serves (IPv4 with an IPv4
 * host; IPv4 and IPv6 with ::). Throws TproxySetupError naming the failing command.
 */
export function installTproxy(ports: readonly number[], host = '127.0.0.1'): void {
  disableEarlyDemux();
  const fwmark = `${hex(MARK_MAGIC_TO_PROXY)}/${hex(MARK_MAGIC_MASK)}`;
  for (const { family, onIp } of tproxyFamilies(host)) {
    const ip = ['ip', `-${family}`];
    const tables = family === 6 ? 'ip6tables' : 'iptables';
    if (!run([...ip, 'rule', 'show', 'pref', String(RULE_PREF)]).includes(`lookup ${PROXY_ROUTE_TABLE}`)) {
      run([...ip, 'rule', 'add', 'pref', String(RULE_PREF), 'fwmark', fwmark, 'lookup', String(PROXY_ROUTE_TABLE)]);
    }
    run([...ip, 'route', 'replace', 'local', family === 6 ? '::/0' : '0.0.0.0/0', 'dev', 'lo', 'table', String(PROXY_ROUTE_TABLE)]);
    for (const p of ports) {
      // DNS listeners take UDP and TCP; the others TCP.
      for (const protocol of proxyListener(p)?.parser === 'dns' ? (['udp', 'tcp'] as const) : (['tcp'] as const)) {
        const rule = tproxyRule(p, onIp, protocol);
        if (!checkRule(tables, rule)) run([tables, '-w', '-t', 'mangle', '-A', 'PREROUTING', ...rule]);
      }
    }
  }
}

/**
 * Turns IP early demux off in this namespace (IPv4 and IPv6 TCP/UDP). With it on, a
 * packet of a proxied connection that the stack has not yet handed to the datapath (an
 * ACK from another node, on its way to the pod's veth, where the datapath would mark it for
 * the proxy) is matched to the proxy's socket for that 4-tuple before routing, and then
 * dropped by forwarding (a forwarded packet must not carry a socket). Cilium turns it off
 * for the same reason.
 */
export function disableEarlyDemux(): void {
  try {
    writeFileSync('/proc/sys/net/ipv4/ip_early_demux', '0');
  } catch (err) {
    throw new TproxySetupError('sysctl -w net.ipv4.ip_early_demux=0', (err as Error).message);
  }
}

function checkRule(tables: string, rule: string[]): boolean {
  try {
    execFileSync(tables, ['-w', '-t', 'mangle', '-C', 'PREROUTING', ...rule], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
