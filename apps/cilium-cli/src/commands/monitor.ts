// cilium monitor: stream datapath and agent events from Monitor.Listen.
import { status, type ServiceError } from '@grpc/grpc-js';
import { agent } from '@cilium-ts/api';
import { AgentCallError } from '../agent-connection.js';
import { CliError } from '../cli-context.js';
import { defineCommand, hostFlag, outputFlag, wantsJson } from '../command.js';
import { MONITOR_TYPES, formatMonitorEvent, monitorEventJson } from '../monitor-format.js';

/** `cilium monitor [--type drop|debug|trace|policy-verdict|agent]... [-o json]`; runs until the stream ends or Ctrl-C. */
export const monitorCommand = defineCommand({
  path: ['monitor'],
  summary: 'print datapath events (drop, debug, trace, policy verdict) and agent events as they happen',
  flags: {
    ...hostFlag,
    ...outputFlag,
    type: { type: 'string[]', description: `event types to show: ${Object.keys(MONITOR_TYPES).join(', ')}, agent (repeatable; default all)` },
  },
  aliases: { '-t': '--type' },
  async run(ctx, { values }) {
    const json = wantsJson(values.output);
    const types: number[] = [];
    let agentEvents = values.type.length === 0;
    for (const t of values.type) {
      if (t === 'agent') agentEvents = true;
      else if (MONITOR_TYPES[t] !== undefined) types.push(MONITOR_TYPES[t]);
      else throw new CliError(`unknown --type "${t}"; use ${Object.keys(MONITOR_TYPES).join(', ')} or agent`, 2);
    }
    if (values.type.length > 0 && types.length === 0) types.push(0xff); // agent events only: no datapath type matches
    const conn = ctx.connect(values.host);
    const request: agent.MonitorRequest = { types: values.type.length === 0 ? [] : types, agentEvents, batch: false };
    const stream = conn.monitor.listen(request);
    const onAbort = (): void => stream.cancel();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    try {
      await new Promise<void>((resolve, reject) => {
        stream.on('data', (ev: agent.MonitorEvent) => {
          ctx.stdout.write(json ? JSON.stringify(monitorEventJson(ev)) + '\n' : formatMonitorEvent(ev) + '\n');
        });
        stream.on('error', (err: ServiceError) => {
          if (err.code === status.CANCELLED && ctx.signal.aborted) resolve();
          else reject(new AgentCallError('Monitor.Listen', conn.target, err));
        });
        stream.on('end', () => resolve());
      });
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
    }
    return 0;
  },
});
