/**
 * Labels from the container runtime, as Cilium's old workloads watcher did for Docker.
 * A runtime that fills no labels into CNI (podman 4.3 passes only IgnoreUnknown and
 * K8S_POD_NAME, and `podman inspect` from inside CNI ADD waits for the container lock
 * podman holds) gets its endpoint created with the reserved:init identity (Cilium's
 * reserved id 5, fail-closed: only what rules selecting `reserved:init` allow). This
 * module then reads the container's labels from the runtime once ADD has returned
 * (retrying with backoff, bounded) and hands them to the endpoint manager, which gives the
 * endpoint the identity of those labels and regenerates its policy.
 */
import { execFile } from 'node:child_process';
import { containerIdentity } from '@cilium-ts/policy';

/** The label of Cilium's init identity. */
export const InitLabel = 'reserved:init';
/** Cilium's reserved init identity. */
export const InitIdentity = 5;

/** True when labels are exactly the init identity's. */
export function isInitLabels(labels: readonly string[]): boolean {
  return labels.length === 1 && labels[0] === InitLabel;
}

/**
 * The policy of an endpoint with the init identity is fail-closed: enforced in both
 * directions, so only what rules selecting `reserved:init` allow passes (Cilium,
 * "Endpoint Lifecycle: Init Identity"); any other endpoint's policy is returned as is.
 */
export function initFailClosed<T extends { ingressEnforced: boolean; egressEnforced: boolean }>(labels: readonly string[], p: T): T {
  return isInitLabels(labels) ? { ...p, ingressEnforced: true, egressEnforced: true } : p;
}

/** The runtime does not know the container (it exited and was removed before its labels were read). */
export class ContainerGoneError extends Error {
  constructor(runtime: string, containerId: string, detail: string) {
    super(`${runtime} has no container ${containerId}: ${detail}`);
    this.name = 'ContainerGoneError';
  }
}

/** Reading a container's labels from its runtime failed (retried while attempts are left). */
export class RuntimeLabelReadError extends Error {
  constructor(runtime: string, containerId: string, detail: string) {
    super(`reading the labels of ${runtime} container ${containerId} failed: ${detail}`);
    this.name = 'RuntimeLabelReadError';
  }
}

/** Reads one container's labels (`key -> value`); throws ContainerGoneError when the runtime has no such container. */
export type ContainerLabelReader = (containerId: string) => Promise<Record<string, string>>;

const LABEL_PART = /^[A-Za-z0-9._\-/]+$/;
const LABEL_VALUE = /^[A-Za-z0-9._\-/]*$/;

/**
 * The identity labels of a container's runtime labels: `container:<key>=<value>` (as
 * cilium-docker and Cilium's workloads watcher), the namespace label as
 * `k8s:io.kubernetes.pod.namespace=<value>`. Labels that cannot be identity labels (a key
 * or value outside [A-Za-z0-9._-/]) are returned in `rejected` and left out.
 */
export function containerIdentityLabels(labels: Readonly<Record<string, string>>): { labels: string[]; rejected: string[] } {
  const valid: Record<string, string> = {};
  const rejected: string[] = [];
  for (const [k, v] of Object.entries(labels)) {
    if (!LABEL_PART.test(k) || !LABEL_VALUE.test(v)) rejected.push(`${k}=${v}`);
    else valid[k] = v;
  }
  return { labels: containerIdentity(valid).labels, rejected };
}

/**
 * Reads labels with `<command> container inspect --format '{{json .Config.Labels}}' <id>`
 * (podman). Each attempt is killed after attemptTimeoutMs: during CNI ADD the command waits
 * for the container lock.
 */
export function podmanLabelReader(command: readonly string[] = ['podman'], attemptTimeoutMs = 10_000): ContainerLabelReader {
  const [file, ...pre] = command;
  if (!file) throw new Error('podmanLabelReader: command is empty');
  return (containerId) =>
    new Promise((resolve, reject) => {
      const args = [...pre, 'container', 'inspect', '--format', '{{json .Config.Labels}}', containerId];
      execFile(file, args, { timeout: attemptTimeoutMs, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
        if (err) {
          const detail = (stderr || err.message).trim().split('\n').at(-1) ?? '';
          if (/no such (container|object)/i.test(stderr)) reject(new ContainerGoneError('podman', containerId, detail));
          else reject(new RuntimeLabelReadError('podman', containerId, err.killed ? `no answer within ${attemptTimeoutMs} ms` : detail));
          return;
        }
        try {
          const parsed = JSON.parse(stdout.trim() || 'null') as unknown;
          if (parsed === null) return resolve({});
          if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
          const labels: Record<string, string> = {};
          for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) labels[k] = String(v);
          resolve(labels);
        } catch (e) {
          reject(new RuntimeLabelReadError('podman', containerId, `unexpected output ${JSON.stringify(stdout.slice(0, 200))}: ${(e as Error).message}`));
        }
      });
    });
}

/** Retry schedule of a resolution: delays double from initialMs up to maxMs, at most `attempts` reads. */
export interface LabelRetry {
  initialMs: number;
  maxMs: number;
  attempts: number;
}

/** Dependencies of the resolver. */
export interface RuntimeLabelResolverDeps {
  /** Label readers by runtime name (`podman`). */
  readers: Readonly<Record<string, ContainerLabelReader>>;
  /** Gives endpoint `id` the identity of these labels (the endpoint manager's setRuntimeLabels). */
  apply(endpointId: number, labels: string[]): Promise<void>;
  log(level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void;
  retry?: LabelRetry;
}

const DEFAULT_RETRY: LabelRetry = { initialMs: 200, maxMs: 5_000, attempts: 12 };

/** Resolves the labels of endpoints waiting for their identity, one background task per endpoint. */
export class RuntimeLabelResolver {
  private readonly tasks = new Map<number, { stop: () => void; done: Promise<void> }>();
  private closed = false;

  constructor(private readonly d: RuntimeLabelResolverDeps) {}

  /** True when labels of containers of this runtime are read from the runtime. */
  handles(runtime: string | undefined): boolean {
    return !!runtime && Object.hasOwn(this.d.readers, runtime);
  }

  /** Starts resolving endpoint ep's labels (once per endpoint; a second call while one runs does nothing). */
  resolve(ep: { id: number; containerId: string; runtime?: string }): void {
    const read = ep.runtime && this.handles(ep.runtime) ? this.d.readers[ep.runtime] : undefined;
    if (!read || this.closed || this.tasks.has(ep.id)) return;
    let stopped = false;
    let wake: () => void = () => undefined;
    const stop = () => {
      stopped = true;
      wake();
    };
    const sleep = (ms: number) =>
      new Promise<void>((r) => {
        if (stopped) return r();
        const t = setTimeout(r, ms);
        wake = () => {
          clearTimeout(t);
          r();
        };
      });
    const retry = this.d.retry ?? DEFAULT_RETRY;
    const fields = { endpointID: ep.id, containerID: ep.containerId, runtime: ep.runtime };
    const run = async () => {
      let delay = retry.initialMs;
      for (let attempt = 1; attempt <= retry.attempts && !stopped; attempt++) {
        let raw: Record<string, string>;
        try {
          raw = await read(ep.containerId);
        } catch (err) {
          if (err instanceof ContainerGoneError) {
            this.d.log('warn', 'container gone before its labels were read; its endpoint stays reserved:init until CNI DEL or GC', { ...fields, error: err.message });
            return;
          }
          if (attempt === retry.attempts) {
            this.d.log('error', 'cannot read the container\'s labels; the endpoint stays reserved:init (fail-closed)', { ...fields, attempts: attempt, error: (err as Error).message });
            return;
          }
          await sleep(delay);
          delay = Math.min(delay * 2, retry.maxMs);
          continue;
        }
        if (stopped) return;
        const { labels, rejected } = containerIdentityLabels(raw);
        if (rejected.length > 0) this.d.log('warn', 'container labels that cannot be identity labels were left out', { ...fields, rejected });
        try {
          await this.d.apply(ep.id, labels);
        } catch (err) {
          this.d.log('warn', 'giving the endpoint its runtime labels failed', { ...fields, error: (err as Error).message });
        }
        return;
      }
    };
    const done = run().finally(() => this.tasks.delete(ep.id));
    this.tasks.set(ep.id, { stop, done });
  }

  /** Stops resolving endpoint id (it is being deleted). */
  forget(id: number): void {
    this.tasks.get(id)?.stop();
  }

  /** Resolves once every running resolution has ended. */
  async idle(): Promise<void> {
    while (this.tasks.size > 0) await Promise.all([...this.tasks.values()].map((t) => t.done));
  }

  /** Stops every resolution (agent stop); endpoints left waiting resume at the next start. */
  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.tasks.values()) t.stop();
    await this.idle();
  }
}
