#!/usr/bin/env node
// Compiles the datapath objects (OBJECTS, in libs/bpf/bpf) into libs/bpf/dist/bpf/*.o with
// Debian's clang (BPF target). PARTS are per-attach-point files that an object includes
// (bpf_lxc.c, bpf_overlay.c in datapath.c); any other .c file fails the build until it is
// listed. Skips objects newer than every source file.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'bpf');
const out = join(root, 'dist', 'bpf');
mkdirSync(out, { recursive: true });
/** The objects the loader opens; each includes the parts it is made of. */
const OBJECTS = ['datapath.c', 'sock.c', 'nodeport.c'];
/** Per-attach-point parts, compiled only inside the object that includes them (datapath.c). */
const PARTS = ['bpf_lxc.c', 'bpf_overlay.c'];
const files = readdirSync(src);
const unknown = files.filter((f) => f.endsWith('.c') && !OBJECTS.includes(f) && !PARTS.includes(f));
if (unknown.length > 0) {
  console.error(`build-bpf: ${unknown.join(', ')} is neither an object (OBJECTS) nor a part of one (PARTS) in scripts/build-bpf.mjs: add it to one of them`);
  process.exit(1);
}
const newestSource = Math.max(0, ...files.filter((f) => f.endsWith('.h') || f.endsWith('.c')).map((f) => statSync(join(src, f)).mtimeMs));
for (const c of OBJECTS) {
  const obj = join(out, c.replace(/\.c$/, '.o'));
  if (existsSync(obj) && statSync(obj).mtimeMs > newestSource) continue;
  const args = ['-O2', '-g', '-Wall', '-Werror', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-c', join(src, c), '-o', obj];
  const r = spawnSync('clang', args, { stdio: 'inherit' });
  if (r.error || r.status !== 0) {
    console.error(`build-bpf: clang ${args.join(' ')} failed${r.error ? `: ${r.error.message}` : ''}; install Debian's clang and libbpf-dev`);
    process.exit(1);
  }
  console.log(`build-bpf: ${c} -> ${obj}`);
}
