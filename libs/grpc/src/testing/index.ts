// @cilium-ts/grpc/testing: helpers for other projects' tests (not for production code).
export { makeTestCerts, type CertFiles, type TestCerts } from './test-certs.js';
export { tempDir } from './temp-dir.js';
