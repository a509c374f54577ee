/**
 * formatTable aligns tab-separated cells like Go's text/tabwriter with minwidth 2, padding 3 and
 * spaces: every cell but the last of a line is padded to its column's width + 3.
 */
export function formatTable(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.slice(0, -1).forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, [...cell].length);
    });
  }
  return rows
    .map((row) =>
      row.map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat(Math.max(2, widths[i] + 3) - [...cell].length))).join(''),
    )
    .map((l) => `${l}\n`)
    .join('');
}

/** formatThousands renders an unsigned integer with `,` between groups of three digits. */
export function formatThousands(n: bigint): string {
  return n.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}
