/**
 * The fault suite (`npm run test:faults`): workers, the Temporal server and targets as real processes, killed and
 * failed on purpose. Each test file starts its own stack (stack/process-stack.ts), so there is no global setup.
 * @type {import('jest').Config}
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test/faults'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest'] },
  testTimeout: 240_000,
  maxWorkers: 1,
};
