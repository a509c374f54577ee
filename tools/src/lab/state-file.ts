// <run>/state.json: what "up" started (services with pid and address, pods with IP and
// labels), written atomically after every change so a failed "up" leaves a usable record.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { StateFileError } from './errors.js';

/** A running daemon. */
export interface ServiceRecord {
  name: string;
  role: string;
  node?: number;
  /** Process id (also its process group id: every daemon is started with setsid). */
  pid: number | null;
  /** unix:///path or 127.0.0.1:port, reachable from the machine's own namespace. */
  address: string;
  logFile: string;
  /** A string that must appear in /proc/<pid>/cmdline, so a reused pid is never signalled. */
  cmdlineMatch: string;
  /** The podman container that runs it (--runtime podman); pid is then its main process on the machine. */
  container?: { id: string; name: string; image: string };
}

/** A process running inside a pod namespace (demo server or traffic generator). */
export interface PodProcessRecord {
  kind: 'http-server' | 'traffic';
  pid: number;
  logFile: string;
  cmdlineMatch: string;
}

/** A demo pod. */
export interface PodRecord {
  name: string;
  node: number;
  netns: string;
  containerId: string;
  ip: string | null;
  /** The pod's IPv6 address in a dual-stack lab. */
  ipv6?: string | null;
  labels: Record<string, string>;
  processes: PodProcessRecord[];
  /** A container of a runtime (`up --runtimes`): containerId is the runtime's, netns the one it made. */
  runtime?: 'podman' | 'docker';
  /** The cgroup v2 its processes run in (the node's pod cgroup, see pod-cgroup.ts); absent: none. */
  cgroup?: string;
}

/** A lab node. */
export interface NodeRecord {
  index: number;
  name: string;
  netns: string;
  ip: string;
  /** The node's IPv6 address in a dual-stack lab. */
  ipv6?: string;
}

/** The whole state file. */
export interface LabState {
  version: 1;
  name: string;
  createdAt: string;
  runDir: string;
  relayAddress: string;
  /** How the daemons run (absent in older state files: processes). */
  runtime?: 'process' | 'podman';
  /** Whether the demo policy was imported (and its cluster-wide revision) and traffic generators started, whether pods are dual-stack, and whether the demo ClusterIP service runs. */
  demo: { policy: boolean; traffic: boolean; ipv6?: boolean; policyRevision?: number; service?: boolean };
  nodes: NodeRecord[];
  services: ServiceRecord[];
  pods: PodRecord[];
}

/** An empty state for a lab that is about to start. */
export function newState(
  name: string,
  runDir: string,
  relayAddress: string,
  demo: LabState['demo'] = { policy: true, traffic: true },
  now = new Date(),
): LabState {
  return {
    version: 1,
    name,
    createdAt: now.toISOString(),
    runDir,
    relayAddress,
    demo,
    nodes: [],
    services: [],
    pods: [],
  };
}

/** Mode of the state file: it names every process, socket and log of the lab, so only root reads it. */
export const stateFileMode = 0o600;

/** Writes the state atomically (write to a temporary file, then rename), readable by its owner only. */
export function writeState(path: string, state: LabState): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n', { mode: stateFileMode });
  renameSync(tmp, path);
}

/** Reads the state; undefined when the file does not exist; StateFileError when it is corrupt. */
export function readState(path: string): LabState | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StateFileError(path, (err as Error).message, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new StateFileError(path, `not JSON (${(err as Error).message})`, { cause: err });
  }
  const s = parsed as Partial<LabState>;
  if (typeof s !== 'object' || s === null || s.version !== 1 || typeof s.name !== 'string') {
    throw new StateFileError(path, 'not a version 1 lab state (missing version or name)');
  }
  if (!Array.isArray(s.services) || !Array.isArray(s.pods) || !Array.isArray(s.nodes)) {
    throw new StateFileError(path, 'services, pods or nodes is not a list');
  }
  return s as LabState;
}

/** Adds or replaces the service with the same name. */
export function upsertService(state: LabState, rec: ServiceRecord): void {
  const k = state.services.findIndex((s) => s.name === rec.name);
  if (k >= 0) state.services[k] = rec;
  else state.services.push(rec);
}

/** Adds or replaces the pod with the same netns. */
export function upsertPod(state: LabState, rec: PodRecord): void {
  const k = state.pods.findIndex((p) => p.netns === rec.netns);
  if (k >= 0) state.pods[k] = rec;
  else state.pods.push(rec);
}
