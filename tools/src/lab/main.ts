// Entry point of `tools/lab`: parse the command line and dispatch.
import { parseArgs, usage } from './args.js';
import { labBench } from './cmd-bench.js';
import { labCheck } from './cmd-check.js';
import { labDown } from './cmd-down.js';
import { labStatus } from './cmd-status.js';
import { labUp } from './cmd-up.js';

async function main(argv: readonly string[]): Promise<number> {
  const o = parseArgs(argv);
  if (o.command === 'help') {
    process.stdout.write(usage + '\n');
    return 0;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('tools/lab: run as root (the lab creates network namespaces and loads BPF programs)\n');
    return 1;
  }
  switch (o.command) {
    case 'up':
      try {
        await labUp(o);
      } catch (err) {
        // Bad input or a daemon that failed: the error names the service and shows its last
        // log lines; then everything this "up" started goes (processes, containers,
        // namespaces, pins, the run directory with its logs).
        process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n\nRemoving what this "up" started:\n`);
        const r = await labDown(o.name, (l) => process.stderr.write(`  ${l}\n`));
        for (const w of r.warnings) process.stderr.write(`  warning: ${w}\n`);
        return 1;
      }
      return 0;
    case 'status':
      return labStatus(o);
    case 'check':
      return labCheck(o);
    case 'bench':
      return labBench(o);
    case 'down': {
      const r = await labDown(o.name, (l) => process.stderr.write(`  ${l}\n`));
      for (const w of r.warnings) process.stderr.write(`  warning: ${w}\n`);
      process.stdout.write(
        `lab "${o.name}" is down: ${r.processes} process(es) stopped, ${r.containers} container(s) removed, ${r.cniDeletes} CNI DEL, ${r.netns} netns and ${r.pins} pin dir(s) removed\n`,
      );
      return 0;
    }
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
