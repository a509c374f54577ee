// Kernel feature probes the datapath depends on.
import { existsSync, statfsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { release } from 'node:os';
import { probes } from './libbpf.js';

/** One probed feature. */
export interface KernelFeature { name: string; available: boolean; detail: string }

const BPF_FS_MAGIC = 0xcafe4a11;
const MapType = { percpuHash: 5, percpuArray: 6, lruHash: 9, lpmTrie: 11, ringbuf: 27 } as const;
const PROG_TYPE_SCHED_CLS = 3;
const HELPER = { redirectNeigh: 152, redirectPeer: 155 } as const;

/**
 * Whether tc programs may call bpf_redirect_peer (kernel >= 5.10): local delivery straight
 * into the destination pod's namespace. Without it the datapath uses bpf_redirect_neigh.
 */
export function redirectPeerSupported(): boolean {
  try {
    return probes.helper(PROG_TYPE_SCHED_CLS, HELPER.redirectPeer) === 1;
  } catch {
    return false;
  }
}

function probe(name: string, fn: () => number, what: string): KernelFeature {
  try {
    const r = fn();
    return { name, available: r === 1, detail: r === 1 ? `${what} supported` : r === 0 ? `${what} not supported by this kernel` : `probe failed with errno ${-r} (needs root / CAP_BPF)` };
  } catch (err) {
    return { name, available: false, detail: `probe failed: ${(err as Error).message}` };
  }
}

/** Whether path is a mounted bpffs. */
export function isBpffs(path: string): boolean {
  try {
    return statfsSync(path).type === BPF_FS_MAGIC;
  } catch {
    return false;
  }
}

/** Probes BTF, ring buffer, tc/clsact, tcx, bpf_redirect_peer / _neigh, LPM trie, LRU hash, per-CPU maps and bpffs. */
export function probeKernelFeatures(): KernelFeature[] {
  const [maj, min] = release().split('.').map((x) => parseInt(x, 10));
  const tcx = maj > 6 || (maj === 6 && min >= 6);
  const tc = spawnSync('tc', ['-V'], { encoding: 'utf8' });
  const schedCls = probe('tc/clsact', () => probes.progType(PROG_TYPE_SCHED_CLS), 'BPF_PROG_TYPE_SCHED_CLS');
  if (tc.status !== 0) { schedCls.available = false; schedCls.detail += '; the tc binary (iproute2) is missing'; } else schedCls.detail += `; ${tc.stdout.trim()}`;
  return [
    { name: 'BTF', available: existsSync('/sys/kernel/btf/vmlinux'), detail: '/sys/kernel/btf/vmlinux' + (existsSync('/sys/kernel/btf/vmlinux') ? ' present' : ' missing (CONFIG_DEBUG_INFO_BTF)') },
    probe('ring buffer', () => probes.mapType(MapType.ringbuf), 'BPF_MAP_TYPE_RINGBUF'),
    schedCls,
    { name: 'tcx', available: tcx, detail: `kernel ${release()} ${tcx ? '>=' : '<'} 6.6 (tcx links for endpoints in the agent's own namespace; tc clsact otherwise)` },
    probe('redirect peer', () => probes.helper(PROG_TYPE_SCHED_CLS, HELPER.redirectPeer),
      'bpf_redirect_peer from tc (kernel >= 5.10; local delivery into the pod namespace, veth peers)'),
    probe('redirect neigh', () => probes.helper(PROG_TYPE_SCHED_CLS, HELPER.redirectNeigh),
      'bpf_redirect_neigh from tc (kernel >= 5.10; local delivery to the host veth, the fallback)'),
    probe('LPM trie', () => probes.mapType(MapType.lpmTrie), 'BPF_MAP_TYPE_LPM_TRIE'),
    probe('LRU hash', () => probes.mapType(MapType.lruHash), 'BPF_MAP_TYPE_LRU_HASH'),
    probe('per-CPU maps', () => Math.min(probes.mapType(MapType.percpuHash), probes.mapType(MapType.percpuArray)), 'BPF_MAP_TYPE_PERCPU_HASH/ARRAY'),
    { name: 'bpffs mounted', available: isBpffs('/sys/fs/bpf'), detail: isBpffs('/sys/fs/bpf') ? '/sys/fs/bpf is bpffs' : '/sys/fs/bpf is not bpffs: mount -t bpf bpf /sys/fs/bpf' },
  ];
}
