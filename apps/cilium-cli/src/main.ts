#!/usr/bin/env node
// cilium: the command-line client of the cilium-ts agent.
import { runCli } from './cli.js';

// A closed pipe (`... | head`) ends the program quietly, as it would a Go CLI.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

const abort = new AbortController();
process.once('SIGINT', () => abort.abort());
process.once('SIGTERM', () => abort.abort());
process.exitCode = await runCli(process.argv.slice(2), { signal: abort.signal });
