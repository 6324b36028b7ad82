import type { BundleOptions } from '@temporalio/worker';
import { FAILURE_CONVERTER_PATH } from '../crypto/data-converter';

/**
 * Modules the workflow sandbox loads once per worker, shared by every action, instead of once per workflow: with a
 * reused V8 context the SDK gives each workflow its own copy of every other module, and evaluating them (Ed25519 and
 * SHA-256 above all) was most of an action's workflow-task time. The SDK freezes what these export.
 *
 * Must hold only modules without per-workflow state: pure functions, constants, classes, and definitions of
 * messages, search attributes and activity stubs. Nothing here may read the workflow's context (time, randomness,
 * info) or keep anything at module scope.
 */
export const SHARED_WORKFLOW_MODULES: readonly string[] = [
  // Ed25519 and SHA-256 come in through these two (a package marked free of side effects, listed itself, would be
  // dropped from the bundle's preload unused).
  require.resolve('../workflows/verify-ed25519'),
  require.resolve('../workflows/plan-hash'),
  // The workflow itself: its modules keep no state of their own (each action's lives in the objects its run makes).
  require.resolve('../workflows'),
  ...[
    'approval-rules',
    'base64',
    'canonical-json',
    'identifiers',
    'messages',
    'plan-hash',
    'proposal',
    'search-attributes',
    'signing',
    'undecodable',
  ].map((name) => require.resolve(`../common/${name}`)),
];

/**
 * How Airlock's workflows are bundled, by the worker and by the tests alike. The telemetry interceptors are always in
 * the bundle (metrics of every action; spans of traced ones, whose OpenTelemetry code loads only for them): a
 * prebuilt bundle cannot take them in later, and a worker with tracing on must replay what one without it recorded.
 * They keep per-workflow state, so they are not shared.
 */
export const WORKFLOW_BUNDLE_OPTIONS = {
  workflowsPath: require.resolve('../workflows'),
  failureConverterPath: FAILURE_CONVERTER_PATH,
  preloadModules: [...SHARED_WORKFLOW_MODULES],
  workflowInterceptorModules: [require.resolve('../telemetry/workflow-interceptors')],
} satisfies Partial<BundleOptions>;

/** A logger for bundling ahead (tests, the process stack): webpack's progress is noise; its warnings and errors are not. */
export const QUIET_BUNDLER_LOGGER = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (m: string) => console.warn(m),
  error: (m: string) => console.error(m),
};
