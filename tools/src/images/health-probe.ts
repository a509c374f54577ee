// The HEALTHCHECK of every cilium-ts service image: asks a server's grpc.health.v1.Health
// service for the status of one service ("" = the server as a whole) and exits 0 when it
// is SERVING, 1 otherwise (not serving, unknown service, unreachable), 2 on a usage error.
// Usage: node health-probe.js ADDRESS [SERVICE]   ADDRESS: unix:///path or host:port
import { health } from '@cilium-ts/api';
import { createClient, unary } from '@cilium-ts/grpc';

/** How long one probe may take before it counts as a failure. */
export const PROBE_DEADLINE_MS = 3000;

/** Outcome of one probe: the exit status and the line to print. */
export interface ProbeResult {
  code: 0 | 1;
  message: string;
}

/** Checks `service` at `address` through the gRPC health service. */
export async function probeHealth(address: string, service: string): Promise<ProbeResult> {
  const client = createClient(health.HealthClient, address);
  const what = `${service === '' ? 'server' : `service "${service}"`} at ${address}`;
  try {
    const res = await unary(client, 'check', health.HealthCheckRequest.fromPartial({ service }), { deadline: PROBE_DEADLINE_MS });
    const status = health.healthCheckResponse_ServingStatusToJSON(res.status);
    if (res.status === health.HealthCheckResponse_ServingStatus.SERVING) return { code: 0, message: `${what}: ${status}` };
    return { code: 1, message: `${what}: ${status}` };
  } catch (err) {
    return { code: 1, message: `${what}: health check failed: ${(err as Error).message}` };
  } finally {
    client.close();
  }
}

const [address, service = '', ...rest] = process.argv.slice(2);
if (!address || rest.length > 0 || address.startsWith('-')) {
  process.stderr.write('usage: health-probe ADDRESS [SERVICE]   (ADDRESS: unix:///path or host:port)\n');
  process.exit(2);
}
const r = await probeHealth(address, service);
(r.code === 0 ? process.stdout : process.stderr).write(r.message + '\n');
process.exit(r.code);
