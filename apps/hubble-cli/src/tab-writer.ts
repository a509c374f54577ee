/**
 * formatTable aligns tab-separated cells like Go's text/tabwriter with minwidth 2, padding 3 and
 * spaces: every cell but the last of a line is padded to its column's width + 3, where a
 * column is, as in Go, a block of consecutive lines that all have a cell there followed by
 * another (a shorter line ends the block, so `list namespaces -o wide` rows without a cluster
 * split it).
 */
export function formatTable(rows: string[][]): string {
  const width = (cell: string): number => [...cell].length;
  const padded: string[][] = rows.map((row) => [...row]);
  const columns = Math.max(0, ...rows.map((r) => r.length - 1));
  for (let c = 0; c < columns; c++) {
    for (let start = 0; start < rows.length; ) {
      if (rows[start]!.length - 1 <= c) {
        start++;
        continue;
      }
      let end = start;
      let w = 2;
      while (end < rows.length && rows[end]!.length - 1 > c) w = Math.max(w, width(rows[end++]![c]!) + 3);
      for (let r = start; r < end; r++) padded[r]![c] = rows[r]![c]! + ' '.repeat(w - width(rows[r]![c]!));
      start = end;
    }
  }
  return padded.map((row) => `${row.join('')}\n`).join('');
}

/** formatThousands renders an unsigned integer with `,` between groups of three digits. */
export function formatThousands(n: bigint): string {
  return n.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}
