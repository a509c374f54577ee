/** FlagKind says whether a flag takes a value. */
export type FlagKind = 'bool' | 'string';

/** FlagSpec declares one command-line flag. */
export interface FlagSpec {
  name: string;
  short?: string;
  kind: FlagKind;
  help: string;
  /** Default shown in --help. */
  default?: string;
  /** Environment variable consulted when the flag is absent. */
  env?: string;
}

/** FlagOccurrence is one flag as it appeared on the command line, in order. */
export interface FlagOccurrence {
  name: string;
  value: string;
}

/** ParsedArgs are the positionals and the flags in command-line order. */
export interface ParsedArgs {
  positionals: string[];
  flags: FlagOccurrence[];
}

/** UsageError is a command-line mistake; the message says which argument and what is expected. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(message: string) {
    super(message);
  }
}

/**
 * parseArgs parses GNU-style arguments (`--name value`, `--name=value`, `-x value`, `-xvalue`,
 * `--bool`, `--bool=false`, `--` ends flags) against the specs, keeping the order of flags
 * (needed for `--not`).
 */
export function parseArgs(argv: string[], specs: FlagSpec[]): ParsedArgs {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short as string, s]));
  const out: ParsedArgs = { positionals: [], flags: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      out.positionals.push(...argv.slice(i + 1));
      break;
    }
    let spec: FlagSpec | undefined;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
      spec = byName.get(name);
      if (!spec) throw new UsageError(`unknown flag: --${name}`);
    } else if (arg.startsWith('-') && arg.length > 1) {
      spec = byShort.get(arg[1]);
      if (!spec) throw new UsageError(`unknown shorthand flag: '${arg[1]}' in ${arg}`);
      if (arg.length > 2) inline = arg[2] === '=' ? arg.slice(3) : arg.slice(2);
      if (spec.kind === 'bool' && inline !== undefined && arg[2] !== '=') {
        // Combined boolean shorthands such as -4f are not supported; say so rather than guess.
        throw new UsageError(`cannot combine shorthand flags in ${arg}; write them separately`);
      }
    } else {
      out.positionals.push(arg);
      continue;
    }
    if (spec.kind === 'bool') {
      const v = inline ?? 'true';
      if (!['true', 'false', '1', '0'].includes(v)) throw new UsageError(`invalid argument "${v}" for --${spec.name}: expected true or false`);
      out.flags.push({ name: spec.name, value: v === '1' ? 'true' : v === '0' ? 'false' : v });
    } else {
      let v = inline;
      if (v === undefined) {
        if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: --${spec.name}`);
        v = argv[++i];
      }
      out.flags.push({ name: spec.name, value: v });
    }
  }
  return out;
}

/** FlagValues gives typed access to parsed flags (last occurrence wins; env and defaults apply). */
export class FlagValues {
  constructor(
    private readonly parsed: ParsedArgs,
    private readonly specs: FlagSpec[],
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  /** has reports whether the flag was given on the command line. */
  has(name: string): boolean {
    return this.parsed.flags.some((f) => f.name === name);
  }

  /** all returns every value given for a repeatable flag, in order. */
  all(name: string): string[] {
    return this.parsed.flags.filter((f) => f.name === name).map((f) => f.value);
  }

  /** string returns the flag's value, its environment variable, or its default. */
  string(name: string): string {
    const given = this.all(name);
    if (given.length > 0) return given[given.length - 1];
    const spec = this.specs.find((s) => s.name === name);
    if (spec?.env && this.env[spec.env] !== undefined) return this.env[spec.env] as string;
    return spec?.default ?? '';
  }

  /** bool returns the flag as a boolean. */
  bool(name: string): boolean {
    const v = this.string(name).toLowerCase();
    return v === 'true' || v === '1';
  }

  /** uint returns the flag as a non-negative integer (bigint), or throws a UsageError. */
  uint(name: string): bigint {
    const v = this.string(name);
    if (!/^\d+$/.test(v)) throw new UsageError(`invalid argument "${v}" for --${name}: expected a non-negative integer`);
    return BigInt(v);
  }
}

/** formatHelp renders a usage text with one line per flag. */
export function formatHelp(usage: string, description: string, specs: FlagSpec[]): string {
  const rows = specs.map((s) => {
    const left = `${s.short ? `-${s.short}, ` : '    '}--${s.name}${s.kind === 'string' ? ' string' : ''}`;
    const def = s.default !== undefined && s.default !== '' && s.kind === 'string' ? ` (default "${s.default}")` : '';
    const env = s.env ? ` [$${s.env}]` : '';
    return [left, `${s.help}${def}${env}`];
  });
  const width = Math.max(0, ...rows.map((r) => r[0].length)) + 3;
  const lines = rows.map(([l, r]) => `  ${l.padEnd(width)}${r}`);
  return `${description}\n\nUsage:\n  ${usage}\n\nFlags:\n${lines.join('\n')}\n`;
}
