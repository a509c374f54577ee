// Pre-encoded GetFlowsResponse frames for the relay benchmark: one realistic flow (L3/L4,
// endpoints with labels, event type, summary) per message, the node's name, and `time`
// stepping so that the nodes' streams interleave (node i of n at t0 + (k·n + i) µs).
import { flow, observer } from '@cilium-ts/api';
import { WireWriter } from '@cilium-ts/grpc/wire';

/** GetFlowsResponse.time (observer.proto). */
const TIME_FIELD = 1001;

/** The flow every benchmark message carries (about 330 bytes encoded, like a hubble-server trace flow). */
export function benchFlow(nodeName: string): flow.Flow {
  return flow.Flow.fromPartial({
    verdict: flow.Verdict.FORWARDED,
    ethernet: { source: '0a:58:0a:f4:00:05', destination: '0a:58:0a:f4:00:01' },
    IP: { source: '10.244.1.17', destination: '10.244.2.31', ipVersion: flow.IPVersion.IPv4 },
    l4: { TCP: { sourcePort: 43512, destinationPort: 8080, flags: { ACK: true, PSH: true } } },
    source: { ID: 1234, identity: 48211, namespace: 'default', labels: ['k8s:app=frontend', 'k8s:io.kubernetes.pod.namespace=default'], podName: 'frontend-7d9f8b6c5-x2x4q' },
    destination: { ID: 877, identity: 51022, namespace: 'default', labels: ['k8s:app=backend', 'k8s:io.kubernetes.pod.namespace=default'], podName: 'backend-5c6d7f8b9-k3l4m' },
    Type: flow.FlowType.L3_L4,
    nodeName,
    eventType: { type: 4, subType: 0 },
    trafficDirection: flow.TrafficDirection.EGRESS,
    traceObservationPoint: flow.TraceObservationPoint.TO_ENDPOINT,
    isReply: false,
    Summary: 'TCP Flags: ACK, PSH',
  });
}

/**
 * benchFrames returns `count` gRPC frames (5-byte prefix + GetFlowsResponse) of node `index`
 * of `nodes`, concatenated, with times t0 seconds + (k·nodes + index) µs.
 */
export function benchFrames(nodeName: string, index: number, nodes: number, count: number, t0Seconds: bigint): Buffer {
  const head = Buffer.from(observer.GetFlowsResponse.encode(observer.GetFlowsResponse.fromPartial({ flow: benchFlow(nodeName), nodeName })).finish());
  const parts: Buffer[] = [];
  const t0 = Number(t0Seconds);
  const w = new WireWriter(64);
  for (let k = 0; k < count; k++) {
    const us = k * nodes + index;
    w.pos = 0;
    w.timestamp(TIME_FIELD, t0 + Math.floor(us / 1e6), (us % 1e6) * 1000);
    const tail = w.bytes();
    const len = head.length + tail.length;
    const prefix = Buffer.allocUnsafe(5);
    prefix[0] = 0;
    prefix.writeUInt32BE(len, 1);
    parts.push(prefix, head, tail);
  }
  return Buffer.concat(parts);
}
