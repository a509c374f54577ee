// PolicyValidationError and the collector that gathers every problem of a document.

/** One validation problem: where in the input (a JSON-path-like string) and why. */
export interface PolicyValidationIssue {
  path: string;
  message: string;
}

/** Thrown when a policy document is invalid; lists every problem found, with its path. */
export class PolicyValidationError extends Error {
  override readonly name = 'PolicyValidationError';
  /** Every problem, in document order. */
  readonly errors: PolicyValidationIssue[];
  /** Where the document came from (file name, API call), if known. */
  readonly source?: string;

  constructor(errors: PolicyValidationIssue[], source?: string, options?: { cause?: unknown }) {
    const where = source ?? '<policy>';
    const lines = errors.map((e) => `${where}: ${e.path === '' ? '<root>' : e.path}: ${e.message}`);
    super(
      `policy document rejected with ${errors.length} error${errors.length === 1 ? '' : 's'}; fix them and import again:\n` +
        lines.join('\n'),
      options,
    );
    this.errors = errors;
    if (source !== undefined) this.source = source;
  }
}

/** Joins a path and a field name (`a.b`) or index (`a[0]`). */
export function joinPath(base: string, part: string | number): string {
  if (typeof part === 'number') return `${base}[${part}]`;
  const safe = /^[A-Za-z_][A-Za-z0-9_-]*$/.test(part) ? part : JSON.stringify(part);
  if (base === '') return safe.startsWith('"') ? `[${safe}]` : safe;
  return safe.startsWith('"') ? `${base}[${safe}]` : `${base}.${safe}`;
}

/** Collects validation issues while a document is walked. */
export class IssueCollector {
  readonly issues: PolicyValidationIssue[] = [];

  /** Records a problem at `path`. */
  add(path: string, message: string): void {
    this.issues.push({ path, message });
  }

  /** Number of problems so far. */
  get count(): number {
    return this.issues.length;
  }

  /** Throws PolicyValidationError when any problem was recorded. */
  throwIfAny(source?: string): void {
    if (this.issues.length > 0) throw new PolicyValidationError(this.issues, source);
  }
}

/** A short description of a JSON value's type, for messages. */
export function describeType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** True for a plain JSON object (not null, not an array). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Reports every key of `obj` not in `known` as an unknown field, and every key in
 * `unsupported` as a recognised Cilium field this engine does not implement yet.
 */
export function checkFields(
  obj: Record<string, unknown>,
  path: string,
  known: readonly string[],
  issues: IssueCollector,
  unsupported: readonly string[] = [],
): void {
  for (const k of Object.keys(obj)) {
    if (known.includes(k)) continue;
    if (unsupported.includes(k)) issues.add(joinPath(path, k), `field "${k}" is not supported by this version of cilium-ts`);
    else issues.add(joinPath(path, k), `unknown field "${k}" (allowed: ${known.join(', ')})`);
  }
}
