// The kvstore session lease TTL flag (--kvstore-lease-ttl): a Go-style duration within the
// range etcd and a lab can live with.
import { parseDuration } from '@cilium-ts/process';

/** Default TTL of an agent's kvstore session lease, as upstream's --kvstore-lease-ttl (15m). */
export const DefaultKvstoreLeaseTtlSeconds = 15 * 60;
/**
 * Smallest session lease TTL accepted. Upstream's floor is 25 s (its lock lease); ours is
 * lower so that a lab can show a node leaving quickly. Below it a keepalive (every third
 * of the TTL) delayed by a busy event loop could let the lease lapse.
 */
export const MinKvstoreLeaseTtlSeconds = 5;
/** Largest session lease TTL accepted (one day, upstream's bound). */
export const MaxKvstoreLeaseTtlSeconds = 86_400;

/** A lease TTL that etcd cannot take or that is outside the accepted range. */
export class LeaseTtlError extends Error {
  override readonly name = 'LeaseTtlError';
  constructor(
    readonly flag: string,
    readonly value: string,
    readonly seconds: number,
  ) {
    const why = Number.isInteger(seconds) ? `(${seconds}s) is not between ${MinKvstoreLeaseTtlSeconds}s and ${MaxKvstoreLeaseTtlSeconds}s` : 'is not a whole number of seconds (etcd leases count in seconds)';
    super(`--${flag}: "${value}" ${why}; pick a TTL from ${MinKvstoreLeaseTtlSeconds}s to 24h (shorter: a dead node leaves the cluster sooner; longer: its pods stay reachable across a longer outage)`);
  }
}

/**
 * Parses a session lease TTL flag (a duration such as 15m or 30s) into whole seconds;
 * throws DurationError or LeaseTtlError naming the flag.
 */
export function parseLeaseTtl(value: string, flag: string): number {
  const seconds = parseDuration(value, flag) / 1000;
  if (!Number.isInteger(seconds) || seconds < MinKvstoreLeaseTtlSeconds || seconds > MaxKvstoreLeaseTtlSeconds) throw new LeaseTtlError(flag, value, seconds);
  return seconds;
}
