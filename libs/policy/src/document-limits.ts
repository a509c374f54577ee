// The size and nesting limits of a policy document, checked before it is decoded.
//
// Size: 2 MiB. One Kubernetes object can be at most about 1.5 MiB (etcd's default
// --max-request-bytes), so every CiliumNetworkPolicy that fits into Kubernetes fits here,
// with room for a file holding a few of them. The `cilium` CLI checks it before sending,
// the agent when it receives a document (its gRPC server accepts larger messages, so a
// caller gets this message instead of the transport's).
//
// Nesting: 64 levels of lists and maps. The deepest real construct (a List of
// CiliumNetworkPolicies, down to an HTTP header match's secret) is about 12 levels; the
// YAML library's composer recurses per level and runs out of stack in the hundreds.
import { LineCounter, Parser } from 'yaml';
import { joinPath } from './validation-error.js';

/** Largest policy document accepted, in bytes of UTF-8. */
export const MaxDocumentBytes = 2 * 1024 * 1024;

/** Deepest nesting of lists and maps accepted in a policy document. */
export const MaxNestingDepth = 64;

/** A policy document is larger than MaxDocumentBytes. */
export class PolicyDocumentTooLargeError extends Error {
  override readonly name = 'PolicyDocumentTooLargeError';
  /** Size of the document in bytes. */
  readonly bytes: number;
  /** The limit it exceeds. */
  readonly limit: number;

  constructor(bytes: number, limit = MaxDocumentBytes) {
    super(`policy document too large (${bytes} bytes, limit ${limit}); split it into several documents`);
    this.bytes = bytes;
    this.limit = limit;
  }
}

/** Throws PolicyDocumentTooLargeError when `text` is over MaxDocumentBytes. */
export function checkDocumentSize(text: string): void {
  // Cheap bound first: a UTF-8 encoding is at least one byte per UTF-16 unit and at most three.
  if (text.length * 3 <= MaxDocumentBytes) return;
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MaxDocumentBytes) throw new PolicyDocumentTooLargeError(bytes);
}

/** Where a document first nests deeper than MaxNestingDepth. */
export interface NestingViolation {
  /** Path of the collection that is one level too deep (JSON), or '' (YAML). */
  path: string;
  /** 1-based line and column of that collection (YAML only). */
  line?: number;
  col?: number;
}

/** The message for a nesting violation. */
export function nestingMessage(v: NestingViolation): string {
  const where = v.line !== undefined ? ` at line ${v.line}, column ${v.col}` : '';
  return `nests lists and maps deeper than ${MaxNestingDepth} levels${where}; a policy needs far fewer`;
}

interface CstItem {
  key?: CstNode | null;
  value?: CstNode | null;
}
interface CstNode {
  type: string;
  offset: number;
  items?: CstItem[];
  value?: CstNode;
}

const COLLECTIONS = new Set(['block-map', 'block-seq', 'flow-collection']);

/**
 * Scans YAML text (its concrete syntax tree, without recursion) for collections nested
 * deeper than MaxNestingDepth; returns the first one's position, or undefined.
 */
export function yamlNestingViolation(text: string): NestingViolation | undefined {
  const lines = new LineCounter();
  for (const token of new Parser(lines.addNewLine).parse(text)) {
    const top = (token as CstNode).type === 'document' ? (token as CstNode).value : undefined;
    if (!top) continue;
    const stack: Array<[CstNode, number]> = [[top, 0]];
    while (stack.length > 0) {
      const [node, parentDepth] = stack.pop()!;
      if (!COLLECTIONS.has(node.type)) continue;
      const depth = parentDepth + 1;
      if (depth > MaxNestingDepth) {
        const pos = lines.linePos(node.offset);
        return { path: '', line: pos.line, col: pos.col };
      }
      for (const item of node.items ?? []) {
        if (item.key) stack.push([item.key, depth]);
        if (item.value) stack.push([item.value, depth]);
      }
    }
  }
  return undefined;
}

/** Walks a decoded JSON value (without recursion) for nesting deeper than MaxNestingDepth; returns the first path. */
export function valueNestingViolation(value: unknown): NestingViolation | undefined {
  const stack: Array<[unknown, string, number]> = [[value, '', 0]];
  while (stack.length > 0) {
    const [v, path, parentDepth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    const depth = parentDepth + 1;
    if (depth > MaxNestingDepth) return { path };
    if (Array.isArray(v)) v.forEach((x, i) => stack.push([x, joinPath(path, i), depth]));
    else for (const [k, x] of Object.entries(v)) stack.push([x, joinPath(path, k), depth]);
  }
  return undefined;
}
