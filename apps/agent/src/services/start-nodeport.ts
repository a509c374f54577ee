/**
 * Wiring of NodePort per packet (libs/bpf's NodePortLb, bpf/nodeport.c): with
 * --enable-node-port, from-netdev / to-netdev on the node device (--devices, else the
 * device holding --node-ip) and the node's address as the NodePort address and SNAT
 * source; without it, the settings say off, so programs left attached by an earlier run
 * pass everything.
 */
import { existsSync } from 'node:fs';
import { NodePortLb } from '@cilium-ts/bpf';
import type { Logger } from '@cilium-ts/process';
import type { NodeNetns } from '../netns.js';
import type { NodePortSettings } from './lb-flags.js';

/** A NodePort device that cannot be used. */
export class NodePortDeviceError extends Error {
  override readonly name = 'NodePortDeviceError';
}

/** The device holding ip in the node namespace, from `ip -j -4 addr show`. */
export async function deviceWithAddress(netns: NodeNetns, ip: string): Promise<string | undefined> {
  const out = await netns.exec(['ip', '-j', '-4', 'addr', 'show']);
  const links = JSON.parse(out || '[]') as Array<{ ifname: string; addr_info?: Array<{ local?: string }> }>;
  return links.find((l) => l.addr_info?.some((a) => a.local === ip))?.ifname;
}

/** Attaches NodePort to the node device and writes its settings, or turns it off. */
export async function startNodePort(cfg: { bpfPinDir: string; nodeIp: string; nodePort?: NodePortSettings }, netns: NodeNetns, log: Logger): Promise<NodePortLb | undefined> {
  const lb = new NodePortLb(cfg.bpfPinDir);
  if (!cfg.nodePort) {
    if (existsSync(`${cfg.bpfPinDir}/nodeport_config`)) lb.setConfig(undefined);
    return undefined;
  }
  const device = cfg.nodePort.device ?? (await deviceWithAddress(netns, cfg.nodeIp));
  if (!device) throw new NodePortDeviceError(`--enable-node-port: no device in the node namespace holds --node-ip ${cfg.nodeIp}; give it with --devices`);
  if (!(await netns.link(device))) throw new NodePortDeviceError(`--devices: ${device} does not exist in the node namespace`);
  const { reattached } = await lb.attach({ ifname: device, netns: netns.path });
  lb.setConfig({ nodeIpv4: cfg.nodeIp, mode: cfg.nodePort.mode });
  log.info(reattached ? 'NodePort attached' : 'NodePort programs current, kept attached', { subsys: 'service', device, address: cfg.nodeIp, mode: cfg.nodePort.mode });
  return lb;
}
