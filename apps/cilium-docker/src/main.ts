#!/usr/bin/env node
// cilium-docker: Docker's remote network and IPAM driver for one node's cilium-ts agent.
// `docker network create --driver cilium --ipam-driver cilium NAME` and
// `docker run --net NAME --label app=web ...` then give containers the agent's addresses,
// identities from their labels, policy and Hubble flows.
import type { Server } from 'node:http';
import { rmSync } from 'node:fs';
import { onShutdown, runShutdownHooks } from '@cilium-ts/grpc';
import { createLogger, defineFlags, isLogLevel, type LogLevel } from '@cilium-ts/process';
import { connectAgent } from './agent-client.js';
import { dockerDriver } from './docker-driver.js';
import { servePlugin } from './plugin-server.js';
import { startReconciler } from './reconcile.js';

const flags = defineFlags(
  {
    socket: { type: 'string', default: '/run/docker/plugins/cilium.sock', description: 'the plugin socket; Docker names the driver after the file (cilium.sock: --driver cilium)' },
    agentSocket: { type: 'string', default: 'unix:///run/cilium-ts/agent.sock', env: 'CILIUM_AGENT_SOCKET', description: 'the node agent\'s gRPC address: unix:///path or host:port' },
    agentTimeout: { type: 'number', default: 60, description: 'seconds per agent call (CreateEndpoint waits until the policy is in the kernel)' },
    dockerHost: { type: 'string', default: 'unix:///var/run/docker.sock', env: 'DOCKER_HOST', description: 'Docker\'s API (read for the attaching container\'s name and labels)' },
    nodeNetns: { type: 'string', default: '', description: 'the node\'s network namespace (a name under /run/netns) when the agent runs in one; host veths go there' },
    logLevel: { type: 'string', default: 'info', env: 'CILIUM_LOG_LEVEL', description: 'debug, info, warn or error' },
  },
  { program: 'cilium-docker', summary: 'cilium-ts Docker plugin: libnetwork remote network and IPAM driver talking to the node\'s agent.' },
);

function fail(message: string): never {
  process.stderr.write(`cilium-docker: ${message}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  const { values } = flags.parseOrExit();
  if (!isLogLevel(values.logLevel)) fail(`--log-level: "${values.logLevel}" is not one of debug, info, warn, error`);
  if (!values.socket.startsWith('/') || !values.socket.endsWith('.sock')) fail(`--socket: "${values.socket}" must be an absolute path ending in .sock`);
  if (!values.dockerHost.startsWith('unix:///')) fail(`--docker-host: "${values.dockerHost}" must be unix:///path`);
  if (values.nodeNetns !== '' && !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(values.nodeNetns)) fail(`--node-netns: "${values.nodeNetns}" must be a namespace name under /run/netns`);
  if (!(values.agentTimeout > 0)) fail(`--agent-timeout: must be positive, got ${values.agentTimeout}`);
  const logger = createLogger('cilium-docker', { level: values.logLevel as LogLevel });
  const agent = connectAgent(values.agentSocket, values.agentTimeout * 1000);
  const driverDeps = { agent, dockerSocket: values.dockerHost.slice('unix://'.length), nodeNetns: values.nodeNetns, logger };
  const handlers = dockerDriver(driverDeps);
  let server: Server;
  try {
    server = await servePlugin(values.socket, handlers, logger);
  } catch (err) {
    fail(`cannot listen on ${values.socket}: ${(err as Error).message}`);
  }
  // Endpoints of containers removed while the agent was down: at start and every reconnection.
  startReconciler(driverDeps);
  onShutdown(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(values.socket, { force: true });
    agent.close();
  });
  let stopping = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (stopping) process.exit(1);
      stopping = true;
      logger.info('shutting down', { signal });
      void runShutdownHooks(logger).then(() => {
        logger.info('shutdown complete', {});
        process.exit(0);
      });
    });
  }
  logger.info('cilium-docker started', { socket: values.socket, agent: values.agentSocket, docker: values.dockerHost, nodeNetns: values.nodeNetns || '(own)' });
}

await main();
