/** InvalidDurationError says a duration flag could not be parsed. */
export class InvalidDurationError extends Error {
  override readonly name = 'InvalidDurationError';
  constructor(readonly flag: string, readonly value: string) {
    super(`invalid duration "${value}" for --${flag}: use Go-style durations such as 500ms, 1s, 1m30s`);
  }
}

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** parseDurationMs parses a Go-style duration (`1s`, `500ms`, `1m30s`, or `0`) into milliseconds. */
export function parseDurationMs(flag: string, value: string): number {
  const v = value.trim();
  if (v === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  for (let m = re.exec(v); m !== null; m = re.exec(v)) {
    total += Number(m[1]) * UNIT_MS[m[2]];
    pos = re.lastIndex;
  }
  if (pos === 0 || pos !== v.length) throw new InvalidDurationError(flag, value);
  return total;
}
