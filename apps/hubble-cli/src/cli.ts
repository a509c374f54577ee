import { UsageError } from './args.js';
import { ConnectError } from './connect.js';
import type { Io } from './global-flags.js';
import { runListNamespaces } from './list-namespaces-command.js';
import { runListNodes } from './list-nodes-command.js';
import { runObserve } from './observe-command.js';
import { ProtoJsonError } from './proto-json.js';
import { runStatus } from './status-command.js';
import { TimeParseError } from './time-parse.js';
import { CLI_BUILD, CLI_VERSION } from './version.js';

const ROOT_HELP = `Hubble is a utility to observe and inspect recent Cilium routed traffic in a cluster.

Usage:
  hubble [command]

Available Commands:
  observe     Observe flows (observe agent-events / debug-events: agent or debug events) of a Hubble server
  status      Display status of Hubble server
  list nodes  List Hubble nodes (needs a Hubble relay)
  list namespaces  List namespaces with recent flows
  version     Display detailed version information

Use "hubble [command] --help" for more information about a command.
`;

/** runCli runs one hubble command line and resolves to the process exit status. */
export async function runCli(argv: string[], io: Io): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.out(ROOT_HELP);
        return 0;
      case 'observe':
        return await runObserve(rest, io);
      case 'status':
        return await runStatus(rest, io);
      case 'list': {
        const [sub, ...more] = rest;
        if (sub === 'nodes' || sub === 'node') return await runListNodes(more, io);
        if (sub === 'namespaces') return await runListNamespaces(more, io);
        if (sub === undefined || sub === '--help' || sub === '-h') {
          io.out('List Hubble objects\n\nUsage:\n  hubble list nodes [flags]\n  hubble list namespaces [flags]\n');
          return 0;
        }
        throw new UsageError(`unknown command "${sub}" for "hubble list": use "hubble list nodes" or "hubble list namespaces"`);
      }
      case 'version':
      case '--version':
        io.out(`hubble v${CLI_VERSION} (${CLI_BUILD}) compiled with node ${process.version} on ${process.platform}/${process.arch}\n`);
        return 0;
      default:
        throw new UsageError(`unknown command "${cmd}" for "hubble"; run "hubble --help" for the list of commands`);
    }
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConnectError || err instanceof TimeParseError || err instanceof ProtoJsonError) {
      io.err(`${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
