import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SockEndpoints } from './sock-endpoints.js';

test('SockEndpoints: endpoints seen before the load balancer are written when it attaches; deletes forget the cookie; unreadable namespaces are logged, not thrown', () => {
  const map = new Map<bigint, number>();
  const logs: string[] = [];
  const cookies: Record<string, bigint> = { '/run/netns/a': 11n, '/run/netns/b': 22n };
  const s = new SockEndpoints((msg) => logs.push(msg), (path) => {
    const c = cookies[path];
    if (c === undefined) throw new Error(`no namespace ${path}`);
    return c;
  });
  s.add({ id: 1, netns: '/run/netns/a' });
  assert.equal(map.size, 0);
  s.attach({ setNetnsEndpoint: (cookie, id) => (id === 0 ? map.delete(cookie) : map.set(cookie, id)) });
  s.add({ id: 2, netns: '/run/netns/b' });
  s.add({ id: 3, netns: '/run/netns/gone' });
  s.add({ id: 4, netns: '' });
  assert.deepEqual([...map], [[11n, 1], [22n, 2]]);
  assert.equal(logs.length, 1);
  s.remove(1);
  s.remove(3);
  assert.deepEqual([...map], [[22n, 2]]);
});
