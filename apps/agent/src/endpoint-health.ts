/**
 * An endpoint's health as `cilium endpoint health ID` shows it, checked against the
 * kernel now: its programs are pinned and the ones attached on its host interface, its
 * policy map holds the policy the repository computes for its labels (keys and verdicts;
 * L7 redirects are the proxy's business), and its host interface exists.
 */
import type { Datapath, EndpointProgram } from '@cilium-ts/bpf';
import type { EndpointPolicy } from './deps.js';
import type { Endpoint } from './endpoint-manager.js';

/** The checks' outcome: "OK" or what is wrong, per check. */
export interface EndpointHealthReport {
  overall: string;
  bpf: string;
  policy: string;
  connected: boolean;
}

/** What the checks read. */
export interface EndpointHealthDeps {
  datapath: Pick<Datapath, 'attachedProgramIds' | 'pinnedProgram' | 'policyList' | 'enforcement'>;
  /** The host interface in the node namespace, undefined when gone. */
  link(name: string): Promise<{ ifindex: number } | undefined>;
  /** The endpoint's policy as the repository computes it now. */
  compute(labels: string[]): EndpointPolicy;
  /** The node namespace path given to the datapath. */
  netns?: string;
}

const entryKey = (e: { direction: string; identity: number; protocol: number; port: number; deny: boolean }): string =>
  `${e.direction} identity ${e.identity} ${e.port || 'any'}/${e.protocol || 'any'}${e.deny ? ' deny' : ''}`;

/** Expands port ranges to one key per port, as the map holds them. */
function expand(entries: EndpointPolicy['entries']): Set<string> {
  const out = new Set<string>();
  for (const e of entries) {
    const end = e.endPort && e.endPort > e.port ? e.endPort : e.port;
    for (let p = e.port; p <= end; p++) out.add(entryKey({ ...e, port: p }));
  }
  return out;
}

async function bpfHealth(ep: Endpoint, d: EndpointHealthDeps): Promise<string> {
  const problems: string[] = [];
  const attached = await d.datapath.attachedProgramIds({ id: ep.id, hostIfname: ep.hostIfname, netns: d.netns });
  for (const [hook, program] of [['ingress', 'from-container'], ['egress', 'to-container']] as Array<['ingress' | 'egress', EndpointProgram]>) {
    const pinned = d.datapath.pinnedProgram(ep.id, program);
    const id = attached[hook];
    if (!pinned) problems.push(`${program} is not pinned`);
    else if (id === undefined) problems.push(`no program attached at ${ep.hostIfname} ${hook} (${program} expected)`);
    else if (id !== pinned.id) problems.push(`${ep.hostIfname} ${hook} runs program ${id}, not the pinned ${program} (${pinned.id})`);
  }
  return problems.length === 0 ? 'OK' : problems.join('; ');
}

function policyHealth(ep: Endpoint, d: EndpointHealthDeps): string {
  const want = d.compute(ep.labels);
  const problems: string[] = [];
  const enforced = d.datapath.enforcement(ep.id);
  if (enforced.ingress !== want.ingressEnforced) problems.push(`ingress enforcement is ${enforced.ingress ? 'on' : 'off'} in the datapath, ${want.ingressEnforced ? 'on' : 'off'} in the policy`);
  if (enforced.egress !== want.egressEnforced) problems.push(`egress enforcement is ${enforced.egress ? 'on' : 'off'} in the datapath, ${want.egressEnforced ? 'on' : 'off'} in the policy`);
  const have = new Set(d.datapath.policyList(ep.id).map(entryKey));
  const wanted = expand(want.entries);
  const missing = [...wanted].filter((k) => !have.has(k));
  const extra = [...have].filter((k) => !wanted.has(k));
  if (missing.length > 0) problems.push(`${missing.length} policy map entr${missing.length === 1 ? 'y' : 'ies'} missing (e.g. ${missing[0]})`);
  if (extra.length > 0) problems.push(`${extra.length} policy map entr${extra.length === 1 ? 'y' : 'ies'} the policy does not have (e.g. ${extra[0]})`);
  return problems.length === 0 ? 'OK' : problems.join('; ');
}

/** Checks one endpoint now. */
export async function endpointHealth(ep: Endpoint, d: EndpointHealthDeps): Promise<EndpointHealthReport> {
  const connected = (await d.link(ep.hostIfname)) !== undefined;
  const bpf = await bpfHealth(ep, d).catch((err: Error) => `cannot read the programs: ${err.message}`);
  let policy: string;
  try {
    policy = policyHealth(ep, d);
  } catch (err) {
    policy = `cannot read the policy map: ${(err as Error).message}`;
  }
  const overall = bpf === 'OK' && policy === 'OK' && connected ? 'OK' : 'Failure';
  return { overall, bpf, policy, connected };
}
