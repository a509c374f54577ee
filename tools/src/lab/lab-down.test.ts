// Root: leftovers of a lab without a state file (fabric, node and pod namespaces, a demo server in a
// pod, a pinned map, a run dir) are all found by name and removed by labDown, twice safely.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { after, test } from 'node:test';
import { labDown } from './cmd-down.js';
import { run, runChecked } from './exec.js';
import { bpfRoot, demoProgram, LabLayout, runRoot } from './layout.js';
import { createNetns, inNetns, listNetns } from './netns.js';
import { addNodeAddress, createFabric } from './node-wiring.js';
import { startWebServer } from './pods.js';
import { findLabProcesses, isAlive } from './process.js';

const skip = process.getuid?.() !== 0 && process.env.CI !== 'true' ? 'needs root' : false;
const name = `d${process.pid}`;
const layout = new LabLayout(name);
after(async () => {
  if (!skip) await labDown(name);
});

test('labDown removes processes, namespaces, pins and the run dir without state.json', { skip }, async () => {
  await createNetns(layout.fabricNetns);
  await createFabric(layout);
  await createNetns(layout.nodeNetns(1));
  await addNodeAddress(layout, 1);
  const ipOut = await runChecked(['ip', '-n', layout.nodeNetns(1), '-o', 'addr', 'show', 'dev', 'node0']);
  assert.match(ipOut, /192\.168\.200\.1\/24/);

  await createNetns(layout.podNetns(1, 'web'));
  const pod = { name: 'web', node: 1, netns: layout.podNetns(1, 'web'), containerId: 'x', ip: null, labels: { app: 'web' }, processes: [] };
  const proc = startWebServer(layout, pod);
  let probe = { code: 1 as number | null, stdout: '' };
  for (let k = 0; k < 100 && probe.code !== 0; k++) {
    await new Promise((r) => setTimeout(r, 50));
    probe = await run(inNetns(pod.netns, [process.execPath, demoProgram('probe'), '127.0.0.1', '8080', '--timeout', '1000']));
  }
  assert.equal(probe.stdout.trim(), 'ok 200 n1-web port 8080', 'the web server answers inside its pod namespace');
  assert.deepEqual(findLabProcesses(name), [proc.pid]);

  const pinDir = layout.bpfPinDir(1);
  mkdirSync(pinDir, { recursive: true });
  await runChecked(['bpftool', 'map', 'create', `${pinDir}/m`, 'type', 'hash', 'key', '4', 'value', '4', 'entries', '1', 'name', 'ctslabtest']);
  mkdirSync(layout.logDir, { recursive: true });

  // Entries of other labs or tools in the shared parents (none when the test runs alone).
  const others = (dir: string): string[] => readdirSync(dir).filter((e) => !e.startsWith(name));
  const otherRuns = others(runRoot);
  const otherPins = others(bpfRoot);

  const report = await labDown(name);
  assert.equal(report.processes, 1);
  assert.equal(report.netns, 3);
  assert.equal(report.pins, 1);
  assert.equal(isAlive(proc.pid), false);
  assert.deepEqual(listNetns(layout.netnsPrefix), []);
  assert.equal(existsSync(pinDir), false);
  assert.equal(existsSync(layout.runDir), false);
  // The shared parents go with the last lab, and stay while something else is in them.
  assert.equal(existsSync(runRoot), otherRuns.length > 0, `${runRoot} (other entries: ${otherRuns.join(', ') || 'none'})`);
  assert.equal(existsSync(bpfRoot), otherPins.length > 0, `${bpfRoot} (other entries: ${otherPins.join(', ') || 'none'})`);

  const again = await labDown(name);
  assert.deepEqual({ ...again, warnings: [] }, { processes: 0, containers: 0, cniDeletes: 0, netns: 0, pins: 0, warnings: [] });
});
