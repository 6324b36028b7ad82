/**
 * The approval inbox in a real browser: Debian's Chromium driven by playwright-core, with a CDP virtual
 * authenticator as each approver's passkey. Approvers enrol from a one-time link, sign in with the passkey, review a
 * plan and decide; the workflow verifies each passkey assertion as it verifies an Ed25519 signature. Then the
 * attacks: forged and replayed assertions, a stale plan, CSRF, a borrowed session cookie, and agent-written markup.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { REPO_ROOT } from '../stack/dev-config';
import { invitesIn, startInbox, type RunningInbox } from '../inbox/start-inbox';
import type { ApprovalAttempt, DecisionPayload, SignedDecision } from '../common/types';
import { runAirlock, suiteCliEnv } from './support/cli';
import { startHarness, type Harness } from './support/harness';
import { proposeRefundNeedingTwo } from './support/refunds';
import { approverBrowser, launchChromium, type ApproverBrowser } from './support/browser';
import { startRogue } from './support/rogue';

let h: Harness;
let inbox: RunningInbox;
let browser: Browser;
let stateDir: string;
const people: Record<string, ApproverBrowser> = {};

beforeAll(async () => {
  h = await startHarness();
  stateDir = mkdtempSync(join(tmpdir(), 'airlock-inbox-'));
  inbox = await startInbox({
    client: h.airlock,
    approversFile: h.approversFile,
    agentsFile: h.agentsFile,
    port: 0,
    stateDir,
  });
  browser = await launchChromium();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await inbox?.close();
  await h?.close();
});

const alice = { agent: 'support-bot', user: 'alice' };
const airlock = (...args: string[]) =>
  runAirlock(args, {
    env: suiteCliEnv(h.keysDir, {
      AIRLOCK_APPROVERS_FILE: h.approversFile,
      AIRLOCK_AGENTS_FILE: h.agentsFile,
      AIRLOCK_INBOX_DIR: stateDir,
      AIRLOCK_INBOX_URL: inbox.url,
    }),
  });

/** Enrols `name`'s passkey from an invite link and signs them in. */
async function enrolAndSignIn(name: string, link: string): Promise<Page> {
  const who = (people[name] = await approverBrowser(browser));
  const { page } = who;
  await page.goto(link);
  await page.click('button[data-action="enrol"]');
  await page.waitForSelector(`#message:has-text("Passkey enrolled for ${name}")`);
  await page.goto(`${inbox.url}/login`);
  await page.click('button[data-action="login"]');
  await page.waitForURL(`${inbox.url}/`);
  await page.waitForSelector(`.who:has-text("${name}")`);
  return page;
}

/** A POST from the page's own script, with the page's CSRF token unless `withToken` is false; its status. */
const postFromPage = (page: Page, url: string, body: unknown, withToken = true): Promise<number> =>
  page.evaluate(
    async ({ url, body, withToken }) => {
      type Doc = { querySelector(s: string): { getAttribute(n: string): string | null } | null };
      const doc = (globalThis as unknown as { document: Doc }).document;
      const token = doc.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(withToken ? { 'x-csrf-token': token } : {}) },
        body: JSON.stringify(body),
      });
      return res.status;
    },
    { url, body, withToken },
  );

/** Clicks approve (or reject) on an action's page and returns what the page said. */
async function decideInPage(page: Page, id: string, decision: 'approve' | 'reject', reason = ''): Promise<string> {
  await page.goto(`${inbox.url}/actions/${id}`);
  await page.fill('section.decide input[name="reason"]', reason);
  await page.click(`section.decide button[data-action="${decision}"]`);
  const outcome = page.locator('section.decide .outcome[data-result]');
  await outcome.waitFor();
  return (await outcome.textContent()) ?? '';
}

/** The body of the next `/api/decisions` request the page sends: the signed assertion, for the attacks below. */
function captureDecision(page: Page): Promise<{ ticket: string; response: Record<string, unknown> }> {
  return new Promise((resolve) => {
    void page.route('**/api/decisions', async (route) => {
      resolve(route.request().postDataJSON() as { ticket: string; response: Record<string, unknown> });
      await route.continue();
    });
  });
}

const refundOver20 = (chargeId: string) => proposeRefundNeedingTwo(h, chargeId);
const stripeRefunds = () => h.stripe.requests.filter((r) => r.method === 'POST' && r.path.startsWith('/v1/refunds'));

test('bob and carol enrol passkeys from one-time links (the CLI makes one) and sign in with them', async () => {
  const invited = await airlock('approvers', 'invite', 'bob', '--json');
  expect(invited.code).toBe(0);
  const bobLink = (JSON.parse(invited.stdout) as { url: string }).url;
  expect(bobLink.startsWith(`${inbox.url}/enrol#`)).toBe(true);
  await enrolAndSignIn('bob', bobLink);
  const carolLink = `${inbox.url}/enrol#${invitesIn(stateDir).create('carol', 60_000).token}`;
  await enrolAndSignIn('carol', carolLink);

  // The passkeys are in the approvers registry, next to the Ed25519 keys.
  const file = JSON.parse(readFileSync(h.approversFile, 'utf8')) as {
    approvers: { name: string; publicKey: string; passkeys?: { id: string; rpId: string; origin: string }[] }[];
  };
  const bob = file.approvers.find((a) => a.name === 'bob');
  expect(bob?.publicKey).toMatch(/^ed25519:/);
  expect(bob?.passkeys).toEqual([expect.objectContaining({ rpId: 'localhost', origin: inbox.url })]);
  expect(bob?.passkeys?.[0].id).toBe(
    (await people.bob.credentials())[0].credentialId.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_'),
  );

  // The link was for one use: opening it again enrols nothing.
  const again = await approverBrowser(browser);
  await again.page.goto(bobLink);
  await again.page.click('button[data-action="enrol"]');
  await again.page.waitForSelector('#message:has-text("used already")');
  await again.context.close();
});

test('nobody reaches a page or an API without a session', async () => {
  const stranger = await browser.newContext();
  const page = await stranger.newPage();
  await page.goto(`${inbox.url}/`);
  expect(page.url()).toBe(`${inbox.url}/login`);
  await page.goto(`${inbox.url}/actions/act-000000000000000000000000`);
  expect(page.url()).toBe(`${inbox.url}/login`);
  const api = await page.evaluate(async () => {
    const res = await fetch('/api/decisions/options', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    return res.status;
  });
  expect(api).toBe(401);
  await stranger.close();
});

test('a critical refund is approved with two passkeys, and executes once', async () => {
  const id = await refundOver20('ch_inbox0001');
  const bob = people.bob.page;
  await bob.goto(`${inbox.url}/`);
  const row = bob.locator(`tr[data-id="${id}"]`);
  await row.waitFor();
  expect(await row.textContent()).toContain('billing.refund_charge');
  expect(await row.textContent()).toContain('0/2');

  await bob.goto(`${inbox.url}/actions/${id}`);
  const state = await h.airlock.get(id);
  expect(await bob.locator('code.hash').textContent()).toBe(state.plan?.hash);
  expect(await bob.locator('.diff').count()).toBe(1);

  expect(await decideInPage(bob, id, 'approve')).toContain('Approved as bob');
  expect(await decideInPage(people.carol.page, id, 'approve')).toContain('Approved as carol');
  const done = await h.airlock.result(id, { timeoutMs: 60_000 });
  expect(done.status).toBe('succeeded');
  expect(done.approvedBy).toEqual(['bob', 'carol']);
  expect(done.approvals.every((a) => a.signature.startsWith('webauthn.v1:'))).toBe(true);
  expect(stripeRefunds().filter((r) => r.headers['idempotency-key'] === id)).toHaveLength(1);
});

test('one approval from the CLI (Ed25519) and one from the browser (passkey) make the same quorum', async () => {
  const id = await refundOver20('ch_inbox0002');
  const plan = (await h.airlock.get(id)).plan?.hash as string;
  const cli = await airlock('approve', id, '--as', 'bob', '--plan', plan, '--yes');
  expect(cli.code).toBe(0);
  expect(await decideInPage(people.carol.page, id, 'approve')).toContain('Approved as carol');
  const done = await h.airlock.result(id, { timeoutMs: 60_000 });
  expect(done.status).toBe('succeeded');
  expect(done.approvals.map((a) => a.signature.startsWith('webauthn.v1:'))).toEqual([false, true]);
});

test('three emails are approved together from the batch view, one signature each', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const { id } = await h.airlock.propose({
      task: 'support.send_email',
      input: { to: `lin${i}@elsewhere.test`, subject: `Batch ${i}`, body: 'Your order shipped.' },
      ...alice,
    });
    ids.push(id);
  }
  for (const id of ids) await h.airlock.waitFor(id, ['awaiting_approval']);
  const bob = people.bob.page;
  await bob.goto(`${inbox.url}/?task=support.send_email`);
  for (const id of ids) await bob.check(`input[value="${id}"]`);
  await bob.click('button[data-batch]');
  await bob.waitForURL(/\/batch\?/);
  expect(await bob.locator('article.batch-item').count()).toBe(3);
  await bob.click('button[data-action="batch-approve"]');
  await bob.waitForSelector('#message:has-text("Done.")');
  expect(await bob.locator('article.batch-item .outcome[data-result="accepted"]').count()).toBe(3);
  for (const id of ids) expect((await h.airlock.result(id, { timeoutMs: 60_000 })).status).toBe('succeeded');
  const nonces = new Set<string>();
  for (const id of ids) for (const a of (await h.airlock.get(id)).approvals) nonces.add(a.nonce);
  expect(nonces.size).toBe(3);
});

test('a rejection needs a reason, and ends the action with it', async () => {
  const id = await refundOver20('ch_inbox0003');
  expect(await decideInPage(people.bob.page, id, 'reject')).toContain('needs a reason');
  expect((await h.airlock.get(id)).approvals).toHaveLength(0);
  expect(await decideInPage(people.bob.page, id, 'reject', 'Customer already refunded by phone')).toContain(
    'Rejected as bob',
  );
  const done = await h.airlock.result(id, { timeoutMs: 30_000 });
  expect(done.status).toBe('rejected');
  expect(done.error?.message).toContain('Customer already refunded by phone');
});

describe('attacks fail and change nothing', () => {
  let target: string;
  let other: string;
  let captured: { payload: DecisionPayload; response: Record<string, unknown> };
  const unchanged = async (id: string) => {
    const s = await h.airlock.get(id);
    expect(s.status).toBe('awaiting_approval');
    return s;
  };

  beforeAll(async () => {
    target = await refundOver20('ch_inbox0004');
    other = await refundOver20('ch_inbox0005');
    // Bob approves `target` once in the browser; the attacker records everything his browser sent.
    const bob = people.bob.page;
    const options = new Promise<DecisionPayload>((resolve) => {
      void bob.route('**/api/decisions/options', async (route) => {
        const res = await route.fetch();
        resolve(((await res.json()) as { payload: DecisionPayload }).payload);
        await route.fulfill({ response: res });
      });
    });
    const sent = captureDecision(bob);
    expect(await decideInPage(bob, target, 'approve')).toContain('Approved as bob');
    captured = { payload: await options, response: (await sent).response };
    await bob.unroute('**/api/decisions/options');
    await bob.unroute('**/api/decisions');
  });

  const signatureOf = (response: Record<string, unknown>) => {
    const r = response.response as Record<string, string>;
    return `webauthn.v1:${String(response.id)}.${r.authenticatorData}.${r.clientDataJSON}.${r.signature}`;
  };
  const send = (id: string, signed: SignedDecision): Promise<ApprovalAttempt> => h.airlock.decide(id, signed);

  test('a forged assertion (the payload altered under a genuine signature) is refused by the workflow', async () => {
    const before = await unchanged(target);
    const forged = { ...captured.payload, decision: 'reject' as const, reason: 'forged', nonce: 'f'.repeat(32) };
    const attempt = await send(target, { payload: forged, signature: signatureOf(captured.response) });
    expect(attempt).toMatchObject({ accepted: false, refusal: { code: 'bad_signature' } });
    const after = await unchanged(target);
    expect(after.approvedBy).toEqual(before.approvedBy);
  });

  test('the genuine assertion replayed on the same action, and on another action, is refused', async () => {
    const replay = await send(target, { payload: captured.payload, signature: signatureOf(captured.response) });
    expect(replay).toMatchObject({ accepted: false, refusal: { code: 'replayed_nonce' } });
    const moved = { ...captured.payload, actionId: other, runId: (await h.airlock.get(other)).runId };
    const elsewhere = await send(other, { payload: moved, signature: signatureOf(captured.response) });
    expect(elsewhere).toMatchObject({ accepted: false, refusal: { code: 'bad_signature' } });
    const verbatim = await send(other, { payload: captured.payload, signature: signatureOf(captured.response) });
    expect(verbatim).toMatchObject({ accepted: false, refusal: { code: 'wrong_action' } });
    expect((await unchanged(other)).approvedBy).toEqual([]);
    expect((await unchanged(target)).approvedBy).toEqual(['bob']);
  });

  test('a stale plan: approving a plan hash that is not the one awaiting is refused', async () => {
    const carol = people.carol.page;
    await carol.goto(`${inbox.url}/actions/${other}`);
    await carol.evaluate(() => {
      const page = globalThis as unknown as {
        document: { querySelector(s: string): { dataset: Record<string, string> } };
      };
      page.document.querySelector('section.decide').dataset.planHash = 'a'.repeat(64);
    });
    await carol.click('section.decide button[data-action="approve"]');
    const outcome = carol.locator('section.decide .outcome[data-result]');
    await outcome.waitFor();
    expect(await outcome.textContent()).toContain('The plan changed');
    expect((await unchanged(other)).approvals).toEqual([]);
  });

  test('a state-changing request without the CSRF token, or from another origin, is refused', async () => {
    const carol = people.carol.page;
    await carol.goto(`${inbox.url}/actions/${other}`);
    const body = { actionId: other, decision: 'approve', planHash: (await h.airlock.get(other)).plan?.hash };
    expect(await postFromPage(carol, '/api/decisions/options', body, false)).toBe(403);
    // With the token, the same request from the page is taken (it only builds a payload to sign).
    expect(await postFromPage(carol, '/api/decisions/options', body)).toBe(200);

    // A page on another origin posts to the inbox with the approver's browser: the cookie stays home (SameSite=Strict)
    // and the origin is not the inbox's.
    const evil = await startEvilSite(inbox.url);
    try {
      await carol.goto(evil.url);
      const answer = await carol.evaluate(async (url) => {
        try {
          const res = await fetch(`${url}/api/logout`, { method: 'POST', credentials: 'include', mode: 'no-cors' });
          return res.type;
        } catch (err) {
          return String(err);
        }
      }, inbox.url);
      expect(answer).toBe('opaque');
    } finally {
      await evil.close();
    }
    // Still signed in: the forged logout changed nothing.
    await carol.goto(`${inbox.url}/`);
    await carol.waitForSelector('.who:has-text("carol")');
    expect((await unchanged(other)).approvals).toEqual([]);
  });

  test("bob's session cookie in carol's browser cannot approve as bob", async () => {
    const cookies = await people.bob.context.cookies(inbox.url);
    const thief = await approverBrowser(browser);
    // Carol's passkey is in her authenticator; bob's is not. She carries bob's cookie.
    await thief.context.addCookies(cookies);
    await thief.page.goto(`${inbox.url}/actions/${other}`);
    await thief.page.waitForSelector('.who:has-text("bob")');
    await thief.page.click('section.decide button[data-action="approve"]');
    const outcome = thief.page.locator('section.decide .outcome[data-result]');
    await outcome.waitFor();
    expect(await outcome.textContent()).not.toContain('Approved');
    await thief.context.close();
    expect((await unchanged(other)).approvals).toEqual([]);
  });

  test("a stranger's workflow under an action id, claiming to be a real action, is not shown and cannot be signed for", async () => {
    // It answers getAction with the real action's state (its id, run and plan), so that a rejection signed "for it"
    // would be a rejection of the real one.
    const rogue = await startRogue();
    // An id of its own (ids are global on the suite's server, and other files forge theirs).
    const fakeId = `act-${randomBytes(12).toString('hex')}`;
    const shown = await rogue.showState(fakeId, await h.airlock.get(other));
    try {
      const bob = people.bob.page;
      await bob.goto(`${inbox.url}/actions/${fakeId}`);
      expect(await bob.locator('main').textContent()).toContain('is not an Airlock action');
      expect(await bob.locator('section.decide').count()).toBe(0);
      const body = { actionId: fakeId, decision: 'reject', reason: 'not mine', planHash: 'a'.repeat(64) };
      expect(await postFromPage(bob, '/api/decisions/options', body)).toBe(404);
    } finally {
      await shown.stop();
      await rogue.close();
    }
    expect((await unchanged(other)).approvals).toEqual([]);
  });

  test('an agent-written summary with <script> is shown as text and never runs', async () => {
    const hostile = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">';
    const { id } = await h.airlock.propose({
      task: 'support.send_email',
      input: { to: 'lin@elsewhere.test', subject: hostile, body: `Hi ${hostile}` },
      ...alice,
      reason: hostile,
    });
    await h.airlock.waitFor(id, ['awaiting_approval']);
    const bob = people.bob.page;
    for (const url of [`${inbox.url}/`, `${inbox.url}/actions/${id}`]) {
      await bob.goto(url);
      expect(await bob.evaluate(() => (globalThis as { __pwned?: number }).__pwned)).toBeUndefined();
      expect(await bob.locator('script:not([src])').count()).toBe(0);
      expect(await bob.locator('img').count()).toBe(0);
    }
    expect(await bob.locator('main').textContent()).toContain('<script>window.__pwned = 1</script>');
  });
});

test('screenshots of the inbox and of an action page', async () => {
  const id = await refundOver20('ch_inbox0006');
  const bob = people.bob.page;
  const dir = process.env.AIRLOCK_UPDATE_SCREENSHOTS ? join(REPO_ROOT, 'docs') : mkdtempSync(join(tmpdir(), 'shots-'));
  mkdirSync(dir, { recursive: true });
  await bob.goto(`${inbox.url}/`);
  const inboxShot = await bob.screenshot({ fullPage: true });
  await bob.goto(`${inbox.url}/actions/${id}`);
  const actionShot = await bob.screenshot({ fullPage: true });
  for (const [name, png] of [
    ['inbox.png', inboxShot],
    ['action-page.png', actionShot],
  ] as const) {
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    writeFileSync(join(dir, name), png);
  }
});

/** A page on another origin (another port), as an attacker's site would be. */
async function startEvilSite(_target: string): Promise<{ url: string; close(): Promise<void> }> {
  const { createServer } = await import('node:http');
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html');
    res.end('<!doctype html><title>evil</title><p>nothing to see</p>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((r) => server.close(() => r())) };
}

test('the inbox lists waiting actions from visibility and their memo alone: no worker needs to answer', async () => {
  const id = await refundOver20('ch_inbox0007');
  await h.stopWorker();
  try {
    const bob = people.bob.page;
    const started = Date.now();
    await bob.goto(`${inbox.url}/`);
    const row = bob.locator(`tr[data-id="${id}"]`);
    expect(await row.textContent()).toContain('Refund 25.00 USD of charge ch_inbox0007');
    expect(await row.textContent()).toContain('0/2');
    // A query would have waited for its timeout (2 s) with no worker to answer it.
    expect(Date.now() - started).toBeLessThan(1500);
  } finally {
    await h.startWorker();
  }
});
