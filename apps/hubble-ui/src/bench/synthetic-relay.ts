// A stand-in relay for the UI benchmark: observer.Observer whose GetFlows streams synthetic
// flows (workloads in a few namespaces, some dropped, some L7) at a fixed rate until the
// call ends. Runs in its own process (ui-bench starts it) so that it does not share the
// backend's CPU.
import { Server, ServerCredentials, type ServerWritableStream } from '@grpc/grpc-js';
import { flow, observer } from '@cilium-ts/api';

/** syntheticFlow is flow number i of a set spread over `workloads` workloads. */
export function syntheticFlow(i: number, workloads: number): observer.GetFlowsResponse {
  const src = i % workloads;
  const dst = (i * 7 + 3) % workloads;
  const ep = (w: number): Partial<flow.Endpoint> => ({ namespace: `ns${w % 5}`, podName: `app${w}-5d8f7`, labels: [`k8s:app=app${w}`], identity: 1000 + w });
  const now = Date.now();
  const time = { seconds: BigInt(Math.floor(now / 1000)), nanos: (now % 1000) * 1e6 };
  return observer.GetFlowsResponse.fromPartial({
    nodeName: 'n1',
    time,
    flow: {
      time,
      nodeName: 'n1',
      verdict: i % 10 === 0 ? flow.Verdict.DROPPED : flow.Verdict.FORWARDED,
      source: ep(src),
      destination: ep(dst),
      IP: { source: `10.0.${src >> 8}.${src & 255}`, destination: `10.0.${dst >> 8}.${dst & 255}`, ipVersion: flow.IPVersion.IPv4 },
      l4: { TCP: { sourcePort: 40000 + (i % 1000), destinationPort: 80 + (i % 3), flags: { SYN: true } } },
      ...(i % 13 === 0 ? { l7: { type: flow.L7FlowType.REQUEST, http: { method: 'GET', url: '/api', code: 0, protocol: 'HTTP/1.1', headers: [] } } } : {}),
      Summary: 'TCP Flags: SYN',
    },
  });
}

/** serveSyntheticRelay serves on `address` at `perSecond` flows per second per call. */
export async function serveSyntheticRelay(address: string, perSecond: number, workloads: number): Promise<Server> {
  const server = new Server();
  const pre = Array.from({ length: 1000 }, (_, i) => syntheticFlow(i, workloads));
  const impl: Partial<observer.ObserverServer> = {
    getFlows(call: ServerWritableStream<observer.GetFlowsRequest, observer.GetFlowsResponse>) {
      const start = Date.now();
      let sent = 0;
      let stopped = false;
      call.on('cancelled', () => (stopped = true));
      const tick = (): void => {
        if (stopped) return;
        const due = Math.floor(((Date.now() - start) / 1000) * perSecond);
        while (sent < due) {
          if (!call.write(pre[sent++ % pre.length]!)) {
            call.once('drain', tick);
            return;
          }
        }
        setTimeout(tick, 5);
      };
      tick();
    },
    getNamespaces(_call, cb) {
      cb(null, observer.GetNamespacesResponse.fromPartial({ namespaces: [0, 1, 2, 3, 4].map((n) => ({ cluster: '', namespace: `ns${n}` })) }));
    },
  };
  server.addService(observer.ObserverService, impl as observer.ObserverServer);
  await new Promise<number>((resolve, reject) => server.bindAsync(address, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  return server;
}

if (process.argv[2] === '--serve') {
  const [address, rate, workloads] = process.argv.slice(3);
  await serveSyntheticRelay(address!, Number(rate), Number(workloads));
  process.stdout.write('ready\n');
}
