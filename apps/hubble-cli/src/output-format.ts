// The -o value of observe and its event commands, resolved as upstream hubble v0.12.3 does.
import { UsageError } from './args.js';

/** OutputFormat is a resolved -o value. */
export type OutputFormat = 'compact' | 'dict' | 'json' | 'jsonpb' | 'table';

/** OUTPUT_FORMATS lists the -o values the help names (upstream also takes `JSON` and `tab`). */
export const OUTPUT_FORMATS: OutputFormat[] = ['compact', 'dict', 'json', 'jsonpb', 'table'];

/**
 * resolveOutputFormat maps an -o value to the printer's format. As upstream since v0.11,
 * `json` (or `JSON`) prints what `jsonpb` prints (whole responses) unless the environment
 * variable HUBBLE_COMPAT lists `legacy-json-output`, which keeps the old flow-only `json`;
 * `tab` is `table`. Throws UsageError for anything else.
 */
export function resolveOutputFormat(value: string, env: NodeJS.ProcessEnv): OutputFormat {
  switch (value) {
    case 'compact': case 'dict': case 'jsonpb': return value;
    case 'tab': case 'table': return 'table';
    case 'json': case 'JSON': {
      const compat = (env.HUBBLE_COMPAT ?? '').split(',').map((o) => o.trim().toLowerCase());
      return compat.includes('legacy-json-output') ? 'json' : 'jsonpb';
    }
    default:
      throw new UsageError(`invalid output format "${value}": use ${OUTPUT_FORMATS.join(', ')}`);
  }
}
