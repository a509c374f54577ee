/**
 * Endpoint options (upstream Cilium's `cilium endpoint config ID Option=value`): a small
 * registry of named boolean options, the parsing of their values, and how they show.
 * Pure: applying an option to the datapath is the endpoint manager's job.
 */

/** The options of one endpoint, as kept in its state file. */
export interface EndpointOptions {
  /** The datapath emits debug records (monitor type 2) for this endpoint. */
  Debug: boolean;
}

/** Name of an endpoint option. */
export type EndpointOptionName = keyof EndpointOptions;

/** One option of the registry. */
export interface EndpointOptionSpec {
  name: EndpointOptionName;
  description: string;
  default: boolean;
}

/** Every endpoint option, ordered by name. */
export const ENDPOINT_OPTIONS: readonly EndpointOptionSpec[] = [
  { name: 'Debug', description: 'Emit datapath debug records (cilium monitor --type debug) for this endpoint', default: false },
];

/** Values that turn an option on or off (compared without case), as upstream accepts them. */
const TRUE_VALUES = new Set(['true', 'enable', 'enabled', 'on']);
const FALSE_VALUES = new Set(['false', 'disable', 'disabled', 'off']);

/** An option name or value that the registry does not know. */
export class EndpointOptionError extends Error {
  constructor(
    /** The option as given. */
    readonly option: string,
    /** The value as given (undefined when the option itself is unknown). */
    readonly value: string | undefined,
    reason: string,
  ) {
    super(`endpoint option ${value === undefined ? option : `${option}=${value}`}: ${reason}`);
    this.name = 'EndpointOptionError';
  }
}

/** The options of a new endpoint. */
export function defaultEndpointOptions(): EndpointOptions {
  return Object.fromEntries(ENDPOINT_OPTIONS.map((o) => [o.name, o.default])) as unknown as EndpointOptions;
}

/** Options read from a state file: known options of the right type, defaults for the rest (older files have none). */
export function restoreEndpointOptions(saved: unknown): EndpointOptions {
  const out = defaultEndpointOptions();
  if (saved && typeof saved === 'object') {
    for (const o of ENDPOINT_OPTIONS) {
      const v = (saved as Record<string, unknown>)[o.name];
      if (typeof v === 'boolean') out[o.name] = v;
    }
  }
  return out;
}

/** The registry entry of an option name (exact spelling, as upstream), or EndpointOptionError listing the known ones. */
export function endpointOptionSpec(name: string): EndpointOptionSpec {
  const spec = ENDPOINT_OPTIONS.find((o) => o.name === name);
  if (!spec) throw new EndpointOptionError(name, undefined, `unknown option; known options: ${ENDPOINT_OPTIONS.map((o) => o.name).join(', ')}`);
  return spec;
}

/** What a boolean option accepts, for messages. */
export const BOOLEAN_OPTION_VALUES = 'true or false (also enable/disable, enabled/disabled, on/off)';

/** Parses a boolean option value as upstream accepts it (case-insensitive); undefined when it is none of them. */
export function parseBooleanOption(value: string): boolean | undefined {
  const v = value.trim().toLowerCase();
  if (TRUE_VALUES.has(v)) return true;
  if (FALSE_VALUES.has(v)) return false;
  return undefined;
}

/** Parses an option value; EndpointOptionError names the option and the accepted values. */
export function parseEndpointOptionValue(name: string, value: string): boolean {
  endpointOptionSpec(name);
  const on = parseBooleanOption(value);
  if (on === undefined) throw new EndpointOptionError(name, value, `not a valid value; use ${BOOLEAN_OPTION_VALUES}`);
  return on;
}

/**
 * The options after applying `changes` (name -> value text) to `current`; all or nothing:
 * the first unknown option or value throws and nothing is changed.
 */
export function applyEndpointOptionChanges(current: EndpointOptions, changes: Readonly<Record<string, string>>): EndpointOptions {
  const next: EndpointOptions = { ...current };
  for (const [name, value] of Object.entries(changes)) next[endpointOptionSpec(name).name] = parseEndpointOptionValue(name, value);
  return next;
}

/** How a value shows in `cilium endpoint config` and `endpoint get`: Enabled or Disabled. */
export function endpointOptionText(on: boolean): 'Enabled' | 'Disabled' {
  return on ? 'Enabled' : 'Disabled';
}
