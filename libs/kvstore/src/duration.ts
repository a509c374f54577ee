// Go-style durations on the command line ("500ms", "15s", "1m30s", "2h").

/** A duration flag that does not parse. */
export class DurationError extends Error {
  override readonly name = 'DurationError';
  constructor(
    readonly flag: string,
    readonly value: string,
  ) {
    super(`--${flag}: "${value}" is not a duration; write it like 500ms, 15s, 1m30s or 2h`);
  }
}

const Units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a Go-style duration into milliseconds; `flag` names the flag in the error. */
export function parseDuration(value: string, flag: string): number {
  const s = value.trim();
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * Units[m[2]];
    matched = re.lastIndex;
  }
  if (s === '' || matched !== s.length) throw new DurationError(flag, value);
  return Math.round(total);
}
