// A Docker endpoint's veth pair. Docker moves the interface a Join names (SrcName) from its
// own network namespace into the container's, so the pair is created where dockerd runs;
// the host side then moves into the node's namespace (when the agent runs in one) and gets
// what the agent's datapath expects of a pod's veth: up, proxy ARP and a /32 route.
import { execFile } from 'node:child_process';

/** An `ip` command that failed. */
export class IpCommandError extends Error {
  override readonly name = 'IpCommandError';
  readonly stderr: string;
  constructor(argv: readonly string[], stderr: string) {
    super(`${argv.join(' ')}: ${stderr.trim() || 'failed'}`);
    this.stderr = stderr;
  }
}

function exec(argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 30_000 }, (err, stdout, stderr) => (err ? reject(new IpCommandError(argv, stderr || err.message)) : resolve(stdout)));
  });
}

/** The names of an endpoint's pair: host side `dkr<id[:12]>`, container side `tmp<id[:12]>` until Docker renames it. */
export function vethNames(endpointId: string): { host: string; peer: string } {
  const short = endpointId.slice(0, 12);
  return { host: `dkr${short}`, peer: `tmp${short}` };
}

/** Runs `ip ARGS` in the node namespace (a name under /run/netns; '' = this one). */
function ipIn(nodeNetns: string, args: string[]): Promise<string> {
  return exec(nodeNetns ? ['ip', '-n', nodeNetns, ...args] : ['ip', ...args]);
}

/** Creates the pair for address ip; returns the names and the container side's MAC. Deletes what it made on failure. */
export async function createVeth(endpointId: string, ip: string, nodeNetns: string): Promise<{ host: string; peer: string; peerMac: string }> {
  const { host, peer } = vethNames(endpointId);
  await exec(['ip', 'link', 'add', 'name', host, 'type', 'veth', 'peer', 'name', peer]);
  try {
    if (nodeNetns) await exec(['ip', 'link', 'set', 'dev', host, 'netns', nodeNetns]);
    const sysctl = ['sysctl', '-qw', `net.ipv4.conf.${host}.proxy_arp=1`];
    await exec(nodeNetns ? ['ip', 'netns', 'exec', nodeNetns, ...sysctl] : sysctl);
    await ipIn(nodeNetns, ['link', 'set', 'dev', host, 'up']);
    await ipIn(nodeNetns, ['route', 'replace', `${ip}/32`, 'dev', host]);
    const info = JSON.parse(await exec(['ip', '-j', 'link', 'show', 'dev', peer])) as Array<{ address: string }>;
    return { host, peer, peerMac: info[0]?.address ?? '' };
  } catch (err) {
    await deleteVeth(endpointId, nodeNetns);
    throw err;
  }
}

/** Deletes the pair wherever its ends are (either end takes the other along); true if something was deleted. */
export async function deleteVeth(endpointId: string, nodeNetns: string): Promise<boolean> {
  const { host, peer } = vethNames(endpointId);
  for (const del of [() => ipIn(nodeNetns, ['link', 'del', 'dev', host]), () => exec(['ip', 'link', 'del', 'dev', host]), () => exec(['ip', 'link', 'del', 'dev', peer])]) {
    try {
      await del();
      return true;
    } catch (err) {
      if (!(err instanceof IpCommandError) || !/Cannot find device|does not exist/.test(err.stderr)) throw err;
    }
  }
  return false;
}
