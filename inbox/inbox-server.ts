import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import { auditTrail } from '../audit/audit-trail';
import type { AirlockClient } from '../client/airlock-client';
import type { Identities } from '../config/identities';
import type { RegisteredPasskey } from '../config/passkeys';
import { ACTION_ID, MAX_REASON_CHARS, SHA256_HEX } from '../common/identifiers';
import { ACTION_WORKFLOW_TYPE } from '../common/task-queue';
import { actionMemo } from '../common/action-memo';
import { signedText } from '../common/signing';
import { DECIDING_STATUSES, RISK_LEVELS, type Risk } from '../common/statuses';
import { listOldestFirst, type OldestFirstCursor } from '../client/action-list';
import type { ActionState, DecisionPayload } from '../common/types';
import { fromBase64Url, toBase64Url } from '../common/base64';
import { encodePasskeySignature, passkeyChallenge, type PasskeyAssertion } from '../common/webauthn-assertion';
import { verifyPasskeyResponse } from '../crypto/verify-passkey';
import type { InviteBook } from './invite-book';
import { AirlockError } from '../common/errors';
import { CounterBook, addPasskey } from './passkey-book';
import { actionPage, batchPage, enrolPage, errorPage, inboxPage, loginPage, type InboxRow, type Viewer } from './pages';
import { ExpiringMap, SessionStore, randomId, type Session } from './sessions';
import { sameSecret } from '../crypto/same-secret';

/** What the inbox needs. */
export interface InboxOptions {
  client: AirlockClient;
  /** People, their keys and (read live) their passkeys. */
  identities: Identities;
  approversFile: string;
  invites: InviteBook;
  /** Where passkey counters are kept (the clone check across actions). */
  countersFile: string;
  /** The origin approvers open, e.g. http://localhost:8235: passkeys are bound to it. */
  origin: string;
  /** Task names, for the filter. */
  tasks: readonly string[];
  sessionTtlMs?: number;
  pageSize?: number;
  clock?: () => number;
}

const COOKIE = 'airlock_session';
const CEREMONY_MS = 5 * 60 * 1000;

/** A refusal the page shows: a status code and words that say what to do. */
class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code = 'refused',
  ) {
    super(message);
  }
}

interface Ceremony {
  kind: 'login' | 'enrol' | 'decide';
  challenge: string;
  expiresAt: number;
  /** For a decision: the session it belongs to and the exact payload the passkey signs. */
  sessionId?: string;
  payload?: DecisionPayload;
  /** For enrolment: the invite's token. */
  token?: string;
}

const ASSETS: Record<string, { file: string; type: string }> = {
  'inbox.js': { file: join(__dirname, 'assets', 'inbox.js'), type: 'text/javascript; charset=utf-8' },
  'inbox.css': { file: join(__dirname, 'assets', 'inbox.css'), type: 'text/css; charset=utf-8' },
  'webauthn.js': {
    // The package exports only its modules; its browser bundle sits beside them (its `unpkg` entry).
    file: join(dirname(require.resolve('@simplewebauthn/browser')), '..', 'dist', 'bundle', 'index.umd.min.js'),
    type: 'text/javascript; charset=utf-8',
  },
};

/** The assets' bytes, read once. */
const assetCache = new Map<string, Buffer>();
const assetBytes = (name: string, file: string): Buffer => {
  let bytes = assetCache.get(name);
  if (!bytes) assetCache.set(name, (bytes = readFileSync(file)));
  return bytes;
};

/**
 * The approval inbox (`airlock serve`): pending actions, their plans and diffs, and decisions signed with passkeys.
 *
 * Contract:
 * - no page and no API answers without a session, but sign-in, enrolment and the assets;
 * - a session comes only from a passkey assertion over a challenge this server issued, and lasts `sessionTtlMs`;
 * - every state-changing request must come from this origin and carry the session's CSRF token in a header;
 * - a decision must be signed by a passkey of the signed-in approver, over the payload this server built (approver,
 *   action, run, plan hash the person reviewed, decision, reason, time, nonce); the workflow verifies it again and
 *   decides, so the server is never trusted to approve anything itself.
 */
export function createInboxServer(o: InboxOptions): FastifyInstance {
  const clock = o.clock ?? Date.now;
  const rpID = new URL(o.origin).hostname;
  const secure = o.origin.startsWith('https:');
  const sessions = new SessionStore(o.sessionTtlMs, clock);
  // Sign-in and enrolment ceremonies anyone may start, and decisions only the signed-in can: kept apart, so that a
  // flood of the first kind cannot push out a person's decision under way.
  const ceremonies = new ExpiringMap<Ceremony>(10_000, clock);
  const decisionCeremonies = new ExpiringMap<Ceremony>(10_000, clock);
  const counters = new CounterBook(o.countersFile);
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024, trustProxy: false });

  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header(
      'content-security-policy',
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('cross-origin-opener-policy', 'same-origin');
    reply.header('x-frame-options', 'DENY');
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });

  const sessionOf = (req: FastifyRequest): Session | undefined => sessions.get(sessionCookie(req.headers.cookie));
  /** The session cookie: HttpOnly (no script reads it), SameSite=Strict (no other site sends it), Secure over TLS. */
  const setSession = (reply: FastifyReply, value: string, maxAgeSeconds: number) =>
    reply.header(
      'set-cookie',
      `${COOKIE}=${value}; Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`,
    );
  const viewerOf = (s: Session): Viewer => ({ approver: s.approver, csrf: s.csrf });

  /** A page that needs a session: without one, to sign-in. */
  const page =
    (render: (s: Session, req: FastifyRequest) => Promise<string>) =>
    async (req: FastifyRequest, reply: FastifyReply) => {
      const s = sessionOf(req);
      if (!s) return reply.redirect('/login', 303);
      try {
        return reply.type('text/html; charset=utf-8').send(await render(s, req));
      } catch (err) {
        const { status, message } = answerTo(err);
        return reply
          .code(status)
          .type('text/html; charset=utf-8')
          .send(errorPage('Cannot show this', message, viewerOf(s)));
      }
    };

  /** A state-changing API call: same origin, and with a session, its CSRF token. */
  const api =
    (
      needsSession: boolean,
      handle: (req: FastifyRequest, s: Session | undefined, reply: FastifyReply) => Promise<unknown>,
    ) =>
    async (req: FastifyRequest, reply: FastifyReply) => {
      try {
        if (req.headers.origin !== o.origin)
          throw new Refusal(
            403,
            'This request did not come from the inbox page; reload the inbox and try again.',
            'origin',
          );
        const s = sessionOf(req);
        if (needsSession) {
          if (!s) throw new Refusal(401, 'Your session has ended; sign in again.', 'no_session');
          if (!sameSecret(req.headers['x-csrf-token'] as string | undefined, s.csrf))
            throw new Refusal(403, 'The request lacks this page’s CSRF token; reload the page and try again.', 'csrf');
        }
        return reply.send(await handle(req, s, reply));
      } catch (err) {
        const { status, code, message } = answerTo(err);
        return reply.code(status).send({ ok: false, code, message });
      }
    };

  const body = (req: FastifyRequest): Record<string, unknown> =>
    req.body && typeof req.body === 'object' ? (req.body as Record<string, unknown>) : {};

  /** The assertion a browser returned, in the four parts a decision signs with. */
  const assertionOf = (response: unknown): PasskeyAssertion => {
    const r = (response ?? {}) as { id?: unknown; response?: Record<string, unknown> };
    const parts = [r.id, r.response?.authenticatorData, r.response?.clientDataJSON, r.response?.signature];
    if (!parts.every((p) => typeof p === 'string' && /^[A-Za-z0-9_-]{1,1400}$/.test(p)))
      throw new Refusal(400, 'The passkey’s answer is malformed; try again.', 'malformed');
    const [credentialId, authenticatorData, clientDataJSON, signature] = parts as string[];
    return { credentialId, authenticatorData, clientDataJSON, signature };
  };

  const passkeyOf = (credentialId: string): { person: string; passkey: RegisteredPasskey } | undefined => {
    // A sign-in reads the registry as it is (a passkey enrolled a moment ago signs in), then for everyone as cached.
    let fresh = true;
    for (const person of o.identities.people.keys()) {
      const passkey = o.identities.passkeysOf(person, { fresh }).find((p) => p.id === credentialId);
      fresh = false;
      if (passkey) return { person, passkey };
    }
    return undefined;
  };

  /** Verifies an assertion for a challenge, and that its counter advanced since the inbox last saw this passkey. */
  const verified = async (challenge: string, assertion: PasskeyAssertion, passkey: RegisteredPasskey) => {
    const verdict = await verifyPasskeyResponse(challenge, assertion, passkey);
    if (!verdict.valid)
      throw new Refusal(403, `The passkey’s signature was not accepted (${verdict.why}).`, 'bad_signature');
    if (!counters.advance(passkey.id, verdict.counter))
      throw new Refusal(
        403,
        'This passkey’s signature counter went backwards: it may have been cloned. Remove it and enrol a new one.',
        'cloned_authenticator',
      );
  };

  app.get('/assets/:name', async (req, reply) => {
    const name = (req.params as { name: string }).name;
    const asset = Object.prototype.hasOwnProperty.call(ASSETS, name) ? ASSETS[name] : undefined;
    if (!asset) return reply.code(404).send('Not found');
    return reply.type(asset.type).header('cache-control', 'no-cache').send(assetBytes(name, asset.file));
  });

  app.get('/login', async (_req, reply) => reply.type('text/html; charset=utf-8').send(loginPage()));
  app.get('/enrol', async (_req, reply) => reply.type('text/html; charset=utf-8').send(enrolPage()));

  app.post(
    '/api/login/options',
    api(false, async () => {
      const options = await generateAuthenticationOptions({ rpID, userVerification: 'required', timeout: 60_000 });
      const id = randomId();
      ceremonies.put(id, { kind: 'login', challenge: options.challenge, expiresAt: clock() + CEREMONY_MS });
      return { ticket: id, options };
    }),
  );

  app.post(
    '/api/login',
    api(false, async (req, _s, reply) => {
      const { ticket, response } = body(req);
      const ceremony = ceremonies.take(String(ticket));
      if (ceremony?.kind !== 'login') throw new Refusal(400, 'This sign-in expired; try again.', 'expired');
      const assertion = assertionOf(response);
      const found = passkeyOf(assertion.credentialId);
      if (!found) throw new Refusal(403, 'This passkey is not enrolled with Airlock.', 'unknown_passkey');
      await verified(ceremony.challenge, assertion, found.passkey);
      const s = sessions.create(found.person);
      setSession(reply, s.id, Math.floor(sessions.ttlMs / 1000));
      return { ok: true, approver: found.person };
    }),
  );

  app.post(
    '/api/logout',
    api(true, async (_req, s, reply) => {
      sessions.end((s as Session).id);
      setSession(reply, '', 0);
      return { ok: true };
    }),
  );

  app.post(
    '/api/enrol/options',
    api(false, async (req) => {
      const { token } = body(req);
      const approver = o.invites.check(token);
      if (!o.identities.people.has(approver))
        throw new Refusal(400, `"${approver}" is not a registered approver; ask an admin to add them first.`);
      const options = await generateRegistrationOptions({
        rpName: 'Airlock',
        rpID,
        userName: approver,
        userID: new TextEncoder().encode(approver) as Uint8Array<ArrayBuffer>,
        attestationType: 'none',
        authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
        supportedAlgorithmIDs: [-7],
        excludeCredentials: o.identities.passkeysOf(approver).map((p) => ({ id: p.id })),
        timeout: 60_000,
      });
      const id = randomId();
      ceremonies.put(id, {
        kind: 'enrol',
        challenge: options.challenge,
        token: String(token),
        expiresAt: clock() + CEREMONY_MS,
      });
      return { ticket: id, options };
    }),
  );

  app.post(
    '/api/enrol',
    api(false, async (req) => {
      const { ticket, response } = body(req);
      const ceremony = ceremonies.take(String(ticket));
      if (ceremony?.kind !== 'enrol') throw new Refusal(400, 'This enrolment expired; open the link again.', 'expired');
      const approver = o.invites.check(ceremony.token);
      let registration: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
      try {
        registration = await verifyRegistrationResponse({
          response: response as Parameters<typeof verifyRegistrationResponse>[0]['response'],
          expectedChallenge: ceremony.challenge,
          expectedOrigin: o.origin,
          expectedRPID: rpID,
          requireUserVerification: true,
          supportedAlgorithmIDs: [-7],
        });
      } catch (err) {
        throw new Refusal(400, `The passkey could not be registered: ${(err as Error).message}`, 'registration');
      }
      if (!registration.verified) throw new Refusal(400, 'The passkey could not be registered.', 'registration');
      const { credential, aaguid } = registration.registrationInfo;
      // The link is used up first, checked again under its lock: of two enrolments racing with one link, one wins,
      // and an invite voided meanwhile stops this one. (Should adding the passkey fail now, the person asks again.)
      if (o.invites.consume(ceremony.token) !== approver)
        throw new Refusal(400, 'This enrolment link was replaced; open the new one.', 'invite');
      addPasskey(o.approversFile, approver, {
        id: credential.id,
        publicKey: toBase64Url(credential.publicKey),
        rpId: rpID,
        origin: o.origin,
        addedAt: new Date(clock()).toISOString(),
        aaguid,
      });
      counters.advance(credential.id, credential.counter);
      return { ok: true, approver };
    }),
  );

  app.get(
    '/',
    page(async (s, req) => {
      const q = req.query as Record<string, string | undefined>;
      const task = q.task && o.tasks.includes(q.task) ? q.task : undefined;
      const risk = q.risk && (RISK_LEVELS as readonly string[]).includes(q.risk) ? (q.risk as Risk) : undefined;
      // Oldest first (the longest waiting on top), a page at a time, from visibility: never every action.
      const page = await listOldestFirst(
        o.client.temporal,
        o.client.queue,
        { status: DECIDING_STATUSES, ...(task ? { task } : {}), ...(risk ? { risk } : {}) },
        { pageSize: o.pageSize ?? 25, after: readCursor(q.after), now: clock() },
      );
      const actions = page.actions;
      // Each row from visibility and the action's memo; only runs begun before actions kept one are asked.
      const rows: InboxRow[] = await Promise.all(
        actions.map(async (summary) => ({
          summary,
          memo:
            summary.memo ??
            (await o.client
              .get(summary.id, { queryTimeoutMs: 2000 })
              .then(actionMemo)
              .catch(() => undefined)),
        })),
      );
      return inboxPage(viewerOf(s), rows, {
        tasks: o.tasks,
        task,
        risk,
        total: page.total,
        next: page.next ? writeCursor(page.next) : undefined,
        now: clock(),
      });
    }),
  );

  /**
   * An action's state, from Airlock's own workflow only: a workflow of the same id run by someone else (another type,
   * or another task queue) could answer with any id and plan, and have a person sign for the real action.
   */
  const actionState = async (id: string): Promise<ActionState> => {
    if (!ACTION_ID.test(id)) throw new Refusal(404, `"${id.slice(0, 40)}" is not an action id.`);
    const notFound = () =>
      new Refusal(404, `Action ${id} was not found, or no worker answered; try again in a moment.`);
    const description = await o.client.temporal.workflow
      .getHandle(id)
      .describe()
      .catch(() => {
        throw notFound();
      });
    if (description.type !== ACTION_WORKFLOW_TYPE || description.taskQueue !== o.client.queue)
      throw new Refusal(404, `${id} is not an Airlock action on this inbox's task queue.`);
    const state = await o.client.get(id).catch(() => {
      throw notFound();
    });
    if (state.id !== id || state.runId !== description.runId)
      throw new Refusal(409, `Action ${id} answered as another action or run; it is not shown.`);
    return state;
  };

  app.get(
    '/actions/:id',
    page(async (s, req) => {
      const id = (req.params as { id: string }).id;
      const state = await actionState(id);
      const timeline = await auditTrail(o.client.temporal, id).catch(() => []);
      return actionPage(viewerOf(s), state, timeline, clock());
    }),
  );

  app.get(
    '/batch',
    page(async (s, req) => {
      const raw = (req.query as { id?: string | string[] }).id;
      const ids = [...new Set(Array.isArray(raw) ? raw : raw ? [raw] : [])].slice(0, 50);
      if (!ids.length) throw new Refusal(400, 'Select at least one action in the inbox to review together.');
      const states = await Promise.all(ids.map(actionState));
      if (new Set(states.map((x) => x.task)).size > 1)
        throw new Refusal(400, 'Review actions of one task together; select actions of the same task.');
      return batchPage(viewerOf(s), states);
    }),
  );

  app.post(
    '/api/decisions/options',
    api(true, async (req, s) => {
      const session = s as Session;
      const b = body(req);
      const actionId = String(b.actionId ?? '');
      const decision = b.decision;
      const reason = typeof b.reason === 'string' && b.reason.trim() ? b.reason : undefined;
      const planHash = String(b.planHash ?? '');
      if (decision !== 'approve' && decision !== 'reject')
        throw new Refusal(400, 'A decision is approve or reject.', 'malformed');
      if (!SHA256_HEX.test(planHash)) throw new Refusal(400, 'The plan hash is missing; reload the page.', 'malformed');
      if (reason && reason.length > MAX_REASON_CHARS)
        throw new Refusal(400, `The reason is longer than ${MAX_REASON_CHARS} characters.`, 'oversized');
      if (decision === 'reject' && !reason)
        throw new Refusal(
          400,
          'A rejection needs a reason, so the agent and its user learn what to change.',
          'missing_reason',
        );
      const state = await actionState(actionId);
      if (!DECIDING_STATUSES.includes(state.status))
        throw new Refusal(
          409,
          `Action ${actionId} is ${state.status}, not awaiting a decision.`,
          'not_awaiting_approval',
        );
      if (decision === 'approve' && state.plan?.hash !== planHash)
        throw new Refusal(
          409,
          'The plan changed since you opened this page; reload it and review the new plan before you approve.',
          'wrong_plan_hash',
        );
      const passkeys = o.identities.passkeysOf(session.approver, { fresh: true });
      if (!passkeys.length)
        throw new Refusal(403, `${session.approver} has no passkey enrolled; ask an admin for an enrolment link.`);
      const payload: DecisionPayload = {
        approver: session.approver,
        actionId,
        runId: state.runId,
        planHash,
        decision,
        ...(reason ? { reason } : {}),
        time: new Date(clock()).toISOString(),
        nonce: randomBytes(16).toString('hex'),
      };
      const challenge = passkeyChallenge(signedText('airlock.decision.v1', payload));
      const options = await generateAuthenticationOptions({
        rpID,
        challenge: fromBase64Url(challenge) as Uint8Array<ArrayBuffer>,
        allowCredentials: passkeys.map((p) => ({ id: p.id })),
        userVerification: 'required',
        timeout: 120_000,
      });
      const ticket = randomId();
      decisionCeremonies.put(ticket, {
        kind: 'decide',
        challenge,
        sessionId: session.id,
        payload,
        expiresAt: clock() + CEREMONY_MS,
      });
      return { ticket, options, payload };
    }),
  );

  app.post(
    '/api/decisions',
    api(true, async (req, s) => {
      const session = s as Session;
      const { ticket, response } = body(req);
      const ceremony = decisionCeremonies.take(String(ticket));
      if (ceremony?.kind !== 'decide' || ceremony.sessionId !== session.id || !ceremony.payload)
        throw new Refusal(400, 'This decision expired or belongs to another session; decide again.', 'expired');
      const assertion = assertionOf(response);
      const passkey = o.identities
        .passkeysOf(session.approver, { fresh: true })
        .find((p) => p.id === assertion.credentialId);
      if (!passkey)
        throw new Refusal(
          403,
          `The passkey used is not one of ${session.approver}'s; sign with your own passkey.`,
          'unknown_key',
        );
      await verified(ceremony.challenge, assertion, passkey);
      const attempt = await o.client.decide(ceremony.payload.actionId, {
        payload: ceremony.payload,
        signature: encodePasskeySignature(assertion),
      });
      return { ok: attempt.accepted, attempt };
    }),
  );

  app.setNotFoundHandler(async (req, reply) => {
    const s = sessionOf(req);
    if (!s) return reply.redirect('/login', 303);
    return reply
      .code(404)
      .type('text/html; charset=utf-8')
      .send(errorPage('Not found', 'There is no such page in the inbox.', viewerOf(s)));
  });

  return app;
}

/**
 * What a person is told of an error: a refusal, or one of Airlock's own errors (written for people), as it is;
 * anything else only that it failed (its details, which may name files or servers, go to the server's log).
 */
function answerTo(err: unknown): { status: number; code: string; message: string } {
  if (err instanceof Refusal) return { status: err.status, code: err.code, message: err.message };
  if (err instanceof AirlockError) return { status: 400, code: err.type, message: err.message };
  console.error(`[airlock inbox] ${(err as Error)?.stack ?? String(err)}`);
  return {
    status: 500,
    code: 'internal',
    message: 'Something failed on the server; try again, or ask an admin to look at its log.',
  };
}

/** A page cursor as a link carries it (base64url JSON). */
function writeCursor(c: OldestFirstCursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

/** A page cursor from a link, if it is one: a time and at most 1,000 action ids; anything else starts at the top. */
function readCursor(text: unknown): OldestFirstCursor | undefined {
  if (typeof text !== 'string' || text.length > 40_000) return undefined;
  try {
    const c = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Partial<OldestFirstCursor>;
    if (!Number.isSafeInteger(c.at) || !Array.isArray(c.ids) || c.ids.length > 1000) return undefined;
    if (!c.ids.every((id) => typeof id === 'string' && ACTION_ID.test(id))) return undefined;
    return { at: c.at as number, ids: c.ids };
  } catch {
    return undefined;
  }
}

/** The session id in a Cookie header: the value of `airlock_session`, if it looks like one of ours. */
function sessionCookie(header: string | undefined): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [name, value] = part.trim().split('=', 2);
    if (name === COOKIE && value && /^[A-Za-z0-9_-]{43}$/.test(value)) return value;
  }
  return undefined;
}
