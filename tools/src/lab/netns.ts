// Named network namespaces (/run/netns/<name>) through iproute2.
import { existsSync, readdirSync } from 'node:fs';
import { runChecked } from './exec.js';

/** True if /run/netns/<name> exists. */
export function netnsExists(name: string): boolean {
  return existsSync(`/run/netns/${name}`);
}

/** Creates a namespace with its loopback up. */
export async function createNetns(name: string): Promise<void> {
  await runChecked(['ip', 'netns', 'add', name]);
  await runChecked(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
}

/** Names of namespaces starting with prefix, sorted so pods (longer names) come first. */
export function listNetns(prefix: string): string[] {
  let names: string[] = [];
  try {
    names = readdirSync('/run/netns');
  } catch {
    return [];
  }
  return names.filter((n) => n.startsWith(prefix)).sort((a, b) => b.length - a.length || a.localeCompare(b));
}

/** Deletes a namespace if it exists (its links go with it). */
export async function deleteNetns(name: string): Promise<void> {
  if (!netnsExists(name)) return;
  await runChecked(['ip', 'netns', 'delete', name]);
}

/** Runs argv inside the namespace: `ip netns exec <name> ...argv`. */
export function inNetns(name: string, argv: readonly string[]): string[] {
  return ['ip', 'netns', 'exec', name, ...argv];
}
