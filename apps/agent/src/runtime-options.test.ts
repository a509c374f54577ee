import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AgentLog } from './agent-log.js';
import { agentRuntimeOptions, RuntimeOptionError } from './runtime-options.js';

function setup() {
  const lines: string[] = [];
  const log = new AgentLog({ component: 'agent', level: 'info', stream: { write: (l: string) => lines.push(l) } });
  const verdicts = { on: true };
  const options = agentRuntimeOptions({ log, baseLevel: 'info', verdicts, immutable: () => ['node-name', 'routing-mode'] });
  return { lines, log, verdicts, options };
}

test('Debug switches the level of the root logger and of its children; debug records appear only while on', () => {
  const { lines, log, options } = setup();
  const child = log.logger.child({ subsys: 'x' });
  child.debug('before');
  assert.deepEqual(options.view(), { Debug: 'Disabled', PolicyVerdictNotification: 'Enabled' });
  assert.deepEqual(options.patch({ Debug: 'true' }), { options: { Debug: 'Enabled', PolicyVerdictNotification: 'Enabled' }, changed: ['Debug'] });
  child.debug('during');
  assert.equal(options.patch({ Debug: 'on' }).changed.length, 0, 'setting the same value changes nothing');
  options.patch({ Debug: 'Disabled' });
  child.debug('after');
  child.info('info stays');
  assert.deepEqual(lines.map((l) => (JSON.parse(l) as { msg: string; subsys: string }).msg), ['during', 'info stays']);
  assert.equal((JSON.parse(lines[0]!) as { subsys: string }).subsys, 'x');
  assert.deepEqual(log.recent(1).map((l) => (JSON.parse(l) as { msg: string }).msg), ['info stays']);
});

test('PolicyVerdictNotification turns the verdict switch off and on', () => {
  const { verdicts, options } = setup();
  options.patch({ PolicyVerdictNotification: 'false' });
  assert.equal(verdicts.on, false);
  options.patch({ PolicyVerdictNotification: 'enable' });
  assert.equal(verdicts.on, true);
});

test('immutable and unknown options, and bad values, are refused naming them; nothing changes (all or nothing)', () => {
  const { log, verdicts, options } = setup();
  const cases: Array<[Record<string, string>, string, RegExp]> = [
    [{ PolicyVerdictNotification: 'false', 'node-name': 'x' }, 'node-name', /cannot be changed while the agent runs \(restart it with --node-name\)/],
    [{ Debug: 'true', Conntrack: 'true' }, 'Conntrack', /unknown option; runtime-mutable options: Debug, PolicyVerdictNotification/],
    [{ PolicyVerdictNotification: 'false', Debug: 'maybe' }, 'Debug', /"maybe" is not a valid value/],
  ];
  for (const [changes, option, message] of cases) {
    assert.throws(() => options.patch(changes), (err: unknown) => err instanceof RuntimeOptionError && err.option === option && message.test(err.message));
    assert.equal(log.level, 'info', JSON.stringify(changes));
    assert.equal(verdicts.on, true, JSON.stringify(changes));
  }
});

test('the log keeps only its newest records', () => {
  const log = new AgentLog({ component: 'agent', level: 'info', stream: { write: () => true }, keep: 3 });
  for (let i = 0; i < 5; i++) log.logger.info(`m${i}`);
  assert.deepEqual(log.recent().map((l) => (JSON.parse(l) as { msg: string }).msg), ['m2', 'm3', 'm4']);
  assert.deepEqual(log.recent(2).map((l) => (JSON.parse(l) as { msg: string }).msg), ['m3', 'm4']);
});
