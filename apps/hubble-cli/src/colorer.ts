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

  /** identity colours a security identity, `(ID:256)` or `(world)`. */
  identity(s: string): string {
    return this.paint(CODES.magenta, s);
  }

  /**
   * verdict colours a verdict text by meaning, as the Go CLI does: forwarded, redirected and
   * a policy verdict's ALLOWED green; dropped, error and DENIED red; audit, traced and
   * translated yellow.
   */
  verdict(s: string): string {
    switch (s) {
      case 'FORWARDED': case 'REDIRECTED': case 'ALLOWED': return this.paint(CODES.green, s);
      case 'DROPPED': case 'ERROR': case 'DENIED': return this.paint(CODES.red, s);
      case 'AUDIT': case 'AUDITED': case 'TRACED': case 'TRANSLATED': return this.paint(CODES.yellow, s);
      default: return s;
    }
  }

  /** auth colours a flow's authentication type: TEST_ALWAYS_FAIL red, any other green. */
  auth(s: string): string {
    return this.paint(s === 'TEST_ALWAYS_FAIL' ? CODES.red : CODES.green, s);
  }

  /** error colours an error line. */
  error(s: string): string {
    return this.paint(CODES.red, s);
  }
}
