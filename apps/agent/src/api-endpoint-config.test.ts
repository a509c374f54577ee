// The endpoint config handlers: options as the API shows them, and domain errors mapped to
// gRPC statuses naming the offending option.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { agent } from '@cilium-ts/api';
import { InvalidArgumentError, NotFoundError } from '@cilium-ts/grpc';
import { endpointConfigHandlers, endpointOptionsToApi, type EndpointConfigPort } from './api-endpoint-config.js';
import { EndpointNotFoundError, type Endpoint } from './endpoint-manager.js';
import { applyEndpointOptionChanges, defaultEndpointOptions } from './endpoint-options.js';

/** One endpoint (id 5) whose options the port changes like the endpoint manager does. */
function port(): EndpointConfigPort & { ep: Pick<Endpoint, 'id' | 'options'> } {
  const ep = { id: 5, options: defaultEndpointOptions() };
  return {
    ep,
    get: (q) => (q.id === 5 ? (ep as Endpoint) : undefined),
    async configure(id, changes) {
      if (id !== 5) throw new EndpointNotFoundError(String(id));
      ep.options = applyEndpointOptionChanges(ep.options, changes);
      return ep as Endpoint;
    },
  };
}

test('GetEndpointConfig lists every option with its value and description', async () => {
  const h = endpointConfigHandlers(port());
  const cfg = await h.getEndpointConfig({ request: { id: 5 } });
  assert.equal(cfg.id, 5);
  assert.deepEqual(cfg.options.map((o) => [o.name, o.value]), [['Debug', 'Disabled']]);
  assert.match(cfg.options[0]!.description, /debug records/);
  await assert.rejects(h.getEndpointConfig({ request: { id: 9 } }), (e: unknown) => e instanceof NotFoundError && e.code === status.NOT_FOUND);
  await assert.rejects(h.getEndpointConfig({ request: { id: 0 } }), (e: unknown) => e instanceof InvalidArgumentError && e.field === 'id');
});

test('PatchEndpointConfig sets options and answers with the new config; bad options are INVALID_ARGUMENT naming them', async () => {
  const p = port();
  const h = endpointConfigHandlers(p);
  const req = (options: Record<string, string>, id = 5): { request: agent.PatchEndpointConfigRequest } => ({ request: { id, options } });
  assert.deepEqual((await h.patchEndpointConfig(req({ Debug: 'true' }))).options.map((o) => o.value), ['Enabled']);
  assert.deepEqual(endpointOptionsToApi(p.ep), { Debug: 'Enabled' });
  await assert.rejects(h.patchEndpointConfig(req({ Colour: 'blue' })), (e: unknown) => e instanceof InvalidArgumentError && e.field === 'options.Colour' && /unknown option; known options: Debug/.test(e.message));
  await assert.rejects(h.patchEndpointConfig(req({ Debug: 'sometimes' })), (e: unknown) => e instanceof InvalidArgumentError && e.field === 'options.Debug' && /Debug=sometimes/.test(e.message));
  await assert.rejects(h.patchEndpointConfig(req({})), (e: unknown) => e instanceof InvalidArgumentError && /nothing to change/.test(e.message));
  await assert.rejects(h.patchEndpointConfig(req({ Debug: 'false' }, 8)), (e: unknown) => e instanceof NotFoundError && /endpoint 8 not found/.test(e.message));
  assert.deepEqual(endpointOptionsToApi(p.ep), { Debug: 'Enabled' }, 'refused changes change nothing');
});
