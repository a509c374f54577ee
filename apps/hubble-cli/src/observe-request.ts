import { flow, observer } from '@cilium-ts/api';
import { FlagValues, UsageError, type ParsedArgs } from './args.js';
import { FILTER_FLAGS, FlowFilterBuilder } from './filter-builder.js';
import { fromProtoJson } from './proto-json.js';
import { parseTimeArg } from './time-parse.js';

/** ALL_FLOWS is what --all sends as `number` (2^64−1). */
export const ALL_FLOWS = 18446744073709551615n;
/** DEFAULT_FLOW_COUNT is the number of flows requested without a selector. */
export const DEFAULT_FLOW_COUNT = 20n;

function parseFilterJson(flag: string, text: string): flow.FlowFilter {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`invalid --${flag} value: not JSON (${(err as Error).message}); expected a FlowFilter such as '{"source_pod":["default/"]}'`);
  }
  try {
    return fromProtoJson('flow.FlowFilter', flow.FlowFilter, json as never);
  } catch (err) {
    throw new UsageError(`invalid --${flag} value: ${(err as Error).message}`);
  }
}

/**
 * buildGetFlowsRequest turns observe's flags into the GetFlowsRequest hubble v0.12.3 sends:
 * filters from the filter flags (in order, `--not` included) plus --allowlist/--denylist JSON,
 * and number/follow/since/until from the selector flags (see HUBBLE-API.md §1.1).
 */
export function buildGetFlowsRequest(parsed: ParsedArgs, flags: FlagValues, nowNanos?: bigint): observer.GetFlowsRequest {
  const builder = new FlowFilterBuilder();
  const filterFlags = new Set<string>(FILTER_FLAGS);
  for (const occ of parsed.flags) if (filterFlags.has(occ.name)) builder.add(occ.name, occ.value);
  const { whitelist, blacklist } = builder.build();
  for (const v of flags.all('allowlist')) whitelist.push(parseFilterJson('allowlist', v));
  for (const v of flags.all('denylist')) blacklist.push(parseFilterJson('denylist', v));

  const follow = flags.bool('follow');
  const all = flags.bool('all');
  const last = flags.has('last') ? flags.uint('last') : 0n;
  const firstN = flags.has('first') ? flags.uint('first') : 0n;
  const first = firstN > 0n;
  if (first && last > 0n) throw new UsageError('cannot set both --first and --last');
  if (first && follow) throw new UsageError('cannot set both --first and --follow');
  if (first && all) throw new UsageError('cannot set both --first and --all');

  const sinceArg = flags.string('since');
  const untilArg = flags.string('until');
  const since = sinceArg !== '' ? parseTimeArg(sinceArg, nowNanos) : undefined;
  // --until is sent unless following (upstream since v0.10; v0.9 sent it only with --since).
  const until = untilArg !== '' && !follow ? parseTimeArg(untilArg, nowNanos) : undefined;

  let number = first ? firstN : last;
  if (since === undefined && until === undefined && !first) {
    if (all) number = ALL_FLOWS;
    else if (last === 0n && !follow) number = DEFAULT_FLOW_COUNT;
  }
  return observer.GetFlowsRequest.fromPartial({ number, first, follow, whitelist, blacklist, since, until });
}
