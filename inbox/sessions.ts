import { randomBytes } from 'node:crypto';

/** A signed-in approver. */
export interface Session {
  id: string;
  /** The approver's canonical id, proven by a passkey assertion at sign-in. */
  approver: string;
  /** The token every state-changing request must carry (a header), never a cookie. */
  csrf: string;
  expiresAt: number;
}

const token = () => randomBytes(32).toString('base64url');

/**
 * Values kept for a short time under a random key, each taken once, at most `cap` at a time (the oldest go first):
 * sessions, and the challenges of ceremonies under way, so that a flood of sign-in attempts costs bounded memory.
 */
export class ExpiringMap<T extends { expiresAt: number }> {
  private readonly entries = new Map<string, T>();

  constructor(
    private readonly cap: number,
    private readonly clock: () => number = Date.now,
  ) {}

  put(key: string, value: T): void {
    this.entries.set(key, value);
    while (this.entries.size > this.cap) this.entries.delete(this.entries.keys().next().value as string);
  }

  get(key: string | undefined): T | undefined {
    if (!key) return undefined;
    const value = this.entries.get(key);
    if (value && value.expiresAt <= this.clock()) {
      this.entries.delete(key);
      return undefined;
    }
    return value;
  }

  /** Gets and forgets: a challenge answers once. */
  take(key: string | undefined): T | undefined {
    const value = this.get(key);
    if (key) this.entries.delete(key);
    return value;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}

/** Short sessions (30 minutes by default, not extended by use): an approver signs in again with a passkey. */
export class SessionStore {
  private readonly sessions: ExpiringMap<Session>;

  constructor(
    readonly ttlMs = 30 * 60 * 1000,
    private readonly clock: () => number = Date.now,
  ) {
    this.sessions = new ExpiringMap<Session>(10_000, clock);
  }

  create(approver: string): Session {
    const session = { id: token(), approver, csrf: token(), expiresAt: this.clock() + this.ttlMs };
    this.sessions.put(session.id, session);
    return session;
  }

  get(id: string | undefined): Session | undefined {
    return this.sessions.get(id);
  }

  end(id: string): void {
    this.sessions.delete(id);
  }
}

/** A fresh random id for a ticket or a nonce. */
export const randomId = token;
