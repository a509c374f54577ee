// @cilium-ts/bpf/testing: the datapath's test rigs, for this package's and other projects'
// tests and benchmarks (not part of @cilium-ts/bpf's main export): a pod lab and a two-node
// tunnel lab in network namespaces, packet builders for BPF_PROG_TEST_RUN, a TCP probe from
// a namespace, the root gate / unique names / event collector of privileged tests, and
// kube-proxy's iptables nat table for the service benchmark's baseline.
export { PodLab, sh, type LabPod } from './pod-lab.js';
export * from './tunnel-lab.js';
export { buildPacket, buildIpPacket, Proto, TcpFlags, type PacketSpec } from './packet-builder.js';
export { tcpConnect } from './netns-connect.js';
export { EventCollector, needsRoot, removeSockLbFixture, uniqueName } from './test-support.js';
export { kubeProxyNatRules, serviceChainName, endpointChainName, servicePortName, type KubeProxyService } from './kube-proxy-rules.js';
