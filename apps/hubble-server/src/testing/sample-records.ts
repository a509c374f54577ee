// Datapath records and the endpoint they belong to, shared by the fake agent process and the
// benchmarks: TCP SYN / SYN-ACK traces and a UDP policy drop per source port.
import { agent } from '@cilium-ts/api';
import { encodeEventRecord } from '@cilium-ts/bpf/events';
import { buildPacket, TcpFlags } from '@cilium-ts/bpf/testing/packet-builder';

/** The local endpoint the sample records are about (xwing, id 101). */
export const SAMPLE_ENDPOINT: agent.DeepPartial<agent.Endpoint> = {
  id: 101, ipv4: '10.0.1.5', identity: 256, namespace: 'default', podName: 'xwing', labels: ['k8s:app=xwing'], hostIfindex: 7, hostIfname: 'lxcxwing',
};

/** 192 realistic records: for 64 source ports a SYN trace, a SYN-ACK trace and a UDP drop. */
export function sampleRecords(): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < 64; i++) {
    const sport = 30000 + i;
    out.push(encodeEventRecord({
      type: 4, subType: 5, source: 101, egress: true, srcIdentity: 256, dstIdentity: 257, ifindex: 7,
      packet: buildPacket({ src: '10.0.1.5', dst: '10.0.1.9', protocol: 'tcp', sport: sport, dport: 80, tcpFlags: TcpFlags.syn }),
    }));
    out.push(encodeEventRecord({
      type: 4, subType: 0, source: 101, isReply: true, srcIdentity: 257, dstIdentity: 256, ifindex: 7,
      packet: buildPacket({ src: '10.0.1.9', dst: '10.0.1.5', protocol: 'tcp', sport: 80, dport: sport, tcpFlags: TcpFlags.syn | TcpFlags.ack }),
    }));
    out.push(encodeEventRecord({
      type: 1, subType: 133, source: 101, srcIdentity: 300, dstIdentity: 256,
      packet: buildPacket({ src: '10.0.2.3', dst: '10.0.1.5', protocol: 'udp', sport: sport, dport: 53 }),
    }));
  }
  return out;
}
