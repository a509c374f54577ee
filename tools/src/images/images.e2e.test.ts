// Root: `tools/images build` makes one image per service; one container of each, started as
// a node would run it (the agent with only the capabilities and mounts named in
// deploy/containers/README.md, the proxy with NET_ADMIN, SYS_ADMIN and BPF, cilium-docker with NET_ADMIN
// and SYS_ADMIN, the others non-root where the image says so), passes its HEALTHCHECK (the
// gRPC health service; the UI's /healthz; cilium-docker's Plugin.Activate; the CNI
// installer's plugin answering VERSION); the
// lab runs on them (`tools/lab up --runtime podman`, ../lab/lab-podman.e2e.ts: registered
// here so that CI builds the images once); and `tools/images clean` removes the images. The containers share the network namespace of
// the first one (etcd, from the machine's etcd binary on the Debian base image; no network
// of its own, so nothing listens on the machine's ports).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { repoRoot } from '../lab/layout.js';
import { agentCapabilities } from '../lab/container-runtime.js';
import { podmanLabTests } from '../lab/lab-podman.e2e.js';

const skip = process.getuid?.() !== 0 && process.env.CI !== 'true' ? 'needs root' : false;
// Inside the clean-room container (tools/cleanroom) there is no podman: not run there.
const inside = process.env.CILIUM_TS_CLEANROOM === '1';
const services = ['agent', 'operator', 'proxy', 'hubble-server', 'hubble-relay', 'hubble-ui', 'cni-installer', 'cilium-docker'] as const;
/** The images whose process runs as root (their capabilities are named in deploy/containers/README.md). */
const rootImages: readonly string[] = ['agent', 'proxy', 'cni-installer', 'cilium-docker'];

function sh(cmd: string, args: string[], opts: { echo?: boolean } = {}): { code: number | null; out: string } {
  const r = spawnSync(cmd, args, { cwd: repoRoot, encoding: 'utf8', maxBuffer: 64 << 20 });
  const out = (r.stdout ?? '') + (r.stderr ?? '');
  if (opts.echo) process.stdout.write(out);
  return { code: r.status, out };
}
const podman = (...args: string[]): { code: number | null; out: string } => sh('podman', ['--runtime', 'runc', ...args]);

/** Runs the container's HEALTHCHECK until it reports healthy (at most `attempts` tries, 2 s apart). */
function waitHealthy(name: string, attempts = 45): { ok: boolean; last: string } {
  let last = '';
  for (let i = 0; i < attempts; i++) {
    const r = podman('healthcheck', 'run', name);
    last = r.out.trim();
    if (r.code === 0) return { ok: true, last };
    const state = podman('inspect', '--format', '{{.State.Status}}', name).out.trim();
    if (state !== 'running') return { ok: false, last: `${name} is ${state}: ${podman('logs', '--tail', '30', name).out}` };
    spawnSync('sleep', ['2']);
  }
  return { ok: false, last: `${last}\n${podman('logs', '--tail', '30', name).out}` };
}

if (!inside) {
  const pod = `cts-images-${process.pid}`;
  const containers = ['cilium-docker', 'cni-installer', 'hubble-ui', 'hubble-relay', 'hubble-server', 'proxy', 'agent', 'operator', 'etcd'].map((c) => `${pod}-${c}`);
  const removeContainers = (): void => {
    for (const c of containers) podman('rm', '-f', c);
  };
  const pinDir = `/sys/fs/bpf/cts-img${process.pid}`; // its own top-level dir: nothing of it is left after the test
  const tmp = mkdtempSync('/tmp/cts-images-');
  after(() => {
    removeContainers();
    rmSync(pinDir, { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
  });

  test('tools/images refuses an unknown command or service, naming it', { skip }, () => {
    const a = sh(join(repoRoot, 'tools', 'images'), ['frobnicate']);
    assert.equal(a.code, 2);
    assert.match(a.out, /usage: tools\/images build/);
    const b = sh(join(repoRoot, 'tools', 'images'), ['build', 'no-such-service']);
    assert.equal(b.code, 2);
    assert.match(b.out, /unknown service 'no-such-service'/);
  });

  test('one image per service: built, labelled, each container passes its HEALTHCHECK', { skip }, () => {
    const build = sh(join(repoRoot, 'tools', 'images'), ['build'], { echo: true });
    assert.equal(build.code, 0, 'tools/images build succeeds');
    const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
    const revision = sh('git', ['rev-parse', '--short=12', 'HEAD']).out.trim();
    for (const s of services) {
      const image = `localhost/cilium-ts/${s}:${version}`;
      const labels = JSON.parse(podman('image', 'inspect', '--format', '{{json .Labels}}', image).out) as Record<string, string>;
      assert.equal(labels['org.opencontainers.image.version'], version, `${s}: version label`);
      assert.match(labels['org.opencontainers.image.revision'] ?? '', new RegExp(`^${revision}(-dirty)?$`), `${s}: revision label`);
      const hc = podman('image', 'inspect', '--format', '{{json .HealthCheck}}', image).out;
      assert.match(hc, /health-probe\.js|http-probe\.js|install-cni\.sh/, `${s}: has a HEALTHCHECK`);
      const user = podman('image', 'inspect', '--format', '{{.User}}', image).out.trim();
      if (rootImages.includes(s)) assert.equal(user, '', `${s} runs as root`);
      else assert.match(user, /^65532:/, `${s} runs as a non-root user`);
    }

    const run = join(tmp, 'run');
    const host = join(tmp, 'host');
    mkdirSync(run);
    mkdirSync(host);
    const limits = ['--ulimit', 'nofile=20000:20000', '--ulimit', 'nproc=1000:1000'];
    const common = ['run', '-d', '--network', `container:${pod}-etcd`, ...limits];
    const debian = sh(join(repoRoot, 'tools', 'container-base'), ['debian']).out.trim().split('\n').at(-1) ?? '';
    const etcd = podman('run', '-d', '--network', 'none', ...limits, '--name', `${pod}-etcd`, '-v', '/usr/bin/etcd:/usr/bin/etcd:ro', debian,
      'etcd', '--data-dir', '/tmp/etcd', '--listen-client-urls', 'http://127.0.0.1:2379', '--advertise-client-urls', 'http://127.0.0.1:2379');
    assert.equal(etcd.code, 0, etcd.out);
    const started = [
      podman(...common, '--name', `${pod}-operator`, `localhost/cilium-ts/operator:${version}`),
      podman(...common, '--name', `${pod}-agent`, '--cap-drop', 'ALL', ...agentCapabilities.flatMap((c) => ['--cap-add', c]),
        '--security-opt', 'unmask=/proc/sys', '-v', '/sys/fs/bpf:/sys/fs/bpf', '-v', `${run}:/run/cilium-ts`,
        `localhost/cilium-ts/agent:${version}`, '--node-name', 'n1', '--bpf-pin-dir', pinDir, '--kvstore-lease-ttl', '15s'),
      podman(...common, '--name', `${pod}-hubble-server`, '-v', `${run}:/run/cilium-ts`, `localhost/cilium-ts/hubble-server:${version}`, '--node-name', 'n1'),
      podman(...common, '--name', `${pod}-hubble-relay`, `localhost/cilium-ts/hubble-relay:${version}`, '--peer-service', '127.0.0.1:4244'),
      podman(...common, '--name', `${pod}-cni-installer`, '-v', `${host}:/host`, `localhost/cilium-ts/cni-installer:${version}`),
      // The UI's /healthz answers with the relay's state (connecting or not): the server is up.
      podman(...common, '--name', `${pod}-hubble-ui`, `localhost/cilium-ts/hubble-ui:${version}`),
      // cilium-docker with NET_ADMIN and SYS_ADMIN: its plugin socket answers Plugin.Activate without Docker.
      podman(...common, '--name', `${pod}-cilium-docker`, '--cap-drop', 'ALL', '--cap-add', 'NET_ADMIN', '--cap-add', 'SYS_ADMIN', '-v', `${run}:/run/cilium-ts`,
        `localhost/cilium-ts/cilium-docker:${version}`),
    ];
    for (const r of started) assert.equal(r.code, 0, r.out);
    // The proxy opens the agent's pinned ipcache at start: after the agent is up. Transparent
    // (TPROXY rules and policy route in the shared namespace) with NET_ADMIN, SYS_ADMIN and BPF only.
    const agentUp = waitHealthy(`${pod}-agent`);
    assert.ok(agentUp.ok, `agent passes its HEALTHCHECK: ${agentUp.last}`);
    const proxy = podman(...common, '--name', `${pod}-proxy`, '--cap-drop', 'ALL', '--cap-add', 'NET_ADMIN', '--cap-add', 'SYS_ADMIN', '--cap-add', 'BPF', '--security-opt', 'unmask=/proc/sys',
      '-v', '/sys/fs/bpf:/sys/fs/bpf', '-v', `${run}:/run/cilium-ts`, `localhost/cilium-ts/proxy:${version}`, '--bpf-pin-dir', pinDir);
    assert.equal(proxy.code, 0, proxy.out);
    for (const s of services) {
      const h = waitHealthy(`${pod}-${s}`);
      assert.ok(h.ok, `${s} passes its HEALTHCHECK: ${h.last}`);
    }
    assert.ok(existsSync(join(host, 'opt/cni/bin/cilium-cni')), 'the CNI plugin is on the node');
    assert.ok(existsSync(join(host, 'etc/cni/net.d/05-cilium-ts.conflist')), 'its configuration is on the node');
    removeContainers();
    assert.doesNotMatch(podman('ps', '-a', '--format', '{{.Names}}').out, new RegExp(pod), 'the containers are gone');
  });

  podmanLabTests(skip);

  test('tools/images clean removes the service images', { skip }, () => {
    const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
    const clean = sh(join(repoRoot, 'tools', 'images'), ['clean'], { echo: true });
    assert.equal(clean.code, 0);
    for (const s of services) assert.notEqual(podman('image', 'exists', `localhost/cilium-ts/${s}:${version}`).code, 0, `${s} image removed`);
    assert.doesNotMatch(sh(join(repoRoot, 'tools', 'images'), ['list']).out, /cilium-ts|agent|operator/i);
  });
}
