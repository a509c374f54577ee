/**
 * The agent's PolicySelectors service (policy_selectors.proto): the policy engine's selector
 * cache for `cilium policy selectors`: each selector in use, the identities it selects, its
 * users and the labels of the rules it comes from.
 */
import { policySelectors } from '@cilium-ts/api';
import { selectorReport } from '@cilium-ts/policy';
import type { ServiceRegistration } from '@cilium-ts/grpc';
import type { PolicyStore } from './policy-store.js';

/** Builds the PolicySelectors service registration over the agent's policy store. */
export function policySelectorsService(policy: Pick<PolicyStore, 'engine' | 'repo' | 'revision'>): ServiceRegistration {
  const implementation = {
    async listSelectors() {
      const selectors = selectorReport(policy.engine.selectorCache, policy.repo.ruleRefs());
      return policySelectors.ListSelectorsResponse.fromPartial({ selectors, policyRevision: BigInt(policy.revision) });
    },
  };
  return { definition: policySelectors.PolicySelectorsService, implementation };
}
