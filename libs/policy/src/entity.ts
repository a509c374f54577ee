// Entities: named groups of peers (`fromEntities` / `toEntities`) and which identities they select.

import { type ReservedIdentityName, ReservedIdentity, isWorldIdentity } from './identity.js';
import { LabelSet } from './label-set.js';

/** Entity names accepted in rules. */
export const EntityNames = [
  'all',
  'world',
  'world-ipv4',
  'world-ipv6',
  'cluster',
  'host',
  'remote-node',
  'health',
  'init',
  'ingress',
  'unmanaged',
  'kube-apiserver',
] as const;

/** An entity name. */
export type Entity = (typeof EntityNames)[number];

/** True when `s` is an entity name. */
export function isEntity(s: string): s is Entity {
  return (EntityNames as readonly string[]).includes(s);
}

function hasReserved(labels: LabelSet, name: ReservedIdentityName): boolean {
  return labels.has('reserved', name);
}

/**
 * True when entity `e` selects the identity `id` with `labels`. `all` selects everything
 * (the caller emits the wildcard identity 0 for it); `world` selects world and CIDR
 * identities; `cluster` selects every identity that is not world.
 */
export function entityMatches(e: Entity, id: number, labels: LabelSet): boolean {
  switch (e) {
    case 'all':
      return true;
    case 'world':
      return isWorldIdentity(id, labels.strings);
    case 'world-ipv4':
      return id === ReservedIdentity['world-ipv4'] || hasReserved(labels, 'world-ipv4');
    case 'world-ipv6':
      return id === ReservedIdentity['world-ipv6'] || hasReserved(labels, 'world-ipv6');
    case 'cluster':
      return !isWorldIdentity(id, labels.strings);
    default:
      return id === ReservedIdentity[e] || hasReserved(labels, e);
  }
}
