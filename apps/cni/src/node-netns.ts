// Running the plugin inside the node's network namespace when the runtime runs it
// elsewhere: podman executes CNI plugins in the machine's own namespace, while the host
// side of a pod's veth (and the agent's view of it) belongs in the node namespace named by
// the config's `node-netns`. The plugin then runs itself again through
// `nsenter --net=<node-netns>`, with the same environment and stdin, and passes on its
// stdout and exit code.
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { CniError, CniErrorCode } from './cni-error.js';

/** Set in the environment of the re-executed plugin, so that it never re-executes again. */
const REEXEC_MARK = 'CILIUM_CNI_IN_NODE_NETNS';

/** True when `netns` (a namespace file path) is the namespace this process runs in. */
export function inNetns(netns: string): boolean {
  let target;
  try {
    target = statSync(netns);
  } catch (err) {
    throw new CniError(CniErrorCode.InvalidNetworkConfig, `network config: node-netns: ${netns} cannot be opened: ${(err as Error).message}`, 'node-netns must name an existing network namespace', {
      cause: err,
    });
  }
  const own = statSync('/proc/self/ns/net');
  return own.ino === target.ino && own.dev === target.dev;
}

/**
 * Runs this plugin again inside `netns` when it is not already there; returns the exit code
 * of that run (its stdout has been written), or undefined when this process should go on.
 */
export function reexecInNodeNetns(netns: string, stdin: string): number | undefined {
  if (netns === '' || inNetns(netns)) return undefined;
  if (process.env[REEXEC_MARK] === '1') {
    throw new CniError(CniErrorCode.Internal, `could not enter the node namespace ${netns}: still outside it after nsenter`);
  }
  const argv = [`--net=${netns}`, process.execPath, ...process.execArgv, process.argv[1]!];
  const r = spawnSync('nsenter', argv, { input: stdin, env: { ...process.env, [REEXEC_MARK]: '1' }, stdio: ['pipe', 'inherit', 'inherit'] });
  if (r.error) throw new CniError(CniErrorCode.Internal, `nsenter ${argv.join(' ')}: ${r.error.message}`);
  return r.status ?? 1;
}
