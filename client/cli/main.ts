/**
 * The `airlock` command: its commands, options and help, and how a failure ends it (exit codes in cli-context.ts).
 *
 * Contract: this module must stay cheap to load, since every run loads it (`airlock --help` in well under 300 ms).
 * It must not value-import the command modules or anything that loads the Temporal client, the task catalog, Cedar,
 * Fastify or an SDK: each action reaches its command's module through `cliModules` (lazy-modules.ts) when it runs.
 */
import { Command, CommanderError } from 'commander';
import { visible, visibleLines } from '../../common/terminal-text';
import { CliError, EXIT, connect, print, useProfile, wantJson } from './cli-context';
import { cliModules } from './lazy-modules';
import type { InviteOptions } from './commands/approvers-command';
import type { AuditLogOptions } from './commands/audit-settings';
import type { DecideOptions } from './commands/decide-command';
import type { ListOptions } from './commands/list-command';
import type { PendingOptions } from './commands/pending-command';
import type { PolicyTestOptions } from './commands/policy-command';
import type { ProposeOptions } from './commands/propose-command';
import type { ServeOptions } from './commands/serve-command';
import type { McpCommandOptions, McpTokenOptions } from './mcp-command';

const program = new Command()
  .name('airlock')
  .description('Propose, review, approve and audit actions that AI agents take on real systems.')
  .option('--json', 'print machine-readable JSON')
  .showHelpAfterError()
  .exitOverride()
  .hook('preAction', (cmd) => {
    wantJson(Boolean(cmd.opts().json));
  });

/** Options may be given before or after the sub-command; both set --json. */
const withJson = (cmd: Command) =>
  cmd.option('--json', 'print machine-readable JSON').hook('preAction', (c) => {
    wantJson(Boolean(c.opts().json));
  });

withJson(
  program
    .command('tasks')
    .description('list the registered tasks and their input schemas')
    .option(
      '--provisioning <region:account>',
      'instead, what the tasks need in that AWS account: roles with their grants, secrets, tables, SES identities',
    ),
).action((o: { provisioning?: string }) => cliModules.tasks().tasksCommand(o));

withJson(
  program
    .command('propose <task>')
    .description('propose an action (prints the action id)')
    .requiredOption('--input <json|@file>', 'task input as JSON, or @path to a JSON file')
    .requiredOption(
      '--agent <id>',
      'the proposing agent: the proposal is signed with its key (<id>.key in AIRLOCK_KEYS_DIR)',
    )
    .option('--user <id>', 'the user the agent acts for')
    .option('--reason <text>', 'why, for approvers')
    .option('--key <idempotency-key>', 'same key, same action: resending never proposes twice')
    .option('--dry-run', 'plan only; execute nothing')
    .option('--wait', 'wait for the final state'),
).action((task: string, o: ProposeOptions) => cliModules.propose().proposeCommand(task, o));

withJson(
  program
    .command('list')
    .description('actions, newest first, from their search attributes (no worker needed); filter and page')
    .option('--status <statuses>', 'only these statuses, comma-separated (e.g. failed,expired)')
    .option('--task <task>', 'only this task')
    .option('--agent <agent>', 'only actions this agent proposed')
    .option('--since <age|date>', 'only actions started since (e.g. 24h, or an ISO date)')
    .option('--before <age|date>', 'only actions started before (e.g. 7d)')
    .option('--limit <n>', 'actions per page (1–1000)', '20')
    .option('--page <token>', 'the next page, as the previous page printed it'),
).action((o: ListOptions) => cliModules.list().listCommand(o));

withJson(
  program
    .command('pending')
    .description('actions awaiting approval, oldest first: every one of them, a page at a time')
    .option('--task <task>', 'only this task')
    .option('--agent <agent>', 'only actions this agent proposed')
    .option('--limit <n>', 'actions to show (1–1000)', '50')
    .option('--offset <n>', 'skip this many of the oldest first', '0'),
).action((o: PendingOptions) => cliModules.pending().pendingCommand(o));

withJson(program.command('show <action-id>').description('an action: status, plan and diff, approvals, result')).action(
  (id: string) => cliModules.show().showCommand(id),
);

withJson(
  program
    .command('approve <action-id>')
    .description('approve the plan of an action (shows it and asks on a terminal)')
    .requiredOption('--as <approver>', 'who approves (signs with <approver>.key in AIRLOCK_KEYS_DIR)')
    .option('--reason <text>', 'why')
    .option('--plan <hash>', 'the full hash of the plan you reviewed (required when not on a terminal)')
    .option('--yes', 'with --plan: do not ask'),
).action((id: string, o: DecideOptions) => cliModules.decide().decideCommand(id, 'approve', o));

withJson(
  program
    .command('reject <action-id>')
    .description('reject an action; it ends and executes nothing (shows the plan and asks on a terminal)')
    .requiredOption('--as <approver>', 'who rejects')
    .requiredOption('--reason <text>', 'why: the agent and its user read it')
    .option('--plan <hash>', 'the full hash of the plan you reviewed (required when not on a terminal)')
    .option('--yes', 'with --plan: do not ask'),
).action((id: string, o: DecideOptions) => cliModules.decide().decideCommand(id, 'reject', o));

const keys = program.command('keys').description('signing keys (Ed25519) of approvers and agents: create and list');
withJson(
  keys
    .command('new <name>')
    .description('create a key pair for a person or an agent; prints the public key to register'),
).action((name: string) => cliModules.keys().newKeyCommand(name));
withJson(keys.command('list').description('keys in the keys directory (AIRLOCK_KEYS_DIR)')).action(() =>
  cliModules.keys().listKeysCommand(),
);

withJson(
  program
    .command('audit <action-id|verify|create-tables>')
    .description(
      'an action’s audit trail, read from its workflow history; `audit verify` checks the audit log’s hash chain and checkpoint; `audit create-tables` creates the DynamoDB audit tables',
    )
    .option(
      '--file <path>',
      'with verify: the audit log file (default AIRLOCK_AUDIT_LOG; the local stack’s while it runs)',
    )
    .option('--checkpoint <path>', 'with verify --file: its checkpoint file (default AIRLOCK_AUDIT_CHECKPOINT)')
    .option('--table <name>', 'the DynamoDB audit table (default AIRLOCK_AUDIT_TABLE)')
    .option('--checkpoint-table <name>', 'its checkpoint table (default AIRLOCK_AUDIT_CHECKPOINT_TABLE)'),
).action((id: string, o: AuditLogOptions) => cliModules.audit().auditCommand(id, o));

program
  .command('serve')
  .description('the approval inbox: a web app where approvers review plans and decide with passkeys')
  .option('--host <host>', 'interface to listen on', '127.0.0.1')
  .option('--port <port>', "port to listen on (default: AIRLOCK_INBOX_URL's, else 8235)")
  .option('--origin <url>', 'the address approvers open (default AIRLOCK_INBOX_URL, else http://localhost:<port>)')
  .option('--approvers <file>', 'the approvers file (default AIRLOCK_APPROVERS_FILE, else .airlock/approvers.json)')
  .option('--agents <file>', 'the agents file (default AIRLOCK_AGENTS_FILE, else .airlock/agents.json)')
  .action((o: ServeOptions) => cliModules.serve().serveCommand(o));

const approvers = program.command('approvers').description('approvers of the web inbox: enrolment links');
withJson(
  approvers
    .command('invite <name>')
    .description('a one-time link with which <name> enrols a passkey in the inbox (they must be in the approvers file)')
    .option('--ttl <duration>', 'how long the link stays good, e.g. 30m, 24h', '24h')
    .option('--origin <url>', 'the inbox address (default AIRLOCK_INBOX_URL, else http://localhost:8235)')
    .option('--approvers <file>', 'the approvers file (default AIRLOCK_APPROVERS_FILE, else .airlock/approvers.json)')
    .option('--agents <file>', 'the agents file (default AIRLOCK_AGENTS_FILE, else .airlock/agents.json)'),
).action((name: string, o: InviteOptions) => cliModules.approvers().inviteCommand(name, o));

const policy = program
  .command('policy')
  .description('test candidate policies against what Airlock decided; explain a decision');

withJson(
  policy
    .command('test <dir>')
    .description(
      'ask the policies in <dir> about every action in the audit log and every running one: which would be decided differently (exit 1 if any)',
    )
    .option('--audit-log <path>', 'the audit log (default AIRLOCK_AUDIT_LOG; the local stack’s while it runs)')
    .option('--approvers <file>', 'the approvers file (default AIRLOCK_APPROVERS_FILE, else .airlock/approvers.json)')
    .option('--agents <file>', 'the agents file (default AIRLOCK_AGENTS_FILE, else .airlock/agents.json)')
    .option('--no-running', 'only the audit log: do not ask Temporal for running actions'),
).action((dir: string, o: PolicyTestOptions) => cliModules.policy().policyTestCommand(dir, o));

withJson(
  policy
    .command('explain <action-id>')
    .description('which policies and facts decided an action, and what shadow policies would have'),
).action((id: string) => cliModules.policy().policyExplainCommand(id));

/** What the MCP commands need of the CLI around them. */
const mcpDeps = () => ({
  connect,
  fail: (message: string) => new CliError(message),
  print,
  useProfile,
});

const mcp = program
  .command('mcp')
  .description(
    'serve the Model Context Protocol: on stdio for one agent (AIRLOCK_AGENT, optional AIRLOCK_USER and AIRLOCK_AGENT_KEY), or with --http for every agent that holds a token',
  )
  .option('--http', 'serve Streamable HTTP for many agents, each with a bearer token (`airlock mcp token create`)')
  .option('--host <host>', 'with --http: address to listen on', '127.0.0.1')
  .option('--port <port>', 'with --http: port to listen on (0: any free one)', '8765')
  .option('--url <url>', "with --http: the MCP endpoint's public URL, when a proxy is in front (AIRLOCK_MCP_URL)")
  .action(async (o: McpCommandOptions) => {
    await cliModules.mcp().serveMcp(o, mcpDeps());
  });
const mcpToken = mcp.command('token').description('bearer tokens of the MCP HTTP server: create, list, revoke');
withJson(
  mcpToken
    .command('create <agent>')
    .description("make a token for an agent (shown once); bound to the agent's registered key and to one MCP server")
    .option('--user <user>', 'the user the agent acts for with this token')
    .option(
      '--audience <url>',
      'the MCP endpoint the token is for (default AIRLOCK_MCP_URL, else http://127.0.0.1:8765/mcp)',
    )
    .option('--expires <duration>', 'how long it is valid, e.g. 30d, 12h', '90d')
    .option('--label <text>', 'a note for whoever lists the tokens'),
).action((agent: string, o: McpTokenOptions) => cliModules.mcp().createToken(agent, o, mcpDeps()));
withJson(
  mcpToken.command('list').description('the tokens made, with their agents, servers and whether they are valid'),
).action(() => cliModules.mcp().listTokens(mcpDeps()));
withJson(
  mcpToken.command('revoke <token-id>').description('revoke a token: the server refuses it from its next request on'),
).action((id: string) => cliModules.mcp().revokeToken(id, mcpDeps()));

program
  .command('codec-server')
  .description(
    'serve the Temporal codec protocol (decrypt for the Web UI and the Temporal CLI) to holders of the token or a verified OIDC access token',
  )
  .option('--host <host>', 'address to listen on', '127.0.0.1')
  .option('--port <port>', 'port to listen on (0: any free one)', '8234')
  .action((o: { host: string; port: string }) => cliModules.codecServer().codecServerCommand(o));

program
  .command('completion <shell>')
  .description(
    'print a completion script for bash or zsh: commands, options, statuses and task names (e.g. `source <(airlock completion bash)` in ~/.bashrc)',
  )
  .action((shell: string) => cliModules.completion().completionCommand(program, shell));

async function main(): Promise<number> {
  try {
    await program.parseAsync(process.argv);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.error;
    if (err instanceof CliError) {
      if (err.message) process.stderr.write(`airlock: ${visibleLines(err.message)}\n`);
      return err.code;
    }
    const { AirlockError, DecisionError } = cliModules.errors();
    if (err instanceof DecisionError || err instanceof AirlockError) {
      process.stderr.write(`airlock: ${visibleLines(err.message)}\n`);
      return EXIT.error;
    }
    const message = (err as Error).message ?? String(err);
    // A Temporal that answered before and stops answering now (gRPC UNAVAILABLE).
    if ([(err as { code?: unknown }).code, (err as { cause?: { code?: unknown } }).cause?.code].includes(14)) {
      const address = cliModules.temporalConnection().temporalTargetFromEnv().address;
      process.stderr.write(
        `airlock: Temporal at ${visible(address)} stopped answering (${visibleLines(message)}). Is it still running?\n`,
      );
      return EXIT.error;
    }
    process.stderr.write(`airlock: ${visibleLines(message)}\n`);
    return EXIT.error;
  }
}

void main().then(async (code) => {
  // A command that traced (OTEL_* set) exports its last spans before the exit, waiting 2 s at most; a command that never
  // loaded the tracing module does not load it now.
  if (cliModules.loaded('clientTracing')) await cliModules.clientTracing().shutdownClientTelemetry();
  process.exit(code);
});
