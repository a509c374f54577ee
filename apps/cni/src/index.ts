// @cilium-ts/cni: the cilium-cni plugin. Its executable is dist/main.js; these exports
// are the naming and labelling rules other projects (the agent, the lab) share with it.
export { hostIfnameFor } from './pod-network.js';
export { podIdentityLabels, DEFAULT_AGENT_SOCKET, PLUGIN_TYPE, SUPPORTED_VERSIONS, LATEST_VERSION } from './net-config.js';
export { CniError, CniErrorCode } from './cni-error.js';
export { versionInfo } from './commands.js';
