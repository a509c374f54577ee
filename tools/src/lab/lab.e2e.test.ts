// End to end against the real binaries: a two-node dual-stack lab, flows of both nodes and
// across nodes through the relay with the hubble CLI (IPv4 and IPv6), the connectivity
// check over every node pair and both families, our programs in the kernel, cilium
// status, and a clean "down".
// Skipped (with the reason) when not root or an app is not built, except under CI=true.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { ciliumArgv } from './cilium-cli.js';
import type { LabStatus } from './cmd-status.js';
import { e2eSkip, labCommand, observeFlows, type JsonFlow } from './e2e-support.js';
import { run } from './exec.js';
import { bpfRoot, demoProgram, LabLayout } from './layout.js';
import { inNetns, listNetns } from './netns.js';

const name = `e2e${process.pid}`;
const layout = new LabLayout(name);
const skip = e2eSkip();
const lab = labCommand;
const observe = (): Promise<JsonFlow[]> => observeFlows(layout);

const matches = (f: JsonFlow, src: string, dst: string, port: number): boolean =>
  f.IP?.source === src && f.IP?.destination === dst && f.l4?.TCP?.destination_port === port;

describe('lab e2e (two nodes)', { skip }, () => {
  let status: LabStatus;
  const ipOf = (pod: string, node: number): string => status.pods.find((p) => p.name === pod && p.node === node)!.ip!;
  const ip6Of = (pod: string, node: number): string => status.pods.find((p) => p.name === pod && p.node === node)!.ipv6!;

  before(async () => {
    const up = await lab('up', '--nodes', '2', '--name', name);
    assert.equal(up.code, 0, `tools/lab up failed:\n${up.stderr}\n${up.stdout}`);
    const st = await lab('status', '--name', name, '--json');
    assert.equal(st.code, 0, st.stderr);
    status = JSON.parse(st.stdout) as LabStatus;
  });
  after(async () => {
    await lab('down', '--name', name);
  });

  test('every service is alive and reachable; pods have addresses in their node\'s pod CIDR', () => {
    for (const s of status.services) assert.ok(s.alive && s.reachable, `${s.name} alive=${s.alive} reachable=${s.reachable}`);
    assert.deepEqual(status.pods.map((p) => `n${p.node}/${p.name}`).sort(), ['n1/client', 'n1/other', 'n1/web', 'n2/client', 'n2/other', 'n2/web']);
    for (const p of status.pods) assert.match(p.ip ?? '', /^10\.200\.\d+\.\d+$/);
    assert.notEqual(ipOf('web', 1).split('.')[2], ipOf('web', 2).split('.')[2], 'nodes have distinct pod CIDRs');
    // Dual-stack: IPv6 from the operator's pool, one /120 per node.
    for (const p of status.pods) assert.match(p.ipv6 ?? '', /^fd00:10:200::[0-9a-f]{1,4}$/);
    const block = (ip: string): string => ip.split(':').at(-1)!.padStart(4, '0').slice(0, 2);
    assert.notEqual(block(ip6Of('web', 1)), block(ip6Of('web', 2)), 'nodes have distinct IPv6 pod CIDRs');
  });

  test('the relay shows same-node and cross-node flows, allowed and denied, from both nodes', async () => {
    // [what, source pod, destination pod, port, verdict, node that reports it]
    const want: Array<[string, string, string, number, 'FORWARDED' | 'DROPPED', string]> = [
      ['n1 client -> n1 web:80', ipOf('client', 1), ipOf('web', 1), 80, 'FORWARDED', 'n1'],
      ['n1 client -> n1 web:8080', ipOf('client', 1), ipOf('web', 1), 8080, 'DROPPED', 'n1'],
      // Across nodes: the source node forwards, the destination node enforces by identity.
      ['n1 client -> n2 web:80 at n1', ipOf('client', 1), ipOf('web', 2), 80, 'FORWARDED', 'n1'],
      ['n1 client -> n2 web:80 at n2', ipOf('client', 1), ipOf('web', 2), 80, 'FORWARDED', 'n2'],
      ['n1 client -> n2 web:8080 at n2', ipOf('client', 1), ipOf('web', 2), 8080, 'DROPPED', 'n2'],
      ['n1 other -> n2 web:80 at n2', ipOf('other', 1), ipOf('web', 2), 80, 'DROPPED', 'n2'],
      ['n2 client -> n1 web:80 at n1', ipOf('client', 2), ipOf('web', 1), 80, 'FORWARDED', 'n1'],
      ['n2 other -> n1 web:80 at n1', ipOf('other', 2), ipOf('web', 1), 80, 'DROPPED', 'n1'],
    ];
    let flows: JsonFlow[] = [];
    const missingNow = (): string[] =>
      want
        .filter(([, src, dst, port, verdict, node]) =>
          !flows.some((f) => matches(f, src, dst, port) && f.verdict === verdict && f.node_name === node && (verdict === 'FORWARDED' || f.drop_reason === 133)),
        )
        .map(([what, , , , verdict]) => `${what} ${verdict}`);
    for (let k = 0; k < 30; k++) {
      flows = await observe();
      if (missingNow().length === 0) break;
      await new Promise((r) => setTimeout(r, 2000));
    }
    assert.deepEqual(missingNow(), [], `nodes seen: ${[...new Set(flows.map((f) => f.node_name))].join(',')}`);
    // The destination node knows the remote client by its cluster identity (through the ipcache), not as world.
    const atN2 = flows.find((f) => matches(f, ipOf('client', 1), ipOf('web', 2), 80) && f.node_name === 'n2' && f.verdict === 'FORWARDED');
    const atN1 = flows.find((f) => matches(f, ipOf('client', 1), ipOf('web', 2), 80) && f.node_name === 'n1');
    assert.ok((atN2?.source?.identity ?? 0) >= 256, `remote source identity at n2: ${JSON.stringify(atN2?.source)}`);
    assert.equal(atN2?.source?.identity, atN1?.source?.identity, 'both nodes see the same identity');
    assert.ok(atN2?.source?.labels?.includes('k8s:app=client'), `labels at n2: ${JSON.stringify(atN2?.source?.labels)}`);
  });

  test('lab check agrees with the policy on every node pair, over IPv4 and IPv6', async () => {
    const r = await lab('check', '--name', name);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /^cross-node allowed\s+2\s+2\s+ok$/m);
    assert.match(r.stdout, /^cross-node denied by policy\s+4\s+4\s+ok$/m);
    assert.match(r.stdout, /^same-node allowed \(IPv6\)\s+2\s+2\s+ok$/m);
    assert.match(r.stdout, /^same-node denied by policy \(IPv6\)\s+4\s+4\s+ok$/m);
    assert.match(r.stdout, /^cross-node allowed \(IPv6\)\s+2\s+2\s+ok$/m);
    assert.match(r.stdout, /^cross-node denied by policy \(IPv6\)\s+4\s+4\s+ok$/m);
    // Each node namespace reaches the other node's pods over the native routes (web:80 denied: not app=client).
    assert.match(r.stdout, /^node-to-remote-pod allowed\s+2\s+2\s+ok$/m);
    assert.match(r.stdout, /^node-to-remote-pod denied by policy\s+2\s+2\s+ok$/m);
    assert.match(r.stdout, /^node-to-remote-pod allowed \(IPv6\)\s+2\s+2\s+ok$/m);
  });

  test('the relay shows IPv6 flows (after the check probed them), allowed and denied, same-node and cross-node', async () => {
    const want: Array<[string, string, string, number, 'FORWARDED' | 'DROPPED', string]> = [
      ['n1 client -> n1 web:80', ip6Of('client', 1), ip6Of('web', 1), 80, 'FORWARDED', 'n1'],
      ['n1 other -> n1 web:80', ip6Of('other', 1), ip6Of('web', 1), 80, 'DROPPED', 'n1'],
      ['n1 client -> n2 web:80 at n2', ip6Of('client', 1), ip6Of('web', 2), 80, 'FORWARDED', 'n2'],
      ['n1 client -> n2 web:8080 at n2', ip6Of('client', 1), ip6Of('web', 2), 8080, 'DROPPED', 'n2'],
      ['n2 other -> n1 web:80 at n1', ip6Of('other', 2), ip6Of('web', 1), 80, 'DROPPED', 'n1'],
    ];
    // Probe each path once more now, so its flows are among the latest the relay returns.
    const podOf = (ip: string): { pod: string; node: number } => {
      const p = status.pods.find((x) => x.ipv6 === ip)!;
      return { pod: p.name, node: p.node };
    };
    for (const [, src, dst, port] of want) {
      const { pod, node } = podOf(src);
      await run(inNetns(layout.podNetns(node, pod), [process.execPath, demoProgram('probe'), dst, String(port), '--timeout', '1000']), { timeoutMs: 10_000 });
    }
    let flows: JsonFlow[] = [];
    const missingNow = (): string[] =>
      want
        .filter(([, src, dst, port, verdict, node]) =>
          !flows.some(
            (f) =>
              matches(f, src, dst, port) && f.IP?.ipVersion === 'IPv6' && f.verdict === verdict && f.node_name === node && (verdict === 'FORWARDED' || f.drop_reason === 133),
          ),
        )
        .map(([what, , , , verdict]) => `${what} ${verdict}`);
    for (let k = 0; k < 15; k++) {
      flows = await observe();
      if (missingNow().length === 0) break;
      await new Promise((r) => setTimeout(r, 2000));
    }
    assert.deepEqual(missingNow(), [], `IPv6 flows seen: ${flows.filter((f) => f.IP?.ipVersion === 'IPv6').length}`);
    // Across nodes the destination resolves the IPv6 source to its cluster identity through the ipcache.
    const atN2 = flows.find((f) => matches(f, ip6Of('client', 1), ip6Of('web', 2), 80) && f.node_name === 'n2' && f.verdict === 'FORWARDED');
    assert.ok(atN2?.source?.labels?.includes('k8s:app=client'), `labels at n2: ${JSON.stringify(atN2?.source)}`);
  });

  test('bpftool lists the endpoint programs', async () => {
    const r = await run(['bpftool', 'prog', 'show', '-j']);
    assert.equal(r.code, 0, r.stderr);
    const names = new Set((JSON.parse(r.stdout) as { name?: string }[]).map((p) => p.name));
    assert.ok(names.has('from_container') && names.has('to_container'), 'from_container and to_container are loaded');
  });

  test('the kernel counts the policy drops (cilium bpf metrics list)', async () => {
    for (const i of [1, 2]) {
      const r = await run(ciliumArgv(layout.agentSocket(i), 'bpf', 'metrics', 'list', '-o', 'json'));
      assert.equal(r.code, 0, r.stderr);
      const entries = JSON.parse(r.stdout) as Array<{ reason?: number; direction?: string; packets?: string | number }>;
      const denied = entries.filter((e) => e.reason === 133 && Number(e.packets) > 0);
      const forwarded = entries.filter((e) => !e.reason && Number(e.packets) > 0);
      assert.ok(denied.length > 0, `n${i}: no policy-denied packets counted: ${r.stdout}`);
      assert.ok(forwarded.length > 0, `n${i}: no forwarded packets counted: ${r.stdout}`);
    }
  });

  test('cilium status answers with state ok on both nodes', async () => {
    for (const i of [1, 2]) {
      const r = await run(ciliumArgv(layout.agentSocket(i), 'status', '-o', 'json'));
      assert.equal(r.code, 0, r.stderr);
      assert.equal((JSON.parse(r.stdout) as { state?: string }).state?.toLowerCase(), 'ok', `n${i}: ${r.stdout}`);
    }
  });

  test('down leaves no namespace, pin or run dir behind', async () => {
    const r = await lab('down', '--name', name);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(listNetns(`cts-${name}`), []);
    const pins = existsSync(bpfRoot) ? readdirSync(bpfRoot).filter((d) => d.startsWith(`${name}-`)) : [];
    assert.deepEqual(pins, []);
    assert.equal(existsSync(layout.runDir), false);
  });
});
