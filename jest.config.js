/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The fault suite kills processes and takes its own command (npm run test:faults; jest.faults.config.js).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/faults/'],
  transform: { '^.+\\.ts$': ['@swc/jest'] },
  // One Temporal dev server and one moto for the whole run; each test file brings its own worker and demo CRM.
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 60_000,
  // Two cores: one test file at a time next to the servers keeps timings honest.
  maxWorkers: 1,
};
