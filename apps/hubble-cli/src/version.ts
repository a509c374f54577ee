/** CLI_VERSION is what `hubble version` prints (the upstream CLI version we emulate, plus ours). */
export const CLI_VERSION = '0.9.0';
/** CLI_BUILD names this implementation. */
export const CLI_BUILD = 'cilium-ts';
