// @cilium-ts/policy: the pure policy engine (rules, selectors, identities, endpoint policy, trace).

export * from './labels.js';
export * from './label-set.js';
export * from './identity.js';
export * from './validation-error.js';
export * from './selector.js';
export * from './protocol.js';
export * from './port.js';
export * from './cidr.js';
export * from './cidr-identity.js';
export * from './icmp.js';
export * from './entity.js';
export * from './rule.js';
export * from './rule-validate.js';
export * from './namespace.js';
export * from './document.js';
export * from './k8s-network-policy.js';
export * from './repository.js';
export * from './policy-entry.js';
export * from './compiled-section.js';
export * from './endpoint-policy.js';
export * from './trace.js';
export * from './peer-selector.js';
export * from './selector-cache.js';
export * from './endpoint-policy-handle.js';
export * from './policy-engine.js';
