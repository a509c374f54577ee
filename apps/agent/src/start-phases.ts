/**
 * The agent's start as named phases over one undo stack: each phase registers the undo of
 * what it acquired (close a connection, stop a watch) as it acquires it; when a phase
 * throws, everything acquired so far is undone in reverse order and the phase's own error
 * is rethrown unchanged. A clean stop unwinds the same stack.
 */
import type { Logger } from '@cilium-ts/process';

/** One step of undo: closes or stops what a phase acquired. */
export type Undo = () => void | Promise<void>;

/** The undo stack phases push onto; unwound in reverse on failure and on stop. */
export class UndoStack {
  private readonly steps: Undo[] = [];

  constructor(private readonly log: Logger) {}

  /** Registers undo steps, run after every step pushed later. */
  push(...steps: Undo[]): void {
    this.steps.push(...steps);
  }

  /** Runs every registered step once, newest first; a failing step is logged and the rest still run. */
  async unwind(): Promise<void> {
    for (let step = this.steps.pop(); step; step = this.steps.pop()) {
      try {
        await step();
      } catch (err) {
        this.log.warn('shutdown step failed', { error: (err as Error).message });
      }
    }
  }
}

/**
 * Runs one named start phase; on failure logs the phase, unwinds `undo` (what this and
 * every earlier phase acquired) and rethrows the phase's error.
 */
export async function runStartPhase<T>(name: string, undo: UndoStack, log: Logger, phase: () => T | Promise<T>): Promise<T> {
  try {
    return await phase();
  } catch (err) {
    log.error('agent start phase failed, undoing the phases before it', { phase: name, error: (err as Error).message });
    await undo.unwind();
    throw err;
  }
}
