import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createPublicKey } from 'node:crypto';
import { createInterface } from 'node:readline/promises';
import { Command, CommanderError } from 'commander';
import { AirlockError, DecisionError } from '../../common/errors';
import { ACTION_STATUSES, type ActionStatus } from '../../common/statuses';
import { temporalTargetFromEnv } from '../../config/temporal-connection';
import { JsonlAuditLog } from '../../audit/audit-log';
import { openAuditStore } from '../../audit/open-audit-store';
import { provisionAuditTables } from '../../audit/provision-audit-tables';
import { dynamoDbClient } from '../../audit/dynamodb-sdk';
import { auditStoreConfigFromEnv, type AuditStoreConfig } from '../../config/runtime-config';
import { createDefaultRegistry, defaultCatalog } from '../../tasks';
import { taskProvisioning } from '../../tasks/task-provisioning';
import { codecKeysFromEnv } from '../../crypto/encryption-codec';
import { loadCliEnvironment } from './cli-environment';
import type { ActionSummary } from '../action-list';
import { AirlockClient } from '../airlock-client';
import { pendingPage } from '../pending-page';
import { actionWithoutWorker } from '../action-from-history';
import { auditTrail } from '../../audit/audit-trail';
import { startCodecServer } from '../../crypto/codec-server';
import { AesGcmCodec } from '../../crypto/encryption-codec';
import { requireCodecKeys } from '../../crypto/data-converter';
import { createSigningKey, keysDir, loadSigningKey, publicKeyText } from '../../crypto/signing-keys';
import { SHA256_HEX, canonicalPersonId } from '../../common/identifiers';
import { safeJson, visible, visibleLines } from '../../common/terminal-text';
import { backTest } from '../../policy/back-test';
import { loadPolicies } from '../../policy/cedar-policy-engine';
import { loadIdentities } from '../../config/identities';
import { inboxStateDir, invitesIn, startInbox } from '../../inbox/start-inbox';
import { parseDurationSeconds } from '../../common/durations';
import { serveMcp } from './mcp-command';
import { formatBackTest, formatExplain, recordedActions } from './policy-report';
import { actionJson, bold, formatAction, formatPlan, red, relative, statusColor, useColor } from './format';

/**
 * Exit codes: 0 success; 1 error (bad arguments, unknown action, Temporal unreachable); 2 a decision was refused;
 * 3 with --wait, the action ended other than succeeded or planned.
 */
const EXIT = { ok: 0, error: 1, refused: 2, unsuccessful: 3 } as const;

class CliError extends Error {
  constructor(
    message: string,
    readonly code: number = EXIT.error,
  ) {
    super(message);
  }
}

const color = useColor();
let jsonOutput = false;
/** Prints for people (every outside value already escaped) or as JSON (C1, bidi and invisible characters escaped too). */
const print = (human: string, json: unknown) => {
  process.stdout.write(jsonOutput ? `${safeJson(json, 2)}\n` : `${human}\n`);
};

/** The local stack's profile, when the environment leaves the CLI's settings to it: read by the commands that connect. */
let profile: string | undefined;
let profileRead = false;
const useProfile = (): string | undefined => {
  if (!profileRead) [profile, profileRead] = [loadCliEnvironment(), true];
  return profile;
};

/**
 * Connects once, and says truthfully what stands in the way: nothing configured (the local stack is not running
 * here), a setting missing, or a Temporal that does not answer.
 */
async function connect(opts: Parameters<typeof AirlockClient.connect>[0] = {}): Promise<AirlockClient> {
  useProfile();
  const target = temporalTargetFromEnv();
  if (!target.address && !codecKeysFromEnv(process.env)) {
    throw new CliError(
      'Airlock is not configured here, and no local stack is running in this folder (no .airlock/local-stack.env). ' +
        'Start the local stack with `npm start` in the repository and run airlock from there; for a deployment, set TEMPORAL_ADDRESS and ' +
        'AIRLOCK_CODEC_KEY_FILE (README, "Configuration (worker, CLI and SDK)").',
    );
  }
  try {
    return await AirlockClient.connect(opts);
  } catch (err) {
    if (err instanceof AirlockError) throw err;
    const why = profile
      ? `The local stack's profile (${profile}) names it, but it does not answer: has \`npm start\` stopped? Start it again.`
      : 'Check TEMPORAL_ADDRESS (and TEMPORAL_TLS_* or TEMPORAL_API_KEY), or start the local stack with `npm start`.';
    throw new CliError(`cannot reach Temporal at ${target.address} (${(err as Error).message}). ${why}`);
  }
}

let clientPromise: Promise<AirlockClient> | undefined;
const airlock = () => (clientPromise ??= connect());

function parseInput(text: string): unknown {
  const source = text.startsWith('@') ? readFileSync(text.slice(1), 'utf8') : text;
  try {
    return JSON.parse(source);
  } catch (err) {
    throw new CliError(`--input is not valid JSON (${(err as Error).message}). Pass a JSON object, or @file.json.`);
  }
}

const program = new Command()
  .name('airlock')
  .description('Propose, review, approve and audit actions that AI agents take on real systems.')
  .option('--json', 'print machine-readable JSON')
  .showHelpAfterError()
  .exitOverride()
  .hook('preAction', (cmd) => {
    jsonOutput = Boolean(cmd.opts().json);
  });

/** Options may be given before or after the sub-command; both set --json. */
const withJson = (cmd: Command) =>
  cmd.option('--json', 'print machine-readable JSON').hook('preAction', (c) => {
    jsonOutput ||= Boolean(c.opts().json);
  });

withJson(
  program
    .command('tasks')
    .description('list the registered tasks and their input schemas')
    .option(
      '--provisioning <region:account>',
      'instead, what the tasks need in that AWS account: roles with their grants, secrets, tables, SES identities',
    ),
).action((o: { provisioning?: string }) => {
  if (o.provisioning) {
    const [region, accountId] = o.provisioning.split(':');
    if (!region || !/^\d{12}$/.test(accountId ?? ''))
      throw new CliError('--provisioning takes <region>:<12-digit account id>, e.g. us-east-1:123456789012.');
    const needs = taskProvisioning(createDefaultRegistry().tasks(), { region, accountId });
    print(safeJson(needs, 2), needs);
    return;
  }
  const tasks = defaultCatalog();
  print(
    tasks
      .map(
        (t) =>
          `${bold(t.name, color)}  [${t.risk}]\n  ${visible(t.description)}\n  input: ${visible(JSON.stringify(t.inputSchema))}`,
      )
      .join('\n\n'),
    tasks,
  );
});

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
).action(
  async (
    task: string,
    o: { input: string; agent: string; user?: string; reason?: string; key?: string; dryRun?: boolean; wait?: boolean },
  ) => {
    const client = await airlock();
    const proposal = await client.propose({
      task,
      input: parseInput(o.input),
      agent: o.agent,
      user: o.user,
      reason: o.reason,
      dryRun: o.dryRun,
      idempotencyKey: o.key,
    });
    if (!o.wait) {
      print(`${proposal.id}${proposal.existing ? ' (existing action for this key)' : ''}`, proposal);
      return;
    }
    const state = await client.result(proposal.id);
    print(formatAction(state, color), actionJson(state));
    if (state.status !== 'succeeded' && state.status !== 'planned') throw new CliError('', EXIT.unsuccessful);
  },
);

/** A time given as an age (`30m`, `24h`, `7d`) or an ISO 8601 date. */
function parseTime(option: string, text: string): Date {
  const age = /^(\d+)(s|m|h|d)$/.exec(text);
  if (age)
    return new Date(
      Date.now() - Number(age[1]) * { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 }[age[2] as 's' | 'm' | 'h' | 'd'],
    );
  const at = Date.parse(text);
  if (Number.isNaN(at))
    throw new CliError(`${option} ${text} is neither an age (30m, 24h, 7d) nor a date (2026-11-25T09:00:00Z).`);
  return new Date(at);
}

function parseCount(option: string, text: string, min: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > 1000)
    throw new CliError(`${option} ${text} must be a whole number from ${min} to 1000.`);
  return n;
}

function parseStatuses(text: string | undefined): ActionStatus[] | undefined {
  if (!text) return undefined;
  const statuses = text.split(',').map((s) => s.trim());
  const unknown = statuses.filter((s) => !(ACTION_STATUSES as readonly string[]).includes(s));
  if (unknown.length)
    throw new CliError(`--status ${unknown.join(',')}: not a status. Use any of ${ACTION_STATUSES.join(', ')}.`);
  return statuses as ActionStatus[];
}

const summaryLine = (a: ActionSummary) =>
  `${bold(visible(a.id), color)}  ${visible(a.task)}  ${statusColor(a.status, color)}  [${visible(a.risk)}]  by ${visible(a.requester)}${a.agent && a.agent !== a.requester ? ` via ${visible(a.agent)}` : ''}  started ${relative(a.startedAt.toISOString())}`;

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
).action(
  async (o: {
    status?: string;
    task?: string;
    agent?: string;
    since?: string;
    before?: string;
    limit: string;
    page?: string;
  }) => {
    const filter = {
      status: parseStatuses(o.status),
      task: o.task,
      agent: o.agent,
      since: o.since ? parseTime('--since', o.since) : undefined,
      before: o.before ? parseTime('--before', o.before) : undefined,
    };
    const page = await (
      await airlock()
    ).listPage(filter, { pageSize: parseCount('--limit', o.limit, 1), pageToken: o.page });
    const again = process.argv
      .slice(2)
      .filter((arg, i, all) => arg !== '--page' && all[i - 1] !== '--page' && arg !== '--json');
    const human = page.actions.length ? page.actions.map(summaryLine).join('\n') : 'No actions match.';
    const more = page.nextPageToken
      ? `\nmore: airlock ${again.map((a) => (/^[\w.,:@/-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ')} --page ${page.nextPageToken}`
      : '';
    print(`${human}${more}`, page);
  },
);

withJson(
  program
    .command('pending')
    .description('actions awaiting approval, oldest first: every one of them, a page at a time')
    .option('--task <task>', 'only this task')
    .option('--agent <agent>', 'only actions this agent proposed')
    .option('--limit <n>', 'actions to show (1–1000)', '50')
    .option('--offset <n>', 'skip this many of the oldest first', '0'),
).action(async (o: { task?: string; agent?: string; limit: string; offset: string }) => {
  const [limit, offset] = [parseCount('--limit', o.limit, 1), parseCount('--offset', o.offset, 0)];
  // Every waiting action, oldest first (they wait longest and must not be hidden by new proposals), from visibility:
  // the same time with 10 or 10,000 waiting, and a row whose worker is busy or away is still listed, from its memo.
  const { rows, total } = await pendingPage(await airlock(), { task: o.task, agent: o.agent, pageSize: limit, offset });
  const human = rows.length
    ? rows
        .map(
          (r) =>
            `${bold(visible(r.id), color)}  ${visible(r.task)}  [${visible(r.risk ?? '?')}]  by ${visible(r.requester)}  proposed ${relative(r.createdAt)}${r.status === 'awaiting_reapproval' ? `  ${statusColor('the target changed: review the new plan', color)}` : ''}\n` +
            (r.planMismatch
              ? `  ${red('DO NOT APPROVE', color)}: ${visible(r.unavailable ?? '')}`
              : r.unavailable
                ? `${r.summary ? `  ${visible(r.summary)}\n  approvals ${r.approvals}/${r.approvalsRequired} · expires ${r.expiresAt ? relative(r.expiresAt) : '?'} (from its memo, unchecked)\n` : ''}  details unavailable: no worker answered for it in time (busy or down: ${visible(r.unavailable)}); \`airlock show ${visible(r.id)}\` checks it`
                : `  ${visible(r.summary ?? '')}\n  approvals ${r.approvals}/${r.approvalsRequired} · expires ${r.expiresAt ? relative(r.expiresAt) : '?'}`),
        )
        .join('\n')
    : offset && total
      ? `No pending actions past the first ${total}.`
      : 'Nothing awaits approval.';
  const range =
    total > rows.length && rows.length
      ? `\n${offset + 1}–${offset + rows.length} of ${total} pending, oldest first${offset + rows.length < total ? `; next: airlock pending --offset ${offset + rows.length}` : ''}`
      : '';
  print(`${human}${range}`, rows);
});

withJson(program.command('show <action-id>').description('an action: status, plan and diff, approvals, result')).action(
  async (id: string) => {
    const client = await airlock();
    let state;
    try {
      state = await client.get(id, { queryTimeoutMs: SHOW_QUERY_MS });
    } catch (err) {
      // Unknown actions and plans that fail their check are Airlock's own errors: said as they are. Anything else is
      // a worker that did not answer (busy or down): the action is shown from what Temporal holds of it.
      if (err instanceof AirlockError) throw err;
      const a = await actionWithoutWorker(client, id);
      const memo = a.memo
        ? `  ${visible(a.memo.summary ?? '')}\n  approvals ${a.memo.approvals}/${a.memo.approvalsRequired} · expires ${a.memo.expiresAt ? relative(a.memo.expiresAt) : '?'} (from its memo, unchecked)\n`
        : '';
      print(
        `${bold(visible(a.id), color)}  ${visible(a.task ?? '?')}  [${visible(a.risk ?? '?')}]  ${statusColor(a.status ?? '?', color)}  by ${visible(a.requester ?? '?')}\n${memo}` +
          `No worker answered for it within ${SHOW_QUERY_MS / 1000} s (busy or down: ${visible((err as Error).message)}). Its history so far:\n` +
          a.history.map((e) => `  ${e.at}  ${e.summary}`).join('\n'),
        { ...a, unavailable: (err as Error).message },
      );
      return;
    }
    print(formatAction(state, color), actionJson(state));
  },
);

/** How long `show` waits for a worker to answer before it shows the action from its history. */
const SHOW_QUERY_MS = 5000;

/** Asks a yes/no question on the terminal; only "y" or "yes" is yes. */
async function confirm(question: string, out: NodeJS.WriteStream): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: out });
  try {
    return /^(y|yes)$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

/**
 * Signs a decision. A person signs only a plan they were shown: on a terminal the exact summary, side effects, diff
 * and hash are printed and confirmed first; a script names the hash it reviewed with --plan (and --yes skips the
 * question on a terminal).
 */
const decide = async (
  id: string,
  decision: 'approve' | 'reject',
  o: { as: string; reason?: string; plan?: string; yes?: boolean },
) => {
  if (o.plan !== undefined && !SHA256_HEX.test(o.plan))
    throw new CliError(`--plan must be the full 64-character plan hash that \`airlock show ${id}\` prints.`);
  if (o.yes && !o.plan)
    throw new CliError('--yes signs without asking, so it needs --plan <hash>: the plan you reviewed.');
  const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY);
  if (!interactive && !o.plan) {
    throw new CliError(
      `Not on a terminal, so nobody can be shown the plan: pass --plan <hash> with the hash you reviewed (\`airlock show ${id}\`).`,
    );
  }
  const client = await airlock();
  const key = loadSigningKey(o.as);
  if (interactive && !o.yes) {
    const state = await client.get(id);
    if (!state.plan) throw new CliError(`Action ${id} has no plan yet (${state.status}); try again in a moment.`);
    if (o.plan && o.plan !== state.plan.hash) {
      throw new CliError(
        `--plan ${o.plan.slice(0, 12)}… is not the plan awaiting decisions (${state.plan.hash.slice(0, 12)}…). Review it with \`airlock show ${id}\`.`,
      );
    }
    const out = jsonOutput ? process.stderr : process.stdout;
    out.write(
      `You are about to ${decision} as ${visible(o.as)} this plan of ${visible(state.task)} (${visible(state.id)}), requested by ${visible(state.requester)}:\n`,
    );
    out.write(`${formatPlan(state.plan, color).join('\n')}\n`);
    if (!(await confirm(`Sign "${decision}" of plan ${state.plan.hash}? [y/N] `, out)))
      throw new CliError('Nothing was signed.', EXIT.refused);
    o.plan = state.plan.hash;
  }
  const attempt = await client.decideAs(id, { approver: o.as, key, decision, reason: o.reason, planHash: o.plan });
  if (!attempt.accepted) {
    print(`${decision} refused (${visible(attempt.refusal?.code)}): ${visible(attempt.refusal?.message)}`, attempt);
    throw new CliError('', EXIT.refused);
  }
  const after = await client.get(id).catch(() => undefined);
  print(
    `${decision === 'approve' ? 'approved' : 'rejected'} ${id} (plan ${attempt.planHash.slice(0, 12)}) as ${visible(attempt.approver)}${after ? `; status ${statusColor(after.status, color)}` : ''}`,
    { ...attempt, status: after?.status },
  );
};

withJson(
  program
    .command('approve <action-id>')
    .description('approve the plan of an action (shows it and asks on a terminal)')
    .requiredOption('--as <approver>', 'who approves (signs with <approver>.key in AIRLOCK_KEYS_DIR)')
    .option('--reason <text>', 'why')
    .option('--plan <hash>', 'the full hash of the plan you reviewed (required when not on a terminal)')
    .option('--yes', 'with --plan: do not ask'),
).action((id: string, o: { as: string; reason?: string; plan?: string; yes?: boolean }) => decide(id, 'approve', o));

withJson(
  program
    .command('reject <action-id>')
    .description('reject an action; it ends and executes nothing (shows the plan and asks on a terminal)')
    .requiredOption('--as <approver>', 'who rejects')
    .requiredOption('--reason <text>', 'why: the agent and its user read it')
    .option('--plan <hash>', 'the full hash of the plan you reviewed (required when not on a terminal)')
    .option('--yes', 'with --plan: do not ask'),
).action((id: string, o: { as: string; reason: string; plan?: string; yes?: boolean }) => decide(id, 'reject', o));

const keys = program.command('keys').description('signing keys (Ed25519) of approvers and agents: create and list');
withJson(
  keys
    .command('new <name>')
    .description('create a key pair for a person or an agent; prints the public key to register'),
).action((name: string) => {
  const { publicKey, privateKeyPath } = createSigningKey(name);
  print(
    `${publicKey}\n\nPrivate key: ${privateKeyPath} (mode 0600; never share it).\n` +
      `Register the public key with the worker: for a person, in the approvers file:\n  { "name": "${name}", "publicKey": "${publicKey}", "groups": ["approvers"] }\n` +
      `for an agent, in the agents file, with the people responsible for it:\n  { "name": "${name}", "publicKey": "${publicKey}", "owners": ["<person>"] }`,
    { name, publicKey, privateKeyPath },
  );
});
withJson(keys.command('list').description('keys in the keys directory (AIRLOCK_KEYS_DIR)')).action(() => {
  const dir = keysDir();
  const names = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.key'))
        .map((f) => f.slice(0, -4))
        .sort()
    : [];
  const rows = names.map((name) => ({ name, publicKey: publicKeyText(createPublicKey(loadSigningKey(name))) }));
  print(rows.length ? rows.map((r) => `${r.name}  ${r.publicKey}`).join('\n') : `No keys in ${dir}.`, rows);
});

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
).action(async (id: string, o: { file?: string; checkpoint?: string; table?: string; checkpointTable?: string }) => {
  if (id === 'create-tables') {
    const config = auditConfigOf(o);
    if (config.kind !== 'dynamodb')
      throw new CliError('create-tables makes DynamoDB tables: pass --table <name> and --checkpoint-table <name>.');
    const client = await dynamoDbClient(awsForCli());
    try {
      await provisionAuditTables(client, config);
    } finally {
      client.destroy();
    }
    print(`Audit tables ready: ${config.table} (log) and ${config.checkpointTable} (checkpoint).`, config);
    return;
  }
  if (id === 'verify') {
    const config = auditConfigOf(o);
    const log = openAuditStore(config, config.kind === 'dynamodb' ? awsForCli() : undefined);
    const result = await log.verify();
    const where = config.kind === 'file' ? { file: config.path } : { table: config.table };
    if (result.ok) {
      const cp = result.checkpoint;
      print(
        `${log.where}: ${result.records} record(s), chain intact; head ${result.head}` +
          (cp ? `; checkpoint of ${cp.at} at record ${cp.seq} matches` : '; no checkpoint to compare with'),
        { ...where, ...result },
      );
      return;
    }
    print(`${log.where}: ${visible(result.message)}`, { ...where, ...result });
    throw new CliError('', EXIT.error);
  }
  const events = await auditTrail((await airlock()).temporal, id);
  print(events.map((e) => `${e.at}  ${e.summary}`).join('\n'), events);
});

/** The audit log a command names (`--file`, `--table`), else the environment's (the local stack's while it runs). */
function auditConfigOf(o: { file?: string; checkpoint?: string; table?: string; checkpointTable?: string }) {
  if (o.file && o.table) throw new CliError('Pass --file or --table, not both: they name two different audit logs.');
  if (o.table) {
    const checkpointTable = o.checkpointTable ?? process.env.AIRLOCK_AUDIT_CHECKPOINT_TABLE;
    if (!checkpointTable || checkpointTable === o.table)
      throw new CliError(
        `Which checkpoint table goes with ${visible(o.table)}? Pass --checkpoint-table <name> (or set AIRLOCK_AUDIT_CHECKPOINT_TABLE): another table than the log's.`,
      );
    return { kind: 'dynamodb', table: o.table, checkpointTable } satisfies AuditStoreConfig;
  }
  if (o.file)
    return {
      kind: 'file',
      path: o.file,
      ...(o.checkpoint ? { checkpointPath: o.checkpoint } : {}),
    } satisfies AuditStoreConfig;
  useProfile();
  try {
    return auditStoreConfigFromEnv(process.env);
  } catch (err) {
    throw new CliError(
      `Which audit log? Pass --file <path> (with --checkpoint <path> if it has one) or --table <name> --checkpoint-table <name>, or set AIRLOCK_AUDIT_LOG or AIRLOCK_AUDIT_TABLE (the local stack keeps its own in .airlock/audit.jsonl). ${(err as Error).message}`,
    );
  }
}

/** Where the CLI reaches DynamoDB: AWS_REGION (required) and AWS_ENDPOINT_URL; credentials from the SDK's chain. */
function awsForCli(): { region: string; endpoint?: string } {
  useProfile();
  const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (!region) throw new CliError('Set AWS_REGION to the region of the audit tables.');
  return { region, ...(process.env.AWS_ENDPOINT_URL ? { endpoint: process.env.AWS_ENDPOINT_URL } : {}) };
}

/** The approvers and agents files: given, from the environment, or the local stack's. */
function identityFiles(o: { approvers?: string; agents?: string }): { approversFile: string; agentsFile: string } {
  const file = (given: string | undefined, variable: string, local: string) => {
    const path = given ?? process.env[variable] ?? (existsSync(local) ? local : undefined);
    if (!path)
      throw new CliError(
        `Which ${local.split('/').at(-1)}? Pass --${local.includes('approvers') ? 'approvers' : 'agents'} <file>, or set ${variable} (the local stack keeps its own in ${local}).`,
      );
    return path;
  };
  return {
    approversFile: file(o.approvers, 'AIRLOCK_APPROVERS_FILE', '.airlock/approvers.json'),
    agentsFile: file(o.agents, 'AIRLOCK_AGENTS_FILE', '.airlock/agents.json'),
  };
}

program
  .command('serve')
  .description('the approval inbox: a web app where approvers review plans and decide with passkeys')
  .option('--host <host>', 'interface to listen on', '127.0.0.1')
  .option('--port <port>', "port to listen on (default: AIRLOCK_INBOX_URL's, else 8235)")
  .option('--origin <url>', 'the address approvers open (default AIRLOCK_INBOX_URL, else http://localhost:<port>)')
  .option('--approvers <file>', 'the approvers file (default AIRLOCK_APPROVERS_FILE, else .airlock/approvers.json)')
  .option('--agents <file>', 'the agents file (default AIRLOCK_AGENTS_FILE, else .airlock/agents.json)')
  .action(async (o: { host: string; port?: string; origin?: string; approvers?: string; agents?: string }) => {
    useProfile();
    // Passkeys are bound to the origin: the port approvers open and the port listened on go together, unless an
    // origin is given (a TLS proxy in front).
    const configured = process.env.AIRLOCK_INBOX_URL ? new URL(process.env.AIRLOCK_INBOX_URL) : undefined;
    const port = Number(o.port ?? (configured?.port || 8235));
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`--port ${o.port} is not a port.`);
    const origin = o.origin ?? (configured && Number(configured.port) === port ? configured.origin : undefined);
    const inbox = await startInbox({ client: await airlock(), ...identityFiles(o), host: o.host, port, origin });
    process.stdout.write(`airlock inbox at ${inbox.url}\n`);
    await new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()).once('SIGINT', () => resolve()));
    await inbox.close();
  });

const approvers = program.command('approvers').description('approvers of the web inbox: enrolment links');
withJson(
  approvers
    .command('invite <name>')
    .description('a one-time link with which <name> enrols a passkey in the inbox (they must be in the approvers file)')
    .option('--ttl <duration>', 'how long the link stays good, e.g. 30m, 24h', '24h')
    .option('--origin <url>', 'the inbox address (default AIRLOCK_INBOX_URL, else http://localhost:8235)')
    .option('--approvers <file>', 'the approvers file (default AIRLOCK_APPROVERS_FILE, else .airlock/approvers.json)')
    .option('--agents <file>', 'the agents file (default AIRLOCK_AGENTS_FILE, else .airlock/agents.json)'),
).action((name: string, o: { ttl: string; origin?: string; approvers?: string; agents?: string }) => {
  useProfile();
  const files = identityFiles(o);
  const person = loadIdentities(files).people.get(canonicalPersonId(name));
  if (!person)
    throw new CliError(`"${name}" is not in ${files.approversFile}; add them (name, public key, groups) first.`);
  const ttlMs = parseDurationSeconds(o.ttl, '--ttl') * 1000;
  if (ttlMs < 60_000 || ttlMs > 7 * 86_400_000)
    throw new CliError(`--ttl ${o.ttl} is not a duration between 1m and 7d (e.g. 30m, 24h).`);
  const { token, expiresAt } = invitesIn(inboxStateDir(files.approversFile)).create(person.id, ttlMs);
  const origin = o.origin ?? process.env.AIRLOCK_INBOX_URL ?? 'http://localhost:8235';
  const url = `${origin.replace(/\/$/, '')}/enrol#${token}`;
  print(
    `Send this one-time link to ${person.id} (good until ${expiresAt}; anyone holding it can enrol as them):\n${url}`,
    { approver: person.id, url, expiresAt },
  );
});

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
).action(async (dir: string, o: { auditLog?: string; approvers?: string; agents?: string; running: boolean }) => {
  useProfile();
  const identities = loadIdentities(identityFiles(o));
  const registry = createDefaultRegistry();
  const candidate = loadPolicies(dir, registry, identities);
  const logPath = o.auditLog ?? process.env.AIRLOCK_AUDIT_LOG;
  if (logPath && !existsSync(logPath))
    throw new CliError(`No audit log at ${visible(logPath)}: nothing to test the policies against. Check --audit-log.`);
  // A deployment's DynamoDB audit log, unless a file is named.
  const table = !logPath && process.env.AIRLOCK_AUDIT_TABLE ? auditConfigOf({}) : undefined;
  if (!logPath && !table && !o.running)
    throw new CliError(
      'Nothing to test the policies against: pass --audit-log <path> (or set AIRLOCK_AUDIT_LOG or AIRLOCK_AUDIT_TABLE), or leave out --no-running.',
    );
  const actions = await recordedActions({
    auditLog: logPath ? new JsonlAuditLog(logPath) : table && openAuditStore(table, awsForCli()),
    client: o.running ? await airlock() : undefined,
  });
  const report = backTest(candidate, registry, actions);
  print(formatBackTest(report, dir, color), { candidate: dir, ...report });
  if (report.changes.length) throw new CliError('', EXIT.error);
});

withJson(
  policy
    .command('explain <action-id>')
    .description('which policies and facts decided an action, and what shadow policies would have'),
).action(async (id: string) => {
  const state = await (await airlock()).get(id);
  print(formatExplain(state, color), {
    id: state.id,
    task: state.task,
    status: state.status,
    policy: state.policy ?? null,
  });
});

program
  .command('mcp')
  .description(
    'serve the Model Context Protocol on stdio for one agent (AIRLOCK_AGENT, optional AIRLOCK_USER and AIRLOCK_AGENT_KEY)',
  )
  .action(async () => {
    await serveMcp({}, { connect, fail: (message: string) => new CliError(message) });
  });

program
  .command('codec-server')
  .description(
    'serve the Temporal codec protocol (decrypt for the Web UI and the Temporal CLI) to holders of the token or a verified OIDC access token',
  )
  .option('--host <host>', 'address to listen on', '127.0.0.1')
  .option('--port <port>', 'port to listen on (0: any free one)', '8234')
  .action(async (o: { host: string; port: string }) => {
    const env = process.env;
    const jwksUrl = env.AIRLOCK_CODEC_OIDC_JWKS_URL;
    if (jwksUrl && (!env.AIRLOCK_CODEC_OIDC_ISSUER || !env.AIRLOCK_CODEC_OIDC_AUDIENCE)) {
      throw new CliError(
        'AIRLOCK_CODEC_OIDC_JWKS_URL needs AIRLOCK_CODEC_OIDC_ISSUER and AIRLOCK_CODEC_OIDC_AUDIENCE: a token is verified against all three.',
      );
    }
    const oidc = jwksUrl
      ? {
          jwksUrl,
          issuer: env.AIRLOCK_CODEC_OIDC_ISSUER as string,
          audience: env.AIRLOCK_CODEC_OIDC_AUDIENCE as string,
        }
      : undefined;
    const token = env.AIRLOCK_CODEC_SERVER_TOKEN || undefined;
    if (!token && !oidc) {
      throw new CliError(
        'Set AIRLOCK_CODEC_SERVER_TOKEN, or AIRLOCK_CODEC_OIDC_JWKS_URL with its issuer and audience: the codec server never decodes for anyone who asks.',
      );
    }
    const server = await startCodecServer({
      codec: new AesGcmCodec(requireCodecKeys(), 'mark'),
      auth: { token, oidc },
      allowedOrigins: (env.AIRLOCK_CODEC_ALLOWED_ORIGINS ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
      host: o.host,
      port: Number(o.port),
    });
    process.stdout.write(`airlock codec server listening on ${server.url}\n`);
    await new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()).once('SIGINT', () => resolve()));
    await server.close();
  });

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
    if (err instanceof DecisionError || err instanceof AirlockError) {
      process.stderr.write(`airlock: ${visibleLines(err.message)}\n`);
      return EXIT.error;
    }
    const message = (err as Error).message ?? String(err);
    // A Temporal that answered before and stops answering now (gRPC UNAVAILABLE).
    if ([(err as { code?: unknown }).code, (err as { cause?: { code?: unknown } }).cause?.code].includes(14)) {
      process.stderr.write(
        `airlock: Temporal at ${visible(temporalTargetFromEnv().address)} stopped answering (${visibleLines(message)}). Is it still running?\n`,
      );
      return EXIT.error;
    }
    process.stderr.write(`airlock: ${visibleLines(message)}\n`);
    return EXIT.error;
  }
}

void main().then((code) => {
  process.exit(code);
});
