/** NodeError is one peer stream failure, ready to become a NODE_ERROR node_status event. */
export interface NodeErrorGroup {
  message: string;
  nodeNames: string[];
}

/**
 * ErrorAggregator coalesces peer stream failures with the same message that happen within a
 * window into one group (upstream relay: one NODE_ERROR event naming all affected nodes).
 */
export class ErrorAggregator {
  private readonly pending = new Map<string, { names: string[]; timer: NodeJS.Timeout }>();

  constructor(
    private readonly windowMs: number,
    private readonly emit: (group: NodeErrorGroup) => void,
  ) {}

  /** add records that a node failed with a message; the group is emitted when its window closes. */
  add(nodeName: string, message: string): void {
    const existing = this.pending.get(message);
    if (existing) {
      existing.names.push(nodeName);
      return;
    }
    const timer = setTimeout(() => this.emitOne(message), this.windowMs);
    this.pending.set(message, { names: [nodeName], timer });
  }

  /** flush emits every pending group now. */
  flush(): void {
    for (const message of [...this.pending.keys()]) this.emitOne(message);
  }

  /** cancel forgets pending groups without emitting them. */
  cancel(): void {
    for (const { timer } of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
  }

  private emitOne(message: string): void {
    const entry = this.pending.get(message);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.pending.delete(message);
    this.emit({ message, nodeNames: entry.names });
  }
}
