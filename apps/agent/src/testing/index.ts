// @cilium-ts/agent/testing: test helpers for other projects (the fake agent). Not part of the agent's runtime.
export * from './fake-agent.js';
