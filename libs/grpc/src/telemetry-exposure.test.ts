// What a service's metrics endpoint exposes when started with defaults: it listens on
// loopback only, and its text carries no command line (its own process: the SDK is global).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { checkMetricsHost, startTelemetry, type Telemetry } from './telemetry.js';
import { FlagError } from '@cilium-ts/process';
import { memoryLogger } from '@cilium-ts/process/testing';

// A distinctive argument on this process's command line, which must not reach /metrics.
const marker = `--cts-secret-flag-${process.pid}`;
process.argv.push(marker);
let telemetry: Telemetry;

before(async () => {
  telemetry = await startTelemetry({ serviceName: 'exposure-test', metricsPort: 0, logger: memoryLogger().logger });
});
after(async () => {
  await telemetry?.shutdown();
});

test('without --metrics-host the endpoint listens on loopback only', () => {
  assert.deepEqual(telemetry.metricsAddress && { ...telemetry.metricsAddress, port: 0 }, { host: '127.0.0.1', port: 0 });
});

test('/metrics names the service but carries no command line or executable path', async () => {
  const res = await fetch(`http://127.0.0.1:${telemetry.metricsAddress!.port}/metrics`);
  const text = await res.text();
  assert.equal(res.status, 200);
  assert.match(text, /target_info\{[^}]*service_name="exposure-test"/);
  for (const leak of [marker, process.argv[1]!, 'process_command', 'process_executable']) {
    assert.ok(!text.includes(leak), `/metrics contains ${leak}:\n${text.split('\n').filter((l) => l.includes('target_info')).join('\n')}`);
  }
});

test('--metrics-host must be an IP address', () => {
  for (const ok of ['127.0.0.1', '::1', '0.0.0.0', '::']) checkMetricsHost(ok);
  for (const bad of ['', 'localhost', '127.0.0.1:9962', 'any']) {
    assert.throws(() => checkMetricsHost(bad), (e: unknown) => e instanceof FlagError && e.flag === '--metrics-host' && e.message.includes(`"${bad}"`));
  }
});
