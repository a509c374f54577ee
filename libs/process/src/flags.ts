// A small typed command-line flag parser: `--name value`, `--name=value`, boolean
// `--name` / `--name=false` / `--no-name`, repeatable or comma-separated string lists,
// environment variable fallbacks, and `--help`.

/** The kinds of value a flag holds. */
export type FlagType = 'string' | 'number' | 'boolean' | 'string[]';

/** The TypeScript type of a flag's value. */
export type FlagValue<T extends FlagType> = T extends 'string'
  ? string
  : T extends 'number'
    ? number
    : T extends 'boolean'
      ? boolean
      : string[];

/** One flag: its type, default, optional environment variable and description. */
export interface FlagSpec<T extends FlagType = FlagType> {
  type: T;
  /** Value when neither the command line nor the environment sets it ('' / 0 / false / [] if omitted). */
  default?: FlagValue<T>;
  /** Environment variable read when the flag is not on the command line. */
  env?: string;
  description: string;
}

/** A set of flags keyed by name; the command-line form is `--kebab-case-name`. */
export type FlagSpecs = Record<string, FlagSpec>;

/** The parsed values, typed from the specs. */
export type FlagValues<S extends FlagSpecs> = { [K in keyof S]: FlagValue<S[K]['type']> };

/** The result of parsing: values plus the arguments that were not flags. */
export interface ParsedFlags<S extends FlagSpecs> {
  values: FlagValues<S>;
  positionals: string[];
}

/** What is wrong with a command line: an unknown flag, a value missing or given where none is taken, or a bad value. */
export type FlagErrorKind = 'unknown' | 'missing-value' | 'unexpected-value' | 'bad-value';

/** A command line or environment that does not fit the flag definitions. */
export class FlagError extends Error {
  /** The flag (as written on the command line) or environment variable at fault. */
  readonly flag: string;
  /** What is wrong, for callers that word their own message. */
  readonly kind: FlagErrorKind;

  constructor(flag: string, message: string, kind: FlagErrorKind = 'bad-value') {
    super(message);
    this.name = 'FlagError';
    this.flag = flag;
    this.kind = kind;
  }
}

/** Defined flags: parse argv, or print usage. */
export interface Flags<S extends FlagSpecs> {
  readonly specs: S;
  /** Parses arguments (default process.argv.slice(2)); throws FlagError on bad input. */
  parse(argv?: readonly string[], env?: NodeJS.ProcessEnv): ParsedFlags<S>;
  /**
   * Parses like `parse`, but prints usage and exits 0 on --help / -h, and prints the
   * error plus a hint and exits 2 on bad input.
   */
  parseOrExit(argv?: readonly string[], env?: NodeJS.ProcessEnv): ParsedFlags<S>;
  /** The usage text: every flag with its description, default and environment variable. */
  usage(): string;
}

/** Options of defineFlags. */
export interface DefineFlagsOptions {
  /** Program name in the usage line; default the script's base name. */
  program?: string;
  /** One-line description shown under the usage line. */
  summary?: string;
  /** Text after the options in the usage line, e.g. "[FILE...]". */
  positionals?: string;
  /**
   * Strict parsing, for command lines with their own help and rules (tools/lab): no
   * `--no-<flag>` negation, no value on a boolean flag, a value may not start with `--`,
   * and `--`, `-h`, `--help` and positional arguments are unknown flags. Default false.
   */
  strict?: boolean;
}

function kebab(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').replace(/_/g, '-').toLowerCase();
}

function emptyValue(type: FlagType): FlagValue<FlagType> {
  switch (type) {
    case 'string':
      return '';
    case 'number':
      return 0;
    case 'boolean':
      return false;
    case 'string[]':
      return [];
  }
}

function parseNumber(flag: string, raw: string, source: string): number {
  const n = raw.trim() === '' ? NaN : Number(raw);
  if (!Number.isFinite(n)) throw new FlagError(flag, `invalid value "${raw}" for ${source}: expected a number`);
  return n;
}

function parseBoolean(flag: string, raw: string, source: string): boolean {
  const v = raw.toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  throw new FlagError(flag, `invalid value "${raw}" for ${source}: expected true or false`);
}

function splitList(raw: string): string[] {
  return raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

function formatDefault(spec: FlagSpec): string | undefined {
  const d = spec.default;
  if (d === undefined) return undefined;
  if (Array.isArray(d)) return d.length ? d.join(',') : undefined;
  if (d === '' || d === false) return undefined;
  return typeof d === 'string' ? JSON.stringify(d) : String(d);
}

/** Defines typed flags; see Flags for parsing. */
export function defineFlags<const S extends FlagSpecs>(specs: S, options: DefineFlagsOptions = {}): Flags<S> {
  const byCli = new Map<string, string>();
  for (const key of Object.keys(specs)) byCli.set(kebab(key), key);

  const strict = options.strict ?? false;
  const program = options.program ?? (process.argv[1] ? process.argv[1].split('/').pop()!.replace(/\.[cm]?js$/, '') : 'program');

  function usage(): string {
    const lines = [`Usage: ${program} [flags]${options.positionals ? ' ' + options.positionals : ''}`];
    if (options.summary) lines.push('', options.summary);
    lines.push('', 'Flags:');
    const rows = Object.entries(specs).map(([key, spec]) => {
      const arg = spec.type === 'boolean' ? '' : spec.type === 'string[]' ? ' strings' : ` ${spec.type}`;
      return { left: `--${kebab(key)}${arg}`, spec };
    });
    rows.push({ left: '-h, --help', spec: { type: 'boolean', description: 'show this help and exit' } });
    const width = Math.max(...rows.map((r) => r.left.length));
    for (const { left, spec } of rows) {
      const extras: string[] = [];
      const d = formatDefault(spec);
      if (d !== undefined) extras.push(`default ${d}`);
      if (spec.env) extras.push(`env ${spec.env}`);
      lines.push(`  ${left.padEnd(width)}  ${spec.description}${extras.length ? ` (${extras.join('; ')})` : ''}`);
    }
    return lines.join('\n') + '\n';
  }

  function parse(argv: readonly string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): ParsedFlags<S> {
    const values: Record<string, unknown> = {};
    const fromCli = new Set<string>();
    const positionals: string[] = [];

    const assign = (key: string, cliName: string, raw: string): void => {
      const spec = specs[key]!;
      const source = `flag --${cliName}`;
      switch (spec.type) {
        case 'string':
          values[key] = raw;
          break;
        case 'number':
          values[key] = parseNumber(`--${cliName}`, raw, source);
          break;
        case 'boolean':
          values[key] = parseBoolean(`--${cliName}`, raw, source);
          break;
        case 'string[]': {
          const prev = fromCli.has(key) ? (values[key] as string[]) : [];
          values[key] = [...prev, ...splitList(raw)];
          break;
        }
      }
      fromCli.add(key);
    };

    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i]!;
      if (arg === '--' && !strict) {
        positionals.push(...argv.slice(i + 1));
        break;
      }
      if (!arg.startsWith('-') || arg === '-') {
        if (strict) throw new FlagError(arg, `unknown argument ${arg}; run with --help to list the flags`, 'unknown');
        positionals.push(arg);
        continue;
      }
      if ((arg === '-h' || arg === '--help') && !strict) throw new HelpRequested();
      if (!arg.startsWith('--')) throw new FlagError(arg, `unknown flag ${arg}; run with --help to list the flags`, 'unknown');
      const eq = arg.indexOf('=');
      const name = arg.slice(2, eq === -1 ? undefined : eq);
      const inline = eq === -1 ? undefined : arg.slice(eq + 1);
      const key = byCli.get(name);
      if (key === undefined && !strict && name.startsWith('no-') && inline === undefined) {
        const negated = byCli.get(name.slice(3));
        if (negated !== undefined && specs[negated]!.type === 'boolean') {
          values[negated] = false;
          fromCli.add(negated);
          continue;
        }
      }
      if (key === undefined) throw new FlagError(`--${name}`, `unknown flag --${name}; run with --help to list the flags`, 'unknown');
      const spec = specs[key]!;
      if (strict && spec.type === 'boolean' && inline !== undefined) throw new FlagError(`--${name}`, `flag --${name} takes no value`, 'unexpected-value');
      if (spec.type === 'boolean' && inline === undefined) {
        values[key] = true;
        fromCli.add(key);
        continue;
      }
      let raw = inline;
      if (raw === undefined) {
        if (i + 1 >= argv.length || (strict && argv[i + 1]!.startsWith('--'))) throw new FlagError(`--${name}`, `flag --${name} needs a value (${spec.type})`, 'missing-value');
        raw = argv[++i]!;
      }
      assign(key, name, raw);
    }

    for (const [key, spec] of Object.entries(specs)) {
      if (fromCli.has(key)) continue;
      const envRaw = spec.env ? env[spec.env] : undefined;
      if (spec.env && envRaw !== undefined && envRaw !== '') {
        const source = `environment variable ${spec.env} (flag --${kebab(key)})`;
        switch (spec.type) {
          case 'string':
            values[key] = envRaw;
            break;
          case 'number':
            values[key] = parseNumber(spec.env, envRaw, source);
            break;
          case 'boolean':
            values[key] = parseBoolean(spec.env, envRaw, source);
            break;
          case 'string[]':
            values[key] = splitList(envRaw);
            break;
        }
        continue;
      }
      const d = spec.default ?? emptyValue(spec.type);
      values[key] = Array.isArray(d) ? [...d] : d;
    }
    return { values: values as FlagValues<S>, positionals };
  }

  function parseOrExit(argv?: readonly string[], env?: NodeJS.ProcessEnv): ParsedFlags<S> {
    try {
      return parse(argv, env);
    } catch (err) {
      if (err instanceof HelpRequested) {
        process.stdout.write(usage());
        process.exit(0);
      }
      if (err instanceof FlagError) {
        process.stderr.write(`${program}: ${err.message}\n`);
        process.exit(2);
      }
      throw err;
    }
  }

  return { specs, parse, parseOrExit, usage };
}

/** Thrown by Flags.parse when --help or -h is given. */
export class HelpRequested extends Error {
  constructor() {
    super('help requested');
    this.name = 'HelpRequested';
  }
}
