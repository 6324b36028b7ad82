// Lint: TypeScript rules everywhere, and the determinism fence around workflow code.
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  { ignores: ['node_modules/**', '.tools/**', '.airlock/**', 'dist/**', 'coverage/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['bin/**/*.js', 'scripts/**/*.js', 'jest.config.js'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: {
        require: 'readonly',
        module: 'writable',
        __dirname: 'readonly',
        process: 'readonly',
        console: 'readonly',
      },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Agents load task files for their names and schemas (the catalog): a task loads its target's SDK when a step
    // runs, so SDK imports at the top of a task file are type-only.
    files: ['tasks/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@aws-sdk/*', 'stripe'],
              allowTypeImports: true,
              message: 'Load the SDK inside plan/execute (await import(...)); import its types only.',
            },
          ],
        },
      ],
    },
  },
  {
    // Workflows only orchestrate: no I/O, no Node built-ins, no SDKs. They may import @temporalio/workflow,
    // @temporalio/common and workflow-safe modules under common/; activities and tasks only as types.
    // The telemetry modules bundled with the workflows (workflowInterceptorModules) run in the sandbox too.
    files: [
      'workflows/**/*.ts',
      'common/**/*.ts',
      'telemetry/workflow-interceptors.ts',
      'telemetry/action-tracing.ts',
      'telemetry/trace-context.ts',
      'telemetry/names.ts',
      'telemetry/sinks.ts',
    ],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({
            name,
            message: 'Workflow code must not use Node built-ins: it must replay deterministically.',
          })),
          patterns: [
            {
              group: [
                '@aws-sdk/*',
                '@temporalio/client',
                '@temporalio/worker',
                '@temporalio/activity',
                '@temporalio/testing',
                '@cedar-policy/*',
                'zod',
                'yaml',
                'commander',
              ],
              message: 'Workflow code must not use SDKs or I/O libraries; call an activity instead.',
            },
            {
              group: [
                '../activities',
                '../activities/*',
                '../tasks',
                '../tasks/*',
                '../policy/*',
                '../crypto/*',
                '../audit/*',
                '../config/*',
                '../client/*',
                '../workers/*',
                '../stack/*',
              ],
              allowTypeImports: true,
              message: 'Workflow code may import these as types only (import type).',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'Workflow code must not read the process environment.' },
        { name: 'setTimeout', message: 'Use sleep() from @temporalio/workflow.' },
        { name: 'fetch', message: 'Network calls belong in activities.' },
      ],
    },
  },
);
