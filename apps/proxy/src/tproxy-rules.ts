// The node namespace's side of the transparent redirect (run inside the node's network
// namespace, never the host's): packets the datapath marked for proxy port P
// (0x0200 | P << 16) are routed locally (ip rule fwmark 0x200/0xf00 -> table 2004, a
// local default route) and handed by TPROXY to the listener of P, which keeps the
// original destination as the accepted socket's local address.
import { execFileSync } from 'node:child_process';
import { MARK_MAGIC_MASK, MARK_MAGIC_TO_PROXY, toProxyMark } from '@cilium-ts/bpf';

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

/** The iptables arguments (after `-t mangle -X PREROUTING`) of the TPROXY rule of one listener. */
export function tproxyRule(proxyPort: number, onIp: string): string[] {
  return ['-p', 'tcp', '-m', 'mark', '--mark', `${hex(toProxyMark(proxyPort))}/${hex(0xffff0000 | MARK_MAGIC_MASK)}`, '-m', 'comment', '--comment', `cilium-ts proxy ${proxyPort}`,
    '-j', 'TPROXY', '--on-port', String(proxyPort), '--on-ip', onIp];
}

/**
 * Installs (idempotently) the policy route and one TPROXY rule per listener port in the
 * current network namespace (IPv4). Throws TproxySetupError naming the failing command.
 */
export function installTproxy(ports: readonly number[], onIp = '127.0.0.1'): void {
  const fwmark = `${hex(MARK_MAGIC_TO_PROXY)}/${hex(MARK_MAGIC_MASK)}`;
  if (!run(['ip', 'rule', 'show', 'pref', String(RULE_PREF)]).includes(`lookup ${PROXY_ROUTE_TABLE}`)) {
    run(['ip', 'rule', 'add', 'pref', String(RULE_PREF), 'fwmark', fwmark, 'lookup', String(PROXY_ROUTE_TABLE)]);
  }
  run(['ip', 'route', 'replace', 'local', '0.0.0.0/0', 'dev', 'lo', 'table', String(PROXY_ROUTE_TABLE)]);
  for (const p of ports) {
    const rule = tproxyRule(p, onIp);
    if (!checkRule(rule)) run(['iptables', '-w', '-t', 'mangle', '-A', 'PREROUTING', ...rule]);
  }
}

function checkRule(rule: string[]): boolean {
  try {
    execFileSync('iptables', ['-w', '-t', 'mangle', '-C', 'PREROUTING', ...rule], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
