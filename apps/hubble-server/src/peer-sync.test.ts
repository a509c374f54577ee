import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agent, peer } from '@cilium-ts/api';
import { PeerList } from './peer-service.js';
import { AgentPeerSync } from './peer-sync.js';

const { UPSERT, DELETE, SYNCED } = agent.MetadataEvent_Kind;
const node = (kind: agent.MetadataEvent_Kind, name: string, hubbleAddress = '', cluster = 'default'): agent.MetadataEvent =>
  agent.MetadataEvent.fromPartial({ kind, node: { name, cluster, hubbleAddress } });
const synced = agent.MetadataEvent.fromPartial({ kind: SYNCED });

function setup(): { peers: PeerList; sync: AgentPeerSync; notes: string[] } {
  const peers = new PeerList();
  const self = { name: 'n1', address: '127.0.0.1:4244' };
  peers.upsert(self);
  const notes: string[] = [];
  peers.on('change', (n) => notes.push(`${peer.ChangeNotificationType[n.type]} ${n.name} ${n.address}`));
  return { peers, sync: new AgentPeerSync(peers, self), notes };
}

test('peer sync: the agent\'s nodes become peers; upserts, address changes and deletes notify', () => {
  const { peers, sync, notes } = setup();
  sync.reset();
  for (const e of [node(UPSERT, 'n2', '10.0.0.2:4244'), node(UPSERT, 'n3', '10.0.0.3:4244', 'c2'), synced]) sync.apply(e);
  assert.deepEqual(peers.list().map((p) => p.name), ['c2/n3', 'n1', 'n2']);
  sync.apply(node(UPSERT, 'n2', '10.0.0.22:4244'));
  sync.apply(node(DELETE, 'n3', '', 'c2'));
  // Events that carry no node (endpoints, identities, ipcache) change nothing.
  sync.apply(agent.MetadataEvent.fromPartial({ kind: UPSERT, identity: { id: 256, labels: ['k8s:app=a'] } }));
  assert.deepEqual(notes, ['PEER_ADDED n2 10.0.0.2:4244', 'PEER_ADDED c2/n3 10.0.0.3:4244', 'PEER_UPDATED n2 10.0.0.22:4244', 'PEER_DELETED c2/n3 10.0.0.3:4244']);
});

test('peer sync: a reconnected stream\'s snapshot replaces the list without re-announcing kept peers', () => {
  const { peers, sync, notes } = setup();
  sync.reset();
  for (const e of [node(UPSERT, 'n2', 'a2'), node(UPSERT, 'n3', 'a3'), synced]) sync.apply(e);
  notes.length = 0;
  // The agent restarted while n3 left: its new snapshot names n2 only.
  sync.reset();
  for (const e of [node(UPSERT, 'n2', 'a2'), synced]) sync.apply(e);
  assert.deepEqual(notes, ['PEER_DELETED n3 a3']);
  assert.deepEqual(peers.list().map((p) => p.name), ['n1', 'n2']);
});

test('peer sync: this node is never deleted; its own registration going away restores its address', () => {
  const { peers, sync } = setup();
  sync.reset();
  for (const e of [node(UPSERT, 'n1', '192.168.0.1:4244'), synced]) sync.apply(e);
  assert.equal(peers.list().find((p) => p.name === 'n1')?.address, '192.168.0.1:4244');
  sync.apply(node(DELETE, 'n1'));
  assert.deepEqual(peers.list(), [{ name: 'n1', address: '127.0.0.1:4244' }]);
  // A registration of this node without an address keeps the server's own (the relay drops
  // address-less peers; the images e2e's relay went unhealthy on that).
  sync.apply(node(UPSERT, 'n1', ''));
  assert.deepEqual(peers.list(), [{ name: 'n1', address: '127.0.0.1:4244' }]);
  sync.apply(node(UPSERT, 'n2', ''));
  assert.equal(peers.list().find((p) => p.name === 'n2')?.address, '', 'other nodes are listed as registered');
  // A snapshot without this node keeps it too.
  sync.reset();
  sync.apply(synced);
  assert.deepEqual(peers.list().map((p) => p.name), ['n1']);
});
