import { constants } from 'node:os';

const errnoNames = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno)) {
  if (!errnoNames.has(value)) errnoNames.set(value, name);
}

/** Symbolic name of an errno value ("EPERM"), or "E<n>" when unknown. */
export function errnoName(errno: number): string {
  return errnoNames.get(Math.abs(errno)) ?? `E${Math.abs(errno)}`;
}

/** Hints for the errno values a BPF operation commonly fails with. */
const defaultHints: Record<string, string> = {
  EPERM: 'run as root (CAP_BPF + CAP_NET_ADMIN) and check the memlock limit (ulimit -l)',
  EACCES: 'the verifier rejected the program or the caller lacks CAP_BPF; see the verifier log',
  ENOENT: 'the object or key does not exist; is the pin path right and bpffs mounted at /sys/fs/bpf?',
  EINVAL: 'an argument does not match the map or program (key/value size, flags, map type)',
  E2BIG: 'the map is full; raise max_entries or remove entries',
  ENOSPC: 'the map is full; raise max_entries or remove entries',
  EEXIST: 'the key or pin already exists',
  EBADF: 'the file descriptor is closed or not a BPF object',
  ENOTSUP: 'the running kernel lacks this feature',
};

/** A failed libbpf call or BPF syscall: what was attempted, the errno and what to do. */
export class BpfError extends Error {
  override readonly name: string = 'BpfError';
  /** The operation attempted, e.g. `map update "ipcache"`. */
  readonly operation: string;
  /** Positive errno value. */
  readonly errno: number;
  /** Symbolic errno, e.g. "EINVAL". */
  readonly code: string;
  /** What the caller can do about it. */
  readonly hint: string;

  constructor(operation: string, errno: number, opts: { detail?: string; hint?: string; cause?: unknown } = {}) {
    const code = errnoName(errno);
    const hint = opts.hint ?? defaultHints[code] ?? 'see the kernel log (dmesg) and the libbpf log';
    super(`${operation} failed: ${code} (errno ${Math.abs(errno)})${opts.detail ? `: ${opts.detail}` : ''}; hint: ${hint}`,
      opts.cause === undefined ? undefined : { cause: opts.cause });
    this.operation = operation;
    this.errno = Math.abs(errno);
    this.code = code;
    this.hint = hint;
  }
}

/** Loading a BPF object failed; `log` holds libbpf's output including the verifier log. */
export class BpfLoadError extends BpfError {
  override readonly name = 'BpfLoadError';
  /** libbpf's messages (verifier log included) captured during the load. */
  readonly log: string;

  constructor(operation: string, errno: number, log: string) {
    super(operation, errno, {
      detail: log ? `libbpf said:\n${log.split('\n').slice(-40).join('\n')}` : undefined,
      hint: /reuse pinned map/.test(log)
        ? 'a pinned map has another layout (pins from another build): remove the stale pins under pinDir and retry'
        : 'read the libbpf / verifier log above; rebuild the object with `npm run build` in libs/bpf',
    });
    this.log = log;
  }
}

/** An iproute2 (`tc`, `ip`, `nsenter`) command failed. */
export class TcError extends Error {
  override readonly name = 'TcError';
  /** The operation attempted, e.g. `attach from-container to lxc1 ingress`. */
  readonly operation: string;
  /** The command line run. */
  readonly command: string[];
  /** Exit status of the command (null when it was killed or could not start). */
  readonly status: number | null;
  /** What the command printed on stderr. */
  readonly stderr: string;

  constructor(operation: string, command: string[], status: number | null, stderr: string, hint: string) {
    super(`${operation} failed: \`${command.join(' ')}\` exited ${status ?? 'abnormally'}: ${stderr.trim() || '(no output)'}; hint: ${hint}`);
    this.operation = operation;
    this.command = command;
    this.status = status;
    this.stderr = stderr;
  }
}

/** A caller passed a value the datapath cannot represent (bad CIDR, port out of range, ...). */
export class DatapathInputError extends Error {
  override readonly name = 'DatapathInputError';
  /** The field or argument at fault, e.g. `policy[3].port`. */
  readonly field: string;
  /** The offending value. */
  readonly value: unknown;

  constructor(field: string, value: unknown, why: string) {
    super(`invalid ${field} ${JSON.stringify(value)}: ${why}`);
    this.field = field;
    this.value = value;
  }
}
