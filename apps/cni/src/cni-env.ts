// Parsing and validation of the CNI environment variables (CNI spec 1.1, "Parameters").
import { CniError, CniErrorCode } from './cni-error.js';

/** The CNI commands this plugin implements. */
export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION' | 'STATUS' | 'GC';

const COMMANDS: readonly CniCommand[] = ['ADD', 'DEL', 'CHECK', 'VERSION', 'STATUS', 'GC'];

/** Keys of CNI_ARGS this plugin understands (Kubernetes runtimes set them). */
const KNOWN_ARGS = new Set(['IgnoreUnknown', 'K8S_POD_NAME', 'K8S_POD_NAMESPACE', 'K8S_POD_INFRA_CONTAINER_ID', 'K8S_POD_UID']);

/** The validated CNI environment of one invocation. */
export interface CniEnv {
  command: CniCommand;
  /** CNI_CONTAINERID; empty for VERSION, STATUS and GC. */
  containerId: string;
  /** CNI_NETNS; may be empty for DEL. */
  netns: string;
  /** CNI_IFNAME; empty for VERSION, STATUS and GC. */
  ifname: string;
  /** CNI_PATH split on ':'; informative only (this plugin delegates to nothing). */
  path: string[];
  /** CNI_ARGS as key/value pairs. */
  args: Record<string, string>;
  /** K8S_POD_NAME from CNI_ARGS, or ''. */
  podName: string;
  /** K8S_POD_NAMESPACE from CNI_ARGS, or ''. */
  podNamespace: string;
}

const CONTAINER_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function invalidEnv(msg: string, details = ''): CniError {
  return new CniError(CniErrorCode.InvalidEnvironment, msg, details);
}

/** Validates an interface name the way the kernel does (1-15 bytes, no '/', ':' or whitespace). */
export function validateIfname(name: string): string | undefined {
  if (name === '') return 'is empty';
  if (Buffer.byteLength(name) > 15) return `"${name}" is longer than 15 bytes`;
  if (name === '.' || name === '..') return `"${name}" is not a valid interface name`;
  if (/[/:\s]/.test(name)) return `"${name}" contains '/', ':' or whitespace`;
  return undefined;
}

/** Parses CNI_ARGS ("K1=V1;K2=V2"); unknown keys are an error unless IgnoreUnknown is 1 or true. */
export function parseCniArgs(raw: string): Record<string, string> {
  const args: Record<string, string> = {};
  if (raw.trim() === '') return args;
  for (const pair of raw.split(';')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      throw invalidEnv(`CNI_ARGS: "${pair}" is not KEY=VALUE`, 'CNI_ARGS must be semicolon-separated KEY=VALUE pairs');
    }
    args[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const ignoreUnknown = ['1', 'true'].includes((args.IgnoreUnknown ?? '').toLowerCase());
  if (!ignoreUnknown) {
    const unknown = Object.keys(args).filter((k) => !KNOWN_ARGS.has(k));
    if (unknown.length > 0) {
      throw invalidEnv(
        `CNI_ARGS: unknown key(s) ${unknown.join(', ')}`,
        `known keys: ${[...KNOWN_ARGS].join(', ')}; add IgnoreUnknown=1 to ignore the others`,
      );
    }
  }
  return args;
}

/** Reads and validates the CNI_* variables required by the command in CNI_COMMAND. */
export function parseCniEnv(env: NodeJS.ProcessEnv): CniEnv {
  const rawCommand = env.CNI_COMMAND ?? '';
  if (rawCommand === '') throw invalidEnv('CNI_COMMAND is not set', `expected one of ${COMMANDS.join(', ')}`);
  const command = rawCommand.toUpperCase() as CniCommand;
  if (!COMMANDS.includes(command)) {
    throw invalidEnv(`CNI_COMMAND "${rawCommand}" is not supported`, `expected one of ${COMMANDS.join(', ')}`);
  }
  const attachment = command === 'ADD' || command === 'DEL' || command === 'CHECK';
  const containerId = env.CNI_CONTAINERID ?? '';
  const netns = env.CNI_NETNS ?? '';
  const ifname = env.CNI_IFNAME ?? '';
  if (attachment) {
    if (containerId === '') throw invalidEnv(`CNI_CONTAINERID is required for ${command}`);
    if (!CONTAINER_ID_RE.test(containerId)) {
      throw invalidEnv(
        `CNI_CONTAINERID "${containerId}" is invalid`,
        'it must start with a letter or digit and contain only letters, digits, "_", "." and "-"',
      );
    }
    if (ifname === '') throw invalidEnv(`CNI_IFNAME is required for ${command}`);
    const bad = validateIfname(ifname);
    if (bad !== undefined) throw invalidEnv(`CNI_IFNAME ${bad}`);
    if (command !== 'DEL') {
      if (netns === '') throw invalidEnv(`CNI_NETNS is required for ${command}`);
      if (!netns.startsWith('/')) throw invalidEnv(`CNI_NETNS "${netns}" is not an absolute path`);
    }
  }
  const args = attachment ? parseCniArgs(env.CNI_ARGS ?? '') : {};
  return {
    command,
    containerId: attachment ? containerId : '',
    netns: attachment ? netns : '',
    ifname: attachment ? ifname : '',
    path: (env.CNI_PATH ?? '').split(':').filter((p) => p !== ''),
    args,
    podName: args.K8S_POD_NAME ?? '',
    podNamespace: args.K8S_POD_NAMESPACE ?? '',
  };
}
