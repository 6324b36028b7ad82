/* eslint-disable @typescript-eslint/no-require-imports -- the one place the CLI loads modules on demand; see below. */
/**
 * The CLI's modules that cost time to load (the Temporal client, the task catalog, Cedar, Fastify, the AWS SDK, the
 * MCP SDK), each loaded only when a command needs it: `airlock --help` then loads commander and nothing else.
 *
 * Contract: nothing here may be imported at the top of a CLI module with a value import (a type import is free);
 * the command modules must be reached only through {@link cliModules}, so that one command never pays for another's.
 *
 * Why `require` and not `import()`: the project compiles to CommonJS (`module: node16`), where a relative `import()`
 * needs a `.js` extension that tsx's CommonJS hook (bin/airlock.js on a stale build, `npm run airlock`) does not map
 * to the `.ts` source; a `require` without an extension resolves to the `.ts` under tsx and jest and to the `.js` in
 * dist/. The casts keep each module's exported types.
 */
export const cliModules = {
  /** The Temporal connection settings (loads the Temporal client). */
  temporalConnection: () =>
    require('../../config/temporal-connection') as typeof import('../../config/temporal-connection'),
  /** Reading the local stack's profile into the environment. */
  cliEnvironment: () => require('./cli-environment') as typeof import('./cli-environment'),
  /** Payload keys from the environment. */
  encryptionCodec: () => require('../../crypto/encryption-codec') as typeof import('../../crypto/encryption-codec'),
  /** The client every command that talks to Temporal uses. */
  airlockClient: () => require('../airlock-client') as typeof import('../airlock-client'),
  /** Airlock's own error classes, to tell them from others when a command fails. */
  errors: () => require('../../common/errors') as typeof import('../../common/errors'),
  /** The client's tracing (OpenTelemetry), loaded by the client only when `OTEL_*` variables ask for traces. */
  clientTracing: () => require('../../telemetry/client-tracing') as typeof import('../../telemetry/client-tracing'),
  /** Whether one of these modules was loaded already (by a command, or by a module it loaded). */
  loaded: (name: 'clientTracing'): boolean =>
    Boolean(require.cache[require.resolve({ clientTracing: '../../telemetry/client-tracing' }[name])]),
  /** `airlock mcp` (client/cli/mcp-command.ts). */
  mcp: () => require('./mcp-command') as typeof import('./mcp-command'),
  tasks: () => require('./commands/tasks-command') as typeof import('./commands/tasks-command'),
  propose: () => require('./commands/propose-command') as typeof import('./commands/propose-command'),
  list: () => require('./commands/list-command') as typeof import('./commands/list-command'),
  pending: () => require('./commands/pending-command') as typeof import('./commands/pending-command'),
  show: () => require('./commands/show-command') as typeof import('./commands/show-command'),
  decide: () => require('./commands/decide-command') as typeof import('./commands/decide-command'),
  keys: () => require('./commands/keys-command') as typeof import('./commands/keys-command'),
  audit: () => require('./commands/audit-command') as typeof import('./commands/audit-command'),
  serve: () => require('./commands/serve-command') as typeof import('./commands/serve-command'),
  approvers: () => require('./commands/approvers-command') as typeof import('./commands/approvers-command'),
  policy: () => require('./commands/policy-command') as typeof import('./commands/policy-command'),
  codecServer: () => require('./commands/codec-server-command') as typeof import('./commands/codec-server-command'),
  completion: () => require('./commands/completion-command') as typeof import('./commands/completion-command'),
};
