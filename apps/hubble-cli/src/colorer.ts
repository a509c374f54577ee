/** ColorMode is the --color setting. */
export type ColorMode = 'auto' | 'always' | 'never';

const CODES = { red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36 } as const;

/** Colorer wraps text in ANSI colours like the Go CLI (hosts cyan, ports yellow, verdicts by kind), or not at all. */
export class Colorer {
  constructor(readonly enabled: boolean) {}

  /** fromMode decides colour from --color and whether the output is a terminal. */
  static fromMode(mode: ColorMode, isTTY: boolean): Colorer {
    return new Colorer(mode === 'always' || (mode === 'auto' && isTTY));
  }

  private paint(code: number, s: string): string {
    return this.enabled ? `\x1b[${code}m${s}\x1b[0m` : s;
  }

  /** host colours a host name or address. */
  host(s: string): string {
    return this.paint(CODES.cyan, s);
  }

  /** port colours a port number. */
  port(s: string): string {
    return this.paint(CODES.yellow, s);
  }

  /** verdict colours a verdict name by meaning. */
  verdict(s: string): string {
    switch (s) {
      case 'FORWARDED': case 'REDIRECTED': return this.paint(CODES.green, s);
      case 'DROPPED': case 'ERROR': return this.paint(CODES.red, s);
      case 'AUDIT': return this.paint(CODES.yellow, s);
      default: return s;
    }
  }

  /** error colours an error line. */
  error(s: string): string {
    return this.paint(CODES.red, s);
  }
}
