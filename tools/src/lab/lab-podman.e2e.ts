// End-to-end tests of `tools/lab up --runtime podman`, registered by
// tools/src/images/images.e2e.test.ts between the build of the service images and their
// removal (so CI builds them once): a two-node IPv4 lab whose operator, agents, L7 proxies,
// hubble-servers, relay and Hubble UI each run in their own container passes `check` (its
// L7 cases: the proxy containers enforce the HTTP rule), shows flows of both nodes and L7
// flows through the relay, serves the UI's page and scripts from the UI's container at the
// address `up` prints, reports container ids that podman knows, runs the agents and the
// proxies unprivileged with their capabilities and the others as non-root without any, and
// `down` leaves no container, namespace, pin, process or run directory. Bad input: a daemon that exits at
// start (a bad flag through the test hook), a port already in use and missing images fail
// `up` naming the cause, with the daemon's last log lines, and leave nothing behind.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkImages, labLabel, podmanArgv } from './container-runtime.js';
import type { LabStatus } from './cmd-status.js';
import { testExtraArgsVar } from './cmd-up.js';
import { labCommand, observeFlows } from './e2e-support.js';
import { run } from './exec.js';
import { isLoopback, listenersOf } from './exposure.js';
import { bpfRoot, LabLayout, ports, repoRoot } from './layout.js';
import { listNetns } from './netns.js';
import { findLabProcesses } from './process.js';

const podman = async (...args: string[]): Promise<string> => {
  const r = await run([...podmanArgv, ...args], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, `podman ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

/** Asserts that nothing of lab `name` is left: containers, namespaces, pins, processes, run directory. */
export async function assertNothingLeft(name: string): Promise<void> {
  const layout = new LabLayout(name);
  const pins = existsSync(bpfRoot) ? readdirSync(bpfRoot).filter((d) => d.startsWith(`${name}-`)) : [];
  assert.deepEqual(
    {
      containers: (await podman('ps', '--all', '--filter', `label=${labLabel}=${name}`, '--format', '{{.Names}}')).trim(),
      netns: listNetns(layout.netnsPrefix),
      pins,
      processes: findLabProcesses(name),
      runDir: existsSync(layout.runDir),
    },
    { containers: '', netns: [], pins: [], processes: [], runDir: false },
    `lab ${name} left something behind`,
  );
}

/** Registers the podman lab tests (they need the service images, which the caller builds). */
export function podmanLabTests(skip: string | false): void {
  test('lab on podman: every daemon but etcd in its own container; check, flows through the relay, status with container ids, down leaves nothing', { skip }, async () => {
    const name = `pod${process.pid}`;
    const layout = new LabLayout(name);
    try {
      const up = await labCommand('up', '--runtime', 'podman', '--nodes', '2', '--ipv4-only', '--name', name);
      assert.equal(up.code, 0, `tools/lab up --runtime podman failed:\n${up.stderr}\n${up.stdout}`);
      assert.match(up.stderr, /agent n1 \(container\) \.\.\. ready, container [0-9a-f]{12}/);
      assert.match(up.stderr, /proxy n2 \(container\) \.\.\. ready, container [0-9a-f]{12}/);
      const ui = `http://127.0.0.1:${ports.hubbleUi}/`;
      assert.ok(up.stderr.includes(`hubble-ui (container) ... ready, container `) && up.stderr.includes(`, ${ui}`), `up names the UI's container and address:\n${up.stderr}`);
      assert.ok(up.stdout.includes(`UI:      ${ui}`), `the summary prints the UI's address:\n${up.stdout}`);

      const st = JSON.parse((await labCommand('status', '--name', name, '--json')).stdout) as LabStatus;
      assert.equal(st.runtime, 'podman');
      assert.deepEqual(st.services.filter((s) => s.role !== 'etcd').map((s) => s.name).sort(), ['agent-n1', 'agent-n2', 'hubble-relay', 'hubble-server-n1', 'hubble-server-n2', 'hubble-ui', 'operator', 'proxy-n1', 'proxy-n2']);
      const daemons = st.services.filter((s) => s.role !== 'etcd');
      const running = (await podman('ps', '--no-trunc', '--format', '{{.ID}}')).split('\n');
      for (const s of daemons) {
        assert.ok(s.containerId && running.includes(s.containerId), `${s.name}: container ${s.containerId} runs (podman ps)`);
        assert.ok(s.alive && s.reachable, `${s.name} alive=${s.alive} reachable=${s.reachable}`);
      }
      const text = (await labCommand('status', '--name', name)).stdout;
      for (const s of daemons) assert.ok(text.includes(s.containerId!.slice(0, 12)), `status shows ${s.name}'s container id`);

      // Least privilege: the agents unprivileged with exactly their capabilities, the others non-root without any.
      for (const s of daemons) {
        const [privileged, user, caps] = (await podman('inspect', '--format', '{{.HostConfig.Privileged}}|{{.Config.User}}|{{.EffectiveCaps}}', s.containerId!)).trim().split('|');
        assert.equal(privileged, 'false', `${s.name} is not privileged`);
        if (s.role === 'agent') assert.equal(caps, '[CAP_BPF CAP_NET_ADMIN CAP_PERFMON CAP_SYS_ADMIN]', `${s.name}: capabilities`);
        else if (s.role === 'proxy') {
          assert.equal(caps, '[CAP_BPF CAP_NET_ADMIN CAP_SYS_ADMIN]', `${s.name}: capabilities`);
          const netns = (await podman('inspect', '--format', '{{.HostConfig.NetworkMode}}', s.containerId!)).trim();
          assert.equal(netns, `ns:/run/netns/${layout.nodeNetns(s.node!)}`, `${s.name} runs in its node's namespace`);
        } else {
          assert.match(user ?? '', /^65532:/, `${s.name} runs as 65532`);
          assert.equal(caps, '[]', `${s.name}: no capabilities`);
        }
      }
      // Every daemon (containers included: they carry the lab's marker) listens on loopback only.
      const listeners = await listenersOf(findLabProcesses(name));
      assert.deepEqual(listeners.filter((l) => !isLoopback(l.address)).map((l) => `${l.address}:${l.port}`), []);
      assert.ok(listeners.some((l) => l.port === ports.relay) && listeners.some((l) => l.port === ports.hubbleServer(2)), 'relay and hubble-server listeners seen');

      // The page and every script it loads come from the UI's image (no internet at runtime).
      for (const path of ['', 'static/app.js', 'static/app.css', 'static/dagre.esm.js', 'healthz']) {
        const res = await fetch(`${ui}${path}`);
        assert.equal(res.status, 200, `GET ${ui}${path} from the UI's container`);
        assert.ok((await res.arrayBuffer()).byteLength > 0, `${path}: a body`);
      }

      const check = await labCommand('check', '--name', name);
      assert.equal(check.code, 0, `tools/lab check failed:\n${check.stdout}\n${check.stderr}`);

      const ipOf = (pod: string, node: number): string => st.pods.find((p) => p.name === pod && p.node === node)!.ip!;
      const want = [
        ['n1 client -> n2 web:80 FORWARDED at n2', ipOf('client', 1), ipOf('web', 2), 80, 'FORWARDED', 'n2'],
        ['n2 other -> n1 web:80 DROPPED at n1', ipOf('other', 2), ipOf('web', 1), 80, 'DROPPED', 'n1'],
        ['n2 client -> n2 web:80 FORWARDED at n2', ipOf('client', 2), ipOf('web', 2), 80, 'FORWARDED', 'n2'],
      ] as const;
      let missing: string[] = [];
      for (let attempt = 0; attempt < 10; attempt++) {
        const flows = await observeFlows(layout);
        missing = want
          .filter(([, src, dst, port, verdict, node]) => !flows.some((f) => f.IP?.source === src && f.IP?.destination === dst && f.l4?.TCP?.destination_port === port && f.verdict === verdict && f.node_name === node))
          .map(([what]) => what);
        // The proxy containers' access records reach the hubble-servers (L7 flows).
        if (!flows.some((f) => (f as { l7?: unknown }).l7)) missing.push('an L7 flow (the proxies\' access log)');
        if (missing.length === 0) break;
        await new Promise((r) => setTimeout(r, 2000));
      }
      assert.deepEqual(missing, [], 'flows seen through the relay');
    } finally {
      const down = await labCommand('down', '--name', name);
      assert.equal(down.code, 0, down.stderr);
      assert.match(down.stdout, /9 container\(s\) removed/);
    }
    await assertNothingLeft(name);
    const again = await labCommand('down', '--name', name);
    assert.equal(again.code, 0, 'down is idempotent');
    assert.match(again.stdout, /0 container\(s\) removed/);
  });

  test('lab on podman, bad input: a daemon that exits at start, a port in use, missing images: up names the cause, shows the last log lines, leaves nothing', { skip }, async () => {
    const name = `podbad${process.pid}`;
    try {
      const r = await run([...labCommandArgv(), 'up', '--runtime', 'podman', '--nodes', '2', '--ipv4-only', '--no-traffic', '--name', name], {
        env: { ...process.env, LAB_NO_SETUP: '1', [testExtraArgsVar]: JSON.stringify({ 'hubble-relay': ['--no-such-flag'] }) },
        timeoutMs: 240_000,
      });
      assert.equal(r.code, 1, `up should fail:\n${r.stderr}`);
      assert.match(r.stderr, new RegExp(`starting hubble-relay failed: its container cts-${name}-hubble-relay \\([0-9a-f]{12}\\) is exited \\(exit 2\\)`));
      assert.match(r.stderr, /last lines of .*hubble-relay\.log \(podman logs .*\):\n.*unknown flag --no-such-flag/);
      assert.match(r.stderr, /removed container cts-.*-agent-n1/, 'it removes what it started');
      await assertNothingLeft(name);
    } finally {
      await labCommand('down', '--name', name);
    }

    // A port of the lab already in use: refused before anything starts, naming the port.
    const server = createServer();
    await new Promise<void>((ok) => server.listen(ports.relay, '127.0.0.1', ok));
    try {
      const busy = await labCommand('up', '--runtime', 'podman', '--nodes', '1', '--name', name);
      assert.equal(busy.code, 1);
      assert.match(busy.stderr, new RegExp(`port 127\\.0\\.0\\.1:${ports.relay}: already in use`));
      await assertNothingLeft(name);
    } finally {
      server.close();
    }

    // Missing images are named (a version no image carries).
    const images = await checkImages('0.0.0-missing');
    assert.deepEqual(images.missing.map((i) => i.replace(/^localhost\/cilium-ts\//, '')), ['operator', 'agent', 'proxy', 'hubble-server', 'hubble-relay', 'hubble-ui'].map((i) => `${i}:0.0.0-missing`));
  });
}

const labCommandArgv = (): string[] => [join(repoRoot, 'tools', 'lab')];
