import { test } from 'node:test';
import { assertMatches } from '../testing/filter-assertions.js';
import { workloadFilter } from './workload.js';

const frontend = { workloads: [{ kind: 'Deployment', name: 'frontend' }] };

test('workload filter: kind and name, either may be empty', () => {
  assertMatches(workloadFilter, { sourceWorkload: [{ kind: 'Deployment', name: 'frontend' }] }, [
    ['exact', { source: frontend }, true],
    ['other name', { source: { workloads: [{ kind: 'Deployment', name: 'backend' }] } }, false],
    ['other kind', { source: { workloads: [{ kind: 'StatefulSet', name: 'frontend' }] } }, false],
    ['destination only', { destination: frontend }, false],
    ['no workloads', { source: {} }, false],
  ]);
  assertMatches(workloadFilter, { sourceWorkload: [{ name: 'frontend' }] }, [
    ['any kind', { source: { workloads: [{ kind: 'DaemonSet', name: 'frontend' }] } }, true],
  ]);
  assertMatches(workloadFilter, { destinationWorkload: [{ kind: 'Deployment' }, { name: 'db' }] }, [
    ['kind only', { destination: frontend }, true],
    ['second entry', { destination: { workloads: [{ kind: 'StatefulSet', name: 'db' }] } }, true],
    ['neither', { destination: { workloads: [{ kind: 'StatefulSet', name: 'cache' }] } }, false],
  ]);
});
