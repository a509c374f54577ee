/**
 * Masquerading of pod traffic that leaves the cluster, as Cilium's --enable-ipv4-masquerade
 * in its iptables mode (the CILIUM_POST_nat chain): in the node namespace, a connection
 * from this node's pod CIDR to an address outside --ipv4-native-routing-cidr (the range
 * routed without NAT: the cluster's pod CIDRs) that leaves through the node device gets the
 * node device's address; the kernel's MASQUERADE picks the port and translates the replies
 * back. The rules live in the node namespace only, written with iptables-restore --noflush
 * (the chain replaced in one transaction), so that an agent restart leaves one copy.
 * BPF masquerading (--enable-bpf-masquerade) is not built yet.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '@cilium-ts/process';
import type { NodeNetns } from './netns.js';
import { MasqueradeFlagError, type MasqueradeSettings } from './masquerade-flags.js';
import { deviceWithAddress } from './services/start-nodeport.js';

/** The nat chain holding the masquerade rule, jumped to from POSTROUTING. */
export const MASQUERADE_CHAIN = 'CILIUM_POST_nat';

/** What to masquerade: this node's pod CIDR, the range never masqueraded, the device. */
export interface MasqueradeRule { podCidr: string; nativeRoutingCidr: string; device: string }

/** The iptables-restore input (nat table) of rule: the chain replaced, nothing else touched. */
export function masqueradeRules(rule: MasqueradeRule): string {
  return [
    '*nat',
    `:${MASQUERADE_CHAIN} - [0:0]`,
    `-A ${MASQUERADE_CHAIN} -s ${rule.podCidr} ! -d ${rule.nativeRoutingCidr} -o ${rule.device} -m comment --comment "cilium masquerade non-cluster" -j MASQUERADE`,
    'COMMIT',
    '',
  ].join('\n');
}

/** Installs (or replaces) the masquerade rule in netns, which must be the node's namespace. */
export async function applyMasquerade(netns: NodeNetns, rule: MasqueradeRule): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cts-masq-'));
  try {
    const file = join(dir, 'rules');
    writeFileSync(file, masqueradeRules(rule));
    await netns.exec(['iptables-restore', '-w', '--noflush', file]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (!(await hasJump(netns))) await netns.exec(['iptables', '-w', ...JUMP('-A')]);
}

const JUMP = (op: '-A' | '-D'): string[] => ['-t', 'nat', op, 'POSTROUTING', '-j', MASQUERADE_CHAIN];

/** The nat table as iptables-save prints it (which creates no table when there is none); allowFail: '' when iptables cannot run. */
async function natRules(netns: NodeNetns, opts: { allowFail?: boolean } = {}): Promise<string> {
  return netns.exec(['iptables-save', '-t', 'nat'], opts);
}

/** True when POSTROUTING jumps to the chain. */
async function hasJump(netns: NodeNetns): Promise<boolean> {
  return (await natRules(netns)).split('\n').some((l) => l === `-A POSTROUTING -j ${MASQUERADE_CHAIN}`);
}

/**
 * Removes the jump and the chain from netns (an earlier run's, masquerading now off);
 * nothing when they are not there, or when iptables cannot run (then no run of ours wrote
 * them): an agent without masquerading needs no iptables.
 */
export async function removeMasquerade(netns: NodeNetns): Promise<void> {
  if (!(await natRules(netns, { allowFail: true })).includes(MASQUERADE_CHAIN)) return;
  for (let i = 0; i < 8 && (await hasJump(netns)); i++) await netns.exec(['iptables', '-w', ...JUMP('-D')]);
  await netns.exec(['iptables', '-w', '-t', 'nat', '-F', MASQUERADE_CHAIN], { allowFail: true });
  await netns.exec(['iptables', '-w', '-t', 'nat', '-X', MASQUERADE_CHAIN], { allowFail: true });
}

/** The agent's hook: masquerades with settings (the node's pod CIDR, the device holding the node address), or removes an earlier run's rules. */
export async function startMasquerade(
  cfg: { nodeIp: string; masquerade?: MasqueradeSettings; podCidr: string | undefined },
  netns: NodeNetns,
  log: Logger,
): Promise<void> {
  if (!cfg.masquerade) {
    await removeMasquerade(netns);
    return;
  }
  const device = cfg.masquerade.device ?? (await deviceWithAddress(netns, cfg.nodeIp));
  if (!device) throw new MasqueradeFlagError(`--enable-ipv4-masquerade: no device in the node namespace holds --node-ip ${cfg.nodeIp}`);
  if (!cfg.podCidr) throw new MasqueradeFlagError('--enable-ipv4-masquerade: this node has no IPv4 pod CIDR');
  const rule = { podCidr: cfg.podCidr, nativeRoutingCidr: cfg.masquerade.nativeRoutingCidr, device };
  await applyMasquerade(netns, rule);
  log.info('masquerading pod traffic that leaves the cluster', { subsys: 'masquerade', ...rule });
}
