/**
 * `npm run bench:inbox`: the approval inbox's first page with 10,000 actions pending (target: under 1 s), paginated
 * from Temporal visibility. The pending actions are Airlock action workflows as visibility holds them (type, queue,
 * the search attributes and the memo an action keeps while it waits), started on a queue no worker polls: the page
 * is built from visibility and memos alone, which is what it reads of real actions. An approver signs in with a
 * passkey (a software authenticator, through the inbox's own API) and asks for the page as a browser does.
 *
 * Options (environment): BENCH_PENDING (default 10000), BENCH_PAGE_LOADS (default 30). Prints the figures and writes
 * .airlock/bench/inbox.json; asserts only that the page lists actions.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@temporalio/client';
import { AirlockClient } from '../client/airlock-client';
import { ACTION_MEMO_KEY, type ActionMemo } from '../common/action-memo';
import { SA_AGENT, SA_REQUESTER, SA_RISK, SA_STATUS, SA_TASK } from '../common/search-attributes';
import { ACTION_WORKFLOW_TYPE } from '../common/task-queue';
import { airlockDataConverter } from '../crypto/data-converter';
import { newCodecKeyFile, parseCodecKeys } from '../crypto/encryption-codec';
import { addPasskey } from '../inbox/passkey-book';
import { listOldestFirst } from '../client/action-list';
import { startInbox } from '../inbox/start-inbox';
import { REPO_ROOT } from '../stack/dev-config';
import { startEphemeralStack } from '../stack/ephemeral-stack';
import { seedIdentities } from '../stack/seed-identities';
import { SoftPasskey } from '../test/support/soft-passkey';
import { percentiles } from './stages';

const PENDING = Number(process.env.BENCH_PENDING ?? 10_000);
const LOADS = Number(process.env.BENCH_PAGE_LOADS ?? 30);
const QUEUE = 'airlock-bench-inbox';

async function main(): Promise<void> {
  const stack = await startEphemeralStack();
  const stateDir = mkdtempSync(join(tmpdir(), 'airlock-inbox-bench-'));
  try {
    const keys = parseCodecKeys(newCodecKeyFile(), 'bench');
    const client = new Client({
      connection: stack.temporal.connection,
      namespace: stack.namespace,
      dataConverter: airlockDataConverter(keys),
    });

    // 1. PENDING actions waiting for approval, as visibility holds them.
    const tasks = ['billing.refund_charge', 'support.send_email', 'crm.update_customer'];
    const risks = ['critical', 'high', 'high'];
    const t0 = performance.now();
    let next = 0;
    const startOne = async (n: number) => {
      const memo: ActionMemo = {
        summary: `Refund ${(n % 97) + 1}.00 USD of charge ch_bench${String(n).padStart(6, '0')}`,
        planHash: n.toString(16).padStart(64, '0'),
        approvalsRequired: 2,
        approvals: n % 2,
        expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
      };
      await client.workflow.start(ACTION_WORKFLOW_TYPE, {
        taskQueue: QUEUE,
        workflowId: `act-${n.toString(16).padStart(24, '0')}`,
        args: [{ bench: true }],
        memo: { [ACTION_MEMO_KEY]: memo },
        typedSearchAttributes: [
          { key: SA_STATUS, value: 'awaiting_approval' },
          { key: SA_TASK, value: tasks[n % 3] },
          { key: SA_RISK, value: risks[n % 3] },
          { key: SA_REQUESTER, value: `user-${n % 50}` },
          { key: SA_AGENT, value: 'support-bot' },
        ],
      });
    };
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        for (let n = next++; n < PENDING; n = next++) await startOne(n);
      }),
    );
    const startedMs = performance.now() - t0;
    const query = `WorkflowType = '${ACTION_WORKFLOW_TYPE}' AND TaskQueue = '${QUEUE}' AND ${SA_STATUS.name} = 'awaiting_approval'`;
    for (;;) {
      const { count } = await client.workflowService.countWorkflowExecutions({ namespace: stack.namespace, query });
      if (Number(count) >= PENDING) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const visibleMs = performance.now() - t0;

    // 2. The inbox, and an approver signed in with a passkey.
    const keysDir = join(stateDir, 'keys');
    const files = { approversFile: join(stateDir, 'approvers.json'), agentsFile: join(stateDir, 'agents.json') };
    seedIdentities(
      keysDir,
      files,
      [{ name: 'bob', groups: ['approvers'] }],
      [{ name: 'support-bot', owners: ['dave'] }],
    );
    const airlock = new AirlockClient(client, { taskQueue: QUEUE });
    const inbox = await startInbox({ client: airlock, ...files, port: 0, stateDir });
    const passkey = new SoftPasskey('localhost', inbox.url);
    addPasskey(files.approversFile, 'bob', passkey.entry());
    const post = (path: string, body: unknown) =>
      fetch(`${inbox.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: inbox.url },
        body: JSON.stringify(body),
      });
    const { ticket, options } = (await (await post('/api/login/options', {})).json()) as {
      ticket: string;
      options: { challenge: string };
    };
    const a = passkey.assert(options.challenge);
    const login = await post('/api/login', {
      ticket,
      response: {
        id: a.credentialId,
        response: { authenticatorData: a.authenticatorData, clientDataJSON: a.clientDataJSON, signature: a.signature },
      },
    });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
    if (!login.ok || !cookie) throw new Error(`sign-in failed: ${login.status} ${await login.text()}`);

    // 3. The first page, as a browser asks for it (and the visibility call it makes, on its own).
    const page = async (path: string) => {
      const s = performance.now();
      const res = await fetch(`${inbox.url}${path}`, { headers: { cookie } });
      const body = await res.text();
      return { ms: performance.now() - s, body, status: res.status };
    };
    const first: number[] = [];
    const listing: number[] = [];
    let countsPerPage = 0;
    let firstBody = '';
    for (let i = 0; i < LOADS; i++) {
      const r = await page('/');
      first.push(r.ms);
      firstBody = r.body;
      const s = performance.now();
      const listed = await listOldestFirst(
        client,
        QUEUE,
        { status: ['awaiting_approval', 'awaiting_reapproval'] },
        { pageSize: 25 },
      );
      listing.push(performance.now() - s);
      countsPerPage = listed.counts;
    }
    const rows = (firstBody.match(/<tr data-id=/g) ?? []).length;
    const nextToken = /href="\/\?after=([^"&]+)/.exec(firstBody)?.[1];
    const second = nextToken ? await page(`/?after=${nextToken}`) : undefined;
    const filtered: number[] = [];
    for (let i = 0; i < Math.min(LOADS, 10); i++) filtered.push((await page('/?task=support.send_email&risk=high')).ms);
    await inbox.close();
    if (rows !== 25) throw new Error(`the first page listed ${rows} actions, not 25`);

    const round = (x: number) => Math.round(x * 10) / 10;
    const report = {
      pending: PENDING,
      startedIn: { ms: Math.round(startedMs), perSecond: Math.round(PENDING / (startedMs / 1000)) },
      visibleAfterMs: Math.round(visibleMs),
      firstPage: { ...mapValues(percentiles(first), round), loads: LOADS, rows },
      oldestFirstListing: { ...mapValues(percentiles(listing), round), visibilityCounts: countsPerPage },
      secondPage: second ? { ms: round(second.ms), status: second.status } : null,
      filteredFirstPage: mapValues(percentiles(filtered), round),
      targetMs: 1000,
    };
    console.log(`
Inbox with ${PENDING} actions pending (started in ${report.startedIn.ms} ms, ${report.startedIn.perSecond}/s; all visible after ${report.visibleAfterMs} ms)
  first page (25 rows), request to last byte:  p50 ${report.firstPage.p50} ms, p95 ${report.firstPage.p95} ms over ${LOADS} loads  (target < 1000 ms: ${report.firstPage.p95 < 1000 ? 'met' : 'NOT met'})
    of which finding and listing the oldest:  p50 ${report.oldestFirstListing.p50} ms, p95 ${report.oldestFirstListing.p95} ms (${countsPerPage} visibility counts, one list)
  second page (next token):                   ${report.secondPage?.ms ?? '-'} ms
  filtered (task and risk):                   p50 ${report.filteredFirstPage.p50} ms, p95 ${report.filteredFirstPage.p95} ms`);
    const dir = join(REPO_ROOT, '.airlock', 'bench');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'inbox.json'), `${JSON.stringify(report, null, 2)}\n`);
  } finally {
    await stack.stop();
  }
}

function mapValues<T extends Record<string, number>>(o: T, f: (x: number) => number): T {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)])) as T;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
