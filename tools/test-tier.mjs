// Sorts compiled test files into the two tiers of tools/test: `unit` (needs no root, kernel,
// etcd or lab: `tools/test --unit`) and `system` (everything else). A test file is `system`
// when its name is `*.e2e.test.js` or when it, or a test helper it imports (a module under a
// `testing/` directory, relatively or through a `@cilium-ts/<project>/testing` subpath,
// followed transitively), contains one of SYSTEM_MARKERS: a root gate (`process.getuid`), a test etcd
// (`startTestEtcd`, `startEtcd(`, the tools/etcd script), a network namespace (`ip netns`, `nsenter`)
// or a child Node process (`process.execPath`: a program of the project started as a process, a
// server in another process; integration tests, which cost most of the unit tier's CPU). The
// classification is by file, so a file with one such case is `system` as a whole.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** What makes a test file need the machine: the marker and the need it stands for. */
export const SYSTEM_MARKERS = [
  { re: /process\.getuid/, need: 'root' },
  { re: /\bstartTestEtcd\b|\bstartEtcd\(|\btools\/etcd['"]/, need: 'etcd' },
  { re: /\bip netns\b|['"]nsenter['"]|--net=\/(run|var)/, need: 'netns' },
  { re: /process\.execPath/, need: 'child process' },
];

const importRe = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g;

/** Resolves `@cilium-ts/<project>/testing[...]` to its compiled file through the project's exports map. */
function resolveTestingSubpath(root, spec) {
  const m = /^@cilium-ts\/([^/]+)\/(testing(?:\/.*)?)$/.exec(spec);
  if (!m) return undefined;
  for (const base of ['libs', 'apps']) {
    const pkgFile = join(root, base, m[1], 'package.json');
    if (!existsSync(pkgFile)) continue;
    const exp = JSON.parse(readFileSync(pkgFile, 'utf8')).exports?.[`./${m[2]}`];
    const target = typeof exp === 'string' ? exp : exp?.default;
    return target ? resolve(dirname(pkgFile), target) : undefined;
  }
  return undefined;
}

/**
 * Why `file` (a compiled test) needs the machine, or undefined when it is a unit test.
 * `root` is the repository root.
 */
export function systemNeed(root, file) {
  if (file.endsWith('.e2e.test.js')) return 'e2e (named *.e2e.test)';
  const seen = new Set();
  const queue = [file];
  while (queue.length > 0) {
    const f = queue.pop();
    if (seen.has(f) || !existsSync(f)) continue;
    seen.add(f);
    const text = readFileSync(f, 'utf8');
    for (const { re, need } of SYSTEM_MARKERS) if (re.test(text)) return `${need} (${f.slice(root.length + 1)})`;
    for (const [, spec] of text.matchAll(importRe)) {
      if (spec.startsWith('.')) {
        const t = resolve(dirname(f), spec);
        if (t.includes('/testing/')) queue.push(t);
      } else {
        const t = resolveTestingSubpath(root, spec);
        if (t) queue.push(t);
      }
    }
  }
  return undefined;
}
