#!/usr/bin/env node
/** cilium-agent: parses flags, starts telemetry and the agent, handles SIGTERM. */
import { type KvStoreTls, LeaseTtlError, parseLeaseTtl, readKvStoreTls } from '@cilium-ts/kvstore';
import { DurationError, parseDuration } from '@cilium-ts/process';
import { checkMetricsHost, installSignalHandlers, onShutdown, startTelemetry } from '@cilium-ts/grpc';
import { isLogLevel } from '@cilium-ts/process';
import { AgentLog } from './agent-log.js';
import { Agent } from './agent.js';
import { agentFlags } from './config.js';
import { LbFlagError, parseLbFlags } from './services/lb-flags.js';
import { MasqueradeFlagError, parseMasqueradeFlags } from './masquerade-flags.js';
import { parseRoutingMode, RoutingModeError, type RoutingMode } from './node-routes.js';
import { parseUnderlayProtocol, UnderlayProtocolError, type UnderlayProtocol } from './underlay-protocol.js';

const { values: f } = agentFlags.parseOrExit();
const fail = (msg: string): never => {
  process.stderr.write(`cilium-agent: ${msg}\n`);
  process.exit(2);
};
if (!f.nodeName) fail('--node-name is required (or set CILIUM_NODE_NAME)');
if (!isLogLevel(f.logLevel)) fail(`--log-level: "${f.logLevel}" is not one of debug, info, warn, error`);
if (!['default', 'always', 'never'].includes(f.enablePolicy)) fail(`--enable-policy: "${f.enablePolicy}" is not one of default, always, never`);
if (f.nodeIp && !/^\d{1,3}(\.\d{1,3}){3}$/.test(f.nodeIp)) fail(`--node-ip: "${f.nodeIp}" is not an IPv4 address`);
if (f.nodeIpv6 && !/^[0-9a-fA-F:]+$/.test(f.nodeIpv6)) fail(`--node-ipv6: "${f.nodeIpv6}" is not an IPv6 address`);
if (!Number.isInteger(f.tofqdnsMinTtl) || f.tofqdnsMinTtl < 0) fail(`--tofqdns-min-ttl: ${f.tofqdnsMinTtl} is not a whole number of seconds (0 or more)`);
try {
  checkMetricsHost(f.metricsHost);
} catch (err) {
  fail((err as Error).message);
}
let kvstoreTls: KvStoreTls | undefined;
try {
  kvstoreTls = readKvStoreTls(f, f.kvstoreEndpoints);
} catch (err) {
  fail((err as Error).message);
}
let kvstoreLeaseTtlSeconds = 0;
try {
  kvstoreLeaseTtlSeconds = parseLeaseTtl(f.kvstoreLeaseTtl, 'kvstore-lease-ttl');
} catch (err) {
  fail(err instanceof DurationError || err instanceof LeaseTtlError ? err.message : String(err));
}
let kvstoreHeartbeatIntervalMs = 0;
try {
  kvstoreHeartbeatIntervalMs = parseDuration(f.kvstoreHeartbeatInterval, 'kvstore-heartbeat-interval');
} catch (err) {
  fail(err instanceof DurationError ? err.message : String(err));
}
if (kvstoreHeartbeatIntervalMs <= 0) fail('--kvstore-heartbeat-interval must be positive');
let routingMode: RoutingMode = 'native';
try {
  routingMode = parseRoutingMode(f.routingMode);
} catch (err) {
  fail(err instanceof RoutingModeError ? err.message : String(err));
}
let underlayProtocol: UnderlayProtocol = 'ipv4';
try {
  underlayProtocol = parseUnderlayProtocol(f.underlayProtocol);
} catch (err) {
  fail(err instanceof UnderlayProtocolError ? err.message : String(err));
}
if (routingMode === 'tunnel' && underlayProtocol === 'ipv6' && !f.nodeIpv6) fail('--underlay-protocol ipv6: tunnel mode over IPv6 needs --node-ipv6 (the address other nodes reach this one at)');
let lbSettings: ReturnType<typeof parseLbFlags> | undefined;
try {
  lbSettings = parseLbFlags(f);
} catch (err) {
  fail(err instanceof LbFlagError ? err.message : String(err));
}
let masquerade: ReturnType<typeof parseMasqueradeFlags> = undefined;
try {
  masquerade = parseMasqueradeFlags(f);
} catch (err) {
  fail(err instanceof MasqueradeFlagError ? err.message : String(err));
}
if (process.getuid?.() !== 0) fail('must run as root: the datapath needs BPF, tc and network namespaces');

const agentLog = new AgentLog({ component: 'agent', level: f.logLevel as 'info' });
const log = agentLog.logger;
const telemetry = await startTelemetry({ serviceName: 'cilium-agent', metricsPort: f.metricsPort || undefined, metricsHost: f.metricsHost, logger: log });
onShutdown(() => telemetry.shutdown());

const agentInstance = new Agent(
  {
    nodeName: f.nodeName,
    clusterName: f.clusterName,
    nodeNetns: f.nodeNetns,
    nodeIp: f.nodeIp,
    podCidr: f.podCidr,
    nodeIpv6: f.nodeIpv6,
    podCidrV6: f.podCidrV6,
    enableIpv6: f.enableIpv6 || f.podCidrV6 !== '',
    kvstoreEndpoints: f.kvstoreEndpoints,
    kvstoreTls,
    kvstorePrefix: f.kvstorePrefix,
    kvstoreConnectTimeout: f.kvstoreConnectTimeout,
    kvstoreLeaseTtlSeconds,
    kvstoreHeartbeatIntervalMs,
    stateDir: f.stateDir,
    bpfPinDir: f.bpfPinDir,
    cgroupRoot: f.cgroupRoot,
    ...lbSettings,
    ...(masquerade ? { masquerade } : {}),
    listen: f.listen,
    hubbleAddress: f.hubbleAddress,
    proxyAddress: f.proxyAddress,
    tofqdnsMinTtl: f.tofqdnsMinTtl,
    enablePolicy: f.enablePolicy as 'default',
    routingMode,
    underlayProtocol,
  },
  log,
  agentLog,
);
try {
  await agentInstance.start();
} catch (err) {
  log.error('agent failed to start', { error: (err as Error).message });
  await agentInstance.stop(1000).catch(() => undefined);
  await telemetry.shutdown().catch(() => undefined);
  process.exit(1);
}
installSignalHandlers({ shutdown: (o) => agentInstance.stop(o?.timeoutMs), logger: log }, { logger: log });
