// Decoding and validation of the network configuration the runtime writes on stdin.
import { CniError, CniErrorCode } from './cni-error.js';

/** The CNI versions this plugin speaks, oldest first. */
export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
/** The newest CNI version this plugin speaks. */
export const LATEST_VERSION = '1.1.0';
/** The plugin type (executable name) this plugin answers to. */
export const PLUGIN_TYPE = 'cilium-cni';
/** Where the agent listens when the config says nothing. */
export const DEFAULT_AGENT_SOCKET = 'unix:///run/cilium-ts/agent.sock';

/** A container attachment the runtime still uses (GC's `cni.dev/valid-attachments`). */
export interface ValidAttachment {
  containerID: string;
  ifname: string;
}

/** The validated network config of one invocation. */
export interface NetConfig {
  cniVersion: string;
  name: string;
  type: string;
  /** gRPC target of the agent: unix:///path or host:port. */
  agentSocket: string;
  /** Append JSON log lines here when set. */
  logFile: string;
  /** Seconds to wait for the agent to become reachable. */
  agentConnectTimeout: number;
  /** Seconds to wait for one agent request (CreateEndpoint waits for the policy to be in the kernel). */
  agentTimeout: number;
  /** MTU of both veth ends; 0 keeps the kernel default. */
  mtu: number;
  /** Pod labels from runtimeConfig.labels and args.cni.labels, key -> value, before prefixing. */
  podLabels: Array<[string, string]>;
  /** The container runtime this config is for ("podman"), recorded in the endpoint's metadata; '' when not said. */
  runtime: string;
  /**
   * The network namespace the host side of the veth belongs in (a path, or a name under
   * /run/netns), when the runtime runs the plugin elsewhere (podman, in the machine's own
   * namespace); '' keeps the namespace the plugin runs in.
   */
  nodeNetns: string;
  /** The previous result (CHECK, DEL), undecoded. */
  prevResult: unknown;
  /** GC only: attachments that must be kept. */
  validAttachments: ValidAttachment[];
  /** The whole decoded object. */
  raw: Record<string, unknown>;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function invalid(path: string, msg: string, details = ''): CniError {
  return new CniError(CniErrorCode.InvalidNetworkConfig, `network config: ${path}: ${msg}`, details);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function optionalString(obj: Record<string, unknown>, key: string, fallback: string): string {
  const v = obj[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || v === '') throw invalid(key, `must be a non-empty string, got ${JSON.stringify(v)}`);
  return v;
}

function optionalNumber(obj: Record<string, unknown>, key: string, fallback: number, min: number, max: number): number {
  const v = obj[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw invalid(key, `must be a number from ${min} to ${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Compares dotted versions numerically: <0, 0 or >0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function parsePodLabels(raw: Record<string, unknown>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const runtimeConfig = raw.runtimeConfig;
  if (runtimeConfig !== undefined) {
    if (!isObject(runtimeConfig)) throw invalid('runtimeConfig', 'must be an object');
    const labels = runtimeConfig.labels;
    if (labels !== undefined) {
      if (!isObject(labels)) throw invalid('runtimeConfig.labels', 'must be an object of label key -> string value');
      for (const [k, v] of Object.entries(labels)) {
        if (typeof v !== 'string') throw invalid(`runtimeConfig.labels.${k}`, `must be a string, got ${JSON.stringify(v)}`);
        out.push([k, v]);
      }
    }
  }
  const args = raw.args;
  if (args !== undefined) {
    if (!isObject(args)) throw invalid('args', 'must be an object');
    const cni = args.cni;
    if (cni !== undefined) {
      if (!isObject(cni)) throw invalid('args.cni', 'must be an object');
      const labels = cni.labels;
      if (labels !== undefined) {
        if (!Array.isArray(labels)) throw invalid('args.cni.labels', 'must be a list of {"key": ..., "value": ...}');
        labels.forEach((l: unknown, i) => {
          if (!isObject(l) || typeof l.key !== 'string' || typeof l.value !== 'string') {
            throw invalid(`args.cni.labels[${i}]`, 'must be {"key": string, "value": string}');
          }
          out.push([l.key, l.value]);
        });
      }
    }
  }
  out.forEach(([k, v]) => {
    if (k === '' || /[=;\s]/.test(k)) throw invalid(`label "${k}"`, 'a label key must be non-empty without "=", ";" or whitespace');
    if (/[;\s]/.test(v)) throw invalid(`label "${k}"`, `value "${v}" must not contain ";" or whitespace`);
  });
  return out;
}

function parseValidAttachments(raw: Record<string, unknown>): ValidAttachment[] {
  const v = raw['cni.dev/valid-attachments'];
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw invalid('cni.dev/valid-attachments', 'must be a list');
  return v.map((a: unknown, i) => {
    if (!isObject(a) || typeof a.containerID !== 'string' || typeof a.ifname !== 'string') {
      throw invalid(`cni.dev/valid-attachments[${i}]`, 'must be {"containerID": string, "ifname": string}');
    }
    return { containerID: a.containerID, ifname: a.ifname };
  });
}

function parseRuntime(raw: Record<string, unknown>): string {
  const v = optionalString(raw, 'runtime', '');
  if (v !== '' && !/^[a-z0-9][a-z0-9._-]{0,31}$/.test(v)) throw invalid('runtime', `"${v}" must be 1-32 lower-case letters, digits, ".", "_" or "-" (e.g. "podman")`);
  return v;
}

function parseNodeNetns(raw: Record<string, unknown>): string {
  const v = optionalString(raw, 'node-netns', '');
  if (v === '' || v.startsWith('/')) return v;
  if (!NAME_RE.test(v)) throw invalid('node-netns', `"${v}" must be an absolute path or a namespace name under /run/netns`);
  return `/run/netns/${v}`;
}

/** Decodes the stdin text; code 6 when it is not a JSON object. */
export function decodeNetConfig(text: string): Record<string, unknown> {
  if (text.trim() === '') {
    throw new CniError(CniErrorCode.DecodeFailure, 'network config: stdin is empty', 'the runtime must write the network config as JSON on stdin');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new CniError(CniErrorCode.DecodeFailure, `network config: invalid JSON: ${(err as Error).message}`, '', { cause: err });
  }
  if (!isObject(parsed)) throw new CniError(CniErrorCode.DecodeFailure, 'network config: must be a JSON object');
  return parsed;
}

/** Validates a decoded network config; code 1 for an unsupported cniVersion, 7 for anything else. */
export function validateNetConfig(raw: Record<string, unknown>): NetConfig {
  const cniVersion = raw.cniVersion;
  if (cniVersion === undefined) throw invalid('cniVersion', 'is required');
  if (typeof cniVersion !== 'string') throw invalid('cniVersion', 'must be a string');
  if (!(SUPPORTED_VERSIONS as readonly string[]).includes(cniVersion)) {
    throw new CniError(
      CniErrorCode.IncompatibleVersion,
      `network config: cniVersion ${cniVersion} is not supported`,
      `supported versions: ${SUPPORTED_VERSIONS.join(', ')}`,
    );
  }
  const name = raw.name;
  if (name === undefined) throw invalid('name', 'is required');
  if (typeof name !== 'string' || !NAME_RE.test(name)) {
    throw invalid('name', `${JSON.stringify(name)} must start with a letter or digit and contain only letters, digits, "_", "." and "-"`);
  }
  const type = raw.type;
  if (type === undefined) throw invalid('type', 'is required');
  if (type !== PLUGIN_TYPE) throw invalid('type', `is ${JSON.stringify(type)}, expected "${PLUGIN_TYPE}"`);
  const agentSocket = optionalString(raw, 'agent-socket', DEFAULT_AGENT_SOCKET);
  if (!agentSocket.startsWith('unix://') && !/^[^/\s]+:\d+$/.test(agentSocket) && !agentSocket.startsWith('/')) {
    throw invalid('agent-socket', `"${agentSocket}" must be unix:///path, an absolute socket path, or host:port`);
  }
  return {
    cniVersion,
    name,
    type,
    agentSocket: agentSocket.startsWith('/') ? `unix://${agentSocket}` : agentSocket,
    logFile: optionalString(raw, 'log-file', ''),
    agentConnectTimeout: optionalNumber(raw, 'agent-connect-timeout', 5, 0.1, 600),
    agentTimeout: optionalNumber(raw, 'agent-timeout', 60, 0.1, 3600),
    mtu: optionalNumber(raw, 'mtu', 0, 0, 65535),
    podLabels: parsePodLabels(raw),
    runtime: parseRuntime(raw),
    nodeNetns: parseNodeNetns(raw),
    prevResult: raw.prevResult,
    validAttachments: parseValidAttachments(raw),
    raw,
  };
}

/** Builds the identity labels of a pod: its namespace plus its pod labels, "source:key=value", sorted. */
export function podIdentityLabels(podNamespace: string, podLabels: Array<[string, string]>): string[] {
  const out = new Set<string>();
  if (podNamespace !== '') out.add(`k8s:io.kubernetes.pod.namespace=${podNamespace}`);
  for (const [key, value] of podLabels) {
    // A key that already names its source ("container:x") keeps it; plain keys are k8s labels.
    const colon = key.indexOf(':');
    const prefixed = colon > 0 && !key.slice(0, colon).includes('.') && !key.slice(0, colon).includes('/') ? key : `k8s:${key}`;
    out.add(`${prefixed}=${value}`);
  }
  return [...out].sort();
}
