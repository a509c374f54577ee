// Workspace lint: TypeScript rules plus nx module boundaries by project tags.
// libs tagged type:pure (libs/policy, libs/bpf) may not import gRPC, etcd or Kubernetes code.
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

export default [
  { ignores: ['**/dist/**', '**/node_modules/**', 'libs/api/src/generated/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@nx/enforce-module-boundaries': ['error', {
        enforceBuildableLibDependency: true,
        // Test helpers another project's tests may import from an app: only testing subpaths.
        allow: ['@cilium-ts/agent/testing'],
        banTransitiveDependencies: false,
        depConstraints: [
          {
            sourceTag: 'type:pure',
            onlyDependOnLibsWithTags: ['type:pure'],
            bannedExternalImports: ['@grpc/*', 'etcd3', '@kubernetes/*', '@opentelemetry/*'],
          },
          { sourceTag: 'type:api', onlyDependOnLibsWithTags: [] },
          { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:pure', 'type:api', 'type:lib'] },
          { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:pure', 'type:api', 'type:lib'] },
          { sourceTag: 'type:tool', onlyDependOnLibsWithTags: ['type:pure', 'type:api', 'type:lib'] },
        ],
      }],
    },
  },
];
