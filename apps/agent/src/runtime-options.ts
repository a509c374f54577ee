/**
 * The agent's options that change while it runs (`cilium config KEY=VALUE`, upstream's
 * mutable daemon options): a small registry of named boolean options, each with how to
 * read and apply it. Changes are all or nothing: every name and value is checked before
 * any option is applied.
 */
import { BOOLEAN_OPTION_VALUES, endpointOptionText, parseBooleanOption } from './endpoint-options.js';

/** One runtime-mutable option. */
export interface RuntimeOption {
  /** Upstream's name, e.g. "Debug". */
  name: string;
  description: string;
  /** Its value now. */
  get(): boolean;
  /** Applies a new value (called only when it changes). */
  set(on: boolean): void;
}

/** A change that names an option the agent cannot change at runtime, or a value it does not take. */
export class RuntimeOptionError extends Error {
  constructor(
    /** The option as given. */
    readonly option: string,
    reason: string,
  ) {
    super(`option ${option}: ${reason}`);
    this.name = 'RuntimeOptionError';
  }
}

/** The result of a change: every option after it, and which ones changed. */
export interface RuntimeOptionsPatch {
  options: Record<string, string>;
  changed: string[];
}

/** The registry of the agent's runtime-mutable options. */
export class RuntimeOptions {
  private readonly byName: Map<string, RuntimeOption>;

  /**
   * `options`: the mutable ones; `immutable()`: names of the settings that need a restart
   * (the agent's flags, as `cilium config` shows them), refused with a hint.
   */
  constructor(
    options: readonly RuntimeOption[],
    private readonly immutable: () => Iterable<string>,
  ) {
    this.byName = new Map(options.map((o) => [o.name, o]));
  }

  /** name -> Enabled / Disabled of every mutable option, sorted by name. */
  view(): Record<string, string> {
    return Object.fromEntries([...this.byName.values()].sort((a, b) => a.name.localeCompare(b.name)).map((o) => [o.name, endpointOptionText(o.get())]));
  }

  /** Checks every change, then applies them; throws RuntimeOptionError (nothing applied) on the first bad one. */
  patch(changes: Readonly<Record<string, string>>): RuntimeOptionsPatch {
    const planned: Array<[RuntimeOption, boolean]> = [];
    for (const [name, value] of Object.entries(changes)) {
      const opt = this.byName.get(name);
      if (!opt) {
        const known = [...this.byName.keys()].sort().join(', ');
        if ([...this.immutable()].includes(name)) throw new RuntimeOptionError(name, `cannot be changed while the agent runs (restart it with --${name}); runtime-mutable options: ${known}`);
        throw new RuntimeOptionError(name, `unknown option; runtime-mutable options: ${known}`);
      }
      const on = parseBooleanOption(value);
      if (on === undefined) throw new RuntimeOptionError(name, `"${value}" is not a valid value; use ${BOOLEAN_OPTION_VALUES}`);
      planned.push([opt, on]);
    }
    const changed: string[] = [];
    for (const [opt, on] of planned) {
      if (opt.get() === on) continue;
      opt.set(on);
      changed.push(opt.name);
    }
    return { options: this.view(), changed: changed.sort() };
  }
}

/** What the agent's runtime-mutable options act on. */
export interface AgentRuntimeOptionsDeps {
  /** The agent's log (Debug switches its level). */
  log: { level: string; setLevel(level: 'debug' | 'info' | 'warn' | 'error'): void };
  /** The level to return to when Debug is turned off (--log-level, or info when that was debug). */
  baseLevel: 'info' | 'warn' | 'error';
  /** Whether policy verdict records reach monitor subscribers (hubble, cilium monitor). */
  verdicts: { on: boolean };
  /** Names of the settings that need a restart. */
  immutable: () => Iterable<string>;
}

/**
 * The agent's runtime-mutable options, as upstream names them: `Debug` (debug log records,
 * e.g. one per API call) and `PolicyVerdictNotification` (policy verdict events to monitor
 * subscribers; the agent stops forwarding them, the datapath's other events are unaffected).
 */
export function agentRuntimeOptions(deps: AgentRuntimeOptionsDeps): RuntimeOptions {
  return new RuntimeOptions(
    [
      { name: 'Debug', description: 'Write debug log records', get: () => deps.log.level === 'debug', set: (on) => deps.log.setLevel(on ? 'debug' : deps.baseLevel) },
      {
        name: 'PolicyVerdictNotification',
        description: 'Forward policy verdict events to monitor subscribers (hubble, cilium monitor)',
        get: () => deps.verdicts.on,
        set: (on) => void (deps.verdicts.on = on),
      },
    ],
    deps.immutable,
  );
}
