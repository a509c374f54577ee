#!/usr/bin/env node
// cilium-cni: the CNI plugin executable. The runtime sets CNI_* variables, writes the
// network config on stdin and reads the result (or an error object) from stdout.
import { readFileSync } from 'node:fs';
import { CniError, CniErrorCode, asCniError } from './cni-error.js';
import { parseCniEnv } from './cni-env.js';
import { runCommand, versionInfo, type CommandDeps } from './commands.js';
import { LATEST_VERSION, SUPPORTED_VERSIONS, decodeNetConfig, validateNetConfig } from './net-config.js';
import { reexecInNodeNetns } from './node-netns.js';
import { createPluginLog } from './plugin-log.js';

function readStdin(): string {
  try {
    return readFileSync(0, 'utf8');
  } catch {
    return ''; // no stdin at all (closed or a terminal): treated as an empty config
  }
}

/** Runs one CNI invocation; returns the process exit code. */
async function main(): Promise<number> {
  const stdin = readStdin();
  let cniVersion = LATEST_VERSION;
  try {
    const rawVersion = (JSON.parse(stdin) as { cniVersion?: unknown }).cniVersion;
    // The error object speaks the config's version only when it is one we speak; otherwise
    // (e.g. the error is that the version is unsupported) our latest one.
    if (typeof rawVersion === 'string' && (SUPPORTED_VERSIONS as readonly string[]).includes(rawVersion)) cniVersion = rawVersion;
  } catch {
    // Reported below when the command needs the config.
  }
  try {
    const env = parseCniEnv(process.env);
    if (env.command === 'VERSION') {
      process.stdout.write(JSON.stringify(versionInfo()) + '\n');
      return 0;
    }
    const conf = validateNetConfig(decodeNetConfig(stdin));
    const reexecCode = reexecInNodeNetns(conf.nodeNetns, stdin);
    if (reexecCode !== undefined) return reexecCode;
    // Loaded only now: the gRPC stack is most of the plugin's start-up time, and
    // VERSION and invalid input need none of it.
    const { connectAgent } = await import('./agent-client.js');
    const deps: CommandDeps = {
      connect: connectAgent,
      log: createPluginLog(conf.logFile, { command: env.command, containerId: env.containerId, pid: process.pid }),
    };
    deps.log.log('debug', 'invoked', { netns: env.netns, ifname: env.ifname, args: env.args });
    const { withCommandSpan } = await import('./command-span.js');
    const attributes = { 'cni.container_id': env.containerId, 'cni.netns': env.netns, 'cni.ifname': env.ifname };
    const result = await withCommandSpan(env.command, attributes, () => runCommand(env, conf, deps));
    if (result !== undefined) process.stdout.write(JSON.stringify(result) + '\n');
    return 0;
  } catch (err) {
    const cniErr: CniError = asCniError(err, CniErrorCode.Internal, 'internal error');
    process.stdout.write(JSON.stringify(cniErr.toJSON(cniVersion)) + '\n');
    return 1;
  }
}

process.exitCode = await main();
