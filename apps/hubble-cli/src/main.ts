#!/usr/bin/env node
// hubble: the Hubble CLI (observe, status, list nodes, version) for cilium-ts servers and
// relays, and upstream ones.
import { runCli } from './cli.js';

// A closed pipe (`... | head`) ends the program quietly, as it would a Go CLI.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

function write(stream: NodeJS.WriteStream): (s: string) => void {
  return (s) => {
    stream.write(s);
  };
}

runCli(process.argv.slice(2), {
  out: write(process.stdout),
  err: write(process.stderr),
  env: process.env,
  stdoutIsTTY: process.stdout.isTTY === true,
  onInterrupt: (handler) => {
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
    return () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    };
  },
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`hubble: unexpected failure: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
