// Command lines of the cilium CLI against one agent.
import { appMain } from './layout.js';

/**
 * argv of `cilium <args...> --host unix://<socket>`. The host flag goes after the command:
 * the cilium CLI accepts flags there (as upstream's does) but not before the command.
 */
export function ciliumArgv(socket: string, ...args: string[]): string[] {
  return [process.execPath, appMain('cilium-cli'), ...args, '--host', `unix://${socket}`];
}
