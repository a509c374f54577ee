#!/usr/bin/env node
// cilium: the command-line client of the cilium-ts agent.
import { runCli } from './cli.js';

const abort = new AbortController();
process.once('SIGINT', () => abort.abort());
process.once('SIGTERM', () => abort.abort());
process.exitCode = await runCli(process.argv.slice(2), { signal: abort.signal });
