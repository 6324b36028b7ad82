/** Names of the environment variables the global setup hands to test files. */
export const TEST_ENV = {
  temporalAddress: 'AIRLOCK_TEST_TEMPORAL_ADDRESS',
  namespace: 'AIRLOCK_TEST_NAMESPACE',
  motoEndpoint: 'AIRLOCK_TEST_MOTO_ENDPOINT',
  crmToken: 'AIRLOCK_TEST_CRM_TOKEN',
  crmReadToken: 'AIRLOCK_TEST_CRM_READ_TOKEN',
  workflowBundle: 'AIRLOCK_TEST_WORKFLOW_BUNDLE',
  codecKeys: 'AIRLOCK_TEST_CODEC_KEYS',
  stripeUrl: 'AIRLOCK_TEST_STRIPE_URL',
} as const;

/** Reads one of them; fails clearly when a test runs without the global setup. */
export function testEnv(name: keyof typeof TEST_ENV): string {
  const value = process.env[TEST_ENV[name]];
  if (!value)
    throw new Error(
      `${TEST_ENV[name]} is not set: run the tests with \`npm test\` (jest's globalSetup starts the servers).`,
    );
  return value;
}
