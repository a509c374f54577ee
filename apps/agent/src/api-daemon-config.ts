/**
 * The agent's DaemonConfig service (daemon_config.proto): `cilium config KEY=VALUE` sets the
 * runtime-mutable options (runtime-options.ts), all or nothing; a caller's unknown or
 * immutable option, or a bad value, is INVALID_ARGUMENT naming it.
 */
import type { ServerUnaryCall } from '@grpc/grpc-js';
import { daemonConfig } from '@cilium-ts/api';
import { InvalidArgumentError, type ServiceRegistration } from '@cilium-ts/grpc';
import { RuntimeOptionError, type RuntimeOptions } from './runtime-options.js';

/** Builds the DaemonConfig service registration; `changed` hears of every applied change (logged). */
export function daemonConfigService(options: RuntimeOptions, changed: (names: string[], options: Record<string, string>) => void): ServiceRegistration {
  const implementation = {
    async patchConfig(call: ServerUnaryCall<daemonConfig.PatchConfigRequest, unknown>) {
      const changes = call.request.options;
      if (Object.keys(changes).length === 0) throw new InvalidArgumentError('options is empty: give at least one NAME=VALUE (e.g. Debug=true)', { field: 'options' });
      try {
        const res = options.patch(changes);
        if (res.changed.length > 0) changed(res.changed, res.options);
        return daemonConfig.PatchConfigResponse.fromPartial(res);
      } catch (err) {
        if (err instanceof RuntimeOptionError) throw new InvalidArgumentError(err.message, { field: `options.${err.option}`, cause: err });
        throw err;
      }
    },
  };
  return { definition: daemonConfig.DaemonConfigService, implementation };
}
