import { spawn } from 'node:child_process';
import { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { AIRLOCK_TASK_QUEUE } from '../common/task-queue';
import type { ActionState } from '../common/types';
import { startHarness, type Harness } from './support/harness';
import { AIRLOCK_BIN, runAirlock, suiteCliEnv } from './support/cli';
import { startRogue } from './support/rogue';
import { PlanIntegrityError } from '../common/errors';

// Point 5 of the security issue: people see only what is there. Agent-, approver- and target-controlled text is
// printed with every control character, escape sequence and bidi override made visible, and nobody signs a plan
// they were not shown.
jest.setTimeout(120_000);

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ taskQueue: AIRLOCK_TASK_QUEUE });
});
afterAll(async () => {
  await h?.close();
});

/** Raw characters a terminal would obey: C0 (but newline), DEL, C1, bidi and invisible formatting characters. */
const OBEYED = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]/;
/** A string built to clear the screen, retitle the terminal, reorder text and forge a line. */
const HOSTILE =
  'ok\u001b[2J\u001b[H\u001b]0;pwned\u0007 APPROVED BY CEO \u202eexe.daolpu\u202c\r\napprovals 2/2 \u009b31m';

const env = () => suiteCliEnv(h.keysDir);
const airlock = (...args: string[]) => runAirlock(args, { env: env() });

/** Runs the CLI on a real pseudo-terminal (util-linux `script`), answering its question with `answer`. */
function onTerminal(answer: string, ...args: string[]): Promise<{ code: number; out: string }> {
  const command = [process.execPath, AIRLOCK_BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Promise((resolve) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { env: env() });
    let out = '';
    let answered = false;
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (!answered && out.includes('[y/N]')) {
        answered = true;
        child.stdin.write(`${answer}\n`);
      }
    });
    child.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

let action: ActionState;
beforeAll(async () => {
  // The target holds a hostile name (the plan's summary comes from it); the agent writes a hostile reason and note.
  h.crm.store.customers.get('C-1001')!.name = `Ada ${HOSTILE}`;
  const { id } = await h.airlock.propose({
    task: 'crm.update_customer',
    input: { customerId: 'C-1001', changes: { name: `Ada Lovelace ${HOSTILE}` } },
    agent: 'support-bot',
    user: 'alice',
    reason: HOSTILE,
  });
  await h.airlock.waitFor(id, ['awaiting_approval']);
  // A registered person's refused attempt, with a hostile reason.
  await h.decide(id, 'mallory', 'reject', { reason: HOSTILE });
  action = await h.airlock.get(id);
  expect(action.plan!.summary).toContain('\u001b[2J'); // the hostile text is really there
});

test.each(['show', 'show --json', 'pending', 'pending --json', 'audit', 'audit --json'])(
  'airlock %s shows hostile text escaped, never raw',
  async (command) => {
    const args = command.split(' ');
    const r = await airlock(...args, ...(args[0] === 'pending' ? [] : [action.id]));
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(OBEYED);
    if (!args.includes('--json'))
      expect(r.stdout).toContain('\\x1b[2J'); // shown, as text
    else expect(r.stdout).toContain('\\u001b[2J');
  },
);

test('the MCP server’s answers escape it too, and mask what agents must not see', async () => {
  const client = new McpClient({ name: 'display-test', version: '1.0.0' });
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [AIRLOCK_BIN, 'mcp'],
      env: { ...(env() as Record<string, string>), AIRLOCK_AGENT: 'support-bot', AIRLOCK_USER: 'alice' },
      stderr: 'pipe',
    }),
  );
  try {
    const answer = (await client.callTool({ name: 'get_action', arguments: { action_id: action.id } })) as {
      content: { text: string }[];
    };
    const text = answer.content.map((c) => c.text).join('\n');
    expect(text).toContain('awaiting approval');
    expect(text).not.toMatch(OBEYED);

    // The customer's current email is the approvers' to see, not the agent's.
    const { id } = await h.airlock.propose({
      task: 'crm.update_customer',
      input: { customerId: 'C-1002', changes: { email: 'grace@navy.example' } },
      agent: 'support-bot',
      user: 'alice',
    });
    await h.airlock.waitFor(id, ['awaiting_approval']);
    const view = JSON.parse(
      (
        (await client.callTool({ name: 'get_action', arguments: { action_id: id } })) as { content: { text: string }[] }
      ).content[0].text.replace(/^[^{]*/, ''),
    );
    expect(view.diff).toEqual([
      { path: 'email', op: 'change', before: '[hidden from agents]', after: 'grace@navy.example' },
    ]);
    expect(JSON.stringify(view)).not.toContain('grace@example.com');
    expect((await h.airlock.get(id)).plan!.diff[0].before).toBe('grace@example.com'); // approvers see it
  } finally {
    await client.close();
  }
});

describe('nobody signs a plan they were not shown', () => {
  test('off a terminal, approve and reject need --plan; --yes needs --plan', async () => {
    const approve = await airlock('approve', action.id, '--as', 'bob');
    expect(approve.code).toBe(1);
    expect(approve.stderr).toMatch(/Not on a terminal.*pass --plan <hash>/);
    const reject = await airlock('reject', action.id, '--as', 'bob', '--reason', 'no');
    expect(reject.code).toBe(1);
    expect((await airlock('approve', action.id, '--as', 'bob', '--yes')).stderr).toMatch(
      /--yes signs without asking, so it needs --plan/,
    );
    expect((await airlock('approve', action.id, '--as', 'bob', '--plan', 'abc')).stderr).toMatch(
      /full 64-character plan hash/,
    );
    expect((await h.airlock.get(action.id)).approvals.filter((a) => a.approver === 'bob')).toEqual([]);
  });

  test('a Temporal that shows one plan under the hash of another is refused: nothing shown as the plan, nothing signed', async () => {
    const rogue = await startRogue();
    try {
      // A real pending action's plan hash, under a summary and diff that say something harmless.
      const real = await h.airlock.get(action.id);
      const forged: ActionState = {
        ...real,
        id: `act-${'f'.repeat(24)}`,
        plan: { ...real.plan!, summary: 'Add a friendly note', diff: [{ path: 'notes', op: 'add', after: 'hello' }] },
      };
      const shown = await rogue.showState(forged.id, forged);
      await expect(h.airlock.get(forged.id)).rejects.toThrow(PlanIntegrityError);
      const show = await airlock('show', forged.id);
      expect([show.code, show.stderr]).toEqual([1, expect.stringContaining('does not match its hash')]);
      expect(show.stdout).not.toContain('Add a friendly note');
      const approve = await onTerminal('y', 'approve', forged.id, '--as', 'bob');
      expect(approve.code).toBe(1);
      expect(approve.out).toContain('Nothing was signed');
      expect(approve.out).not.toContain('[y/N]');
      // The same rogue showing the real plan unchanged is shown: the check refuses only what does not hold.
      const honest = await rogue.showState(`act-${'e'.repeat(24)}`, { ...real, id: `act-${'e'.repeat(24)}` });
      expect((await h.airlock.get(`act-${'e'.repeat(24)}`)).plan!.hash).toBe(real.plan!.hash);
      await shown.stop();
      await honest.stop();
    } finally {
      await rogue.close();
    }
    expect((await h.airlock.get(action.id)).approvedBy).toEqual([]);
  });

  test('on a terminal, approve shows the exact summary, diff and hash, escaped, and signs only on "y"', async () => {
    const no = await onTerminal('n', 'approve', action.id, '--as', 'bob');
    expect(no.code).toBe(2);
    expect(no.out).toContain(`plan ${action.plan!.hash}`);
    expect(no.out).toContain('~ name');
    expect(no.out).toContain('\\x1b[2J'); // the summary and diff, escaped
    expect(no.out).not.toMatch(/\u001b\[2J/);
    expect(no.out).toContain('Nothing was signed.');
    expect((await h.airlock.get(action.id)).approvedBy).toEqual([]);

    const wrong = await onTerminal('y', 'approve', action.id, '--as', 'bob', '--plan', '0'.repeat(64));
    expect(wrong.code).toBe(1);
    expect(wrong.out).toMatch(/is not the plan awaiting decisions/);

    const yes = await onTerminal('y', 'approve', action.id, '--as', 'bob');
    expect(yes.code).toBe(0);
    expect(yes.out).toMatch(new RegExp(`approved ${action.id} \\(plan ${action.plan!.hash.slice(0, 12)}\\) as bob`));
    expect((await h.airlock.result(action.id)).status).toBe('succeeded');
  });
});
