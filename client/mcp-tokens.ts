import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../common/errors';
import { PRINCIPAL_ID, canonicalPersonId } from '../common/identifiers';

/** The prefix of every Airlock MCP token, so a leaked one is recognisable (and secret scanners can match it). */
const TOKEN_PREFIX = 'airlock_mcp_';
const TOKEN_FORMAT = /^airlock_mcp_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

const TokenRecordSchema = z.strictObject({
  id: z.string().regex(/^[0-9a-f]{16}$/),
  agent: z.string().regex(PRINCIPAL_ID),
  user: z.string().regex(PRINCIPAL_ID).optional(),
  /** The MCP server's URL the token is for (the resource, RFC 8707): no other server accepts it. */
  audience: z.string().url(),
  /** sha-256 (hex) of the agent's registered public key when the token was made: a new key ends the token. */
  keyFingerprint: z.string().regex(/^[0-9a-f]{64}$/),
  /** sha-256 (hex) of the token's secret part; the secret itself is never stored. */
  secretHash: z.string().regex(/^[0-9a-f]{64}$/),
  label: z.string().max(200).optional(),
  createdAt: z.iso.datetime(),
  expiresAt: z.iso.datetime(),
  revokedAt: z.iso.datetime().optional(),
});
/** One token as the token file keeps it. */
export type TokenRecord = z.infer<typeof TokenRecordSchema>;
const TokenFileSchema = z.strictObject({ tokens: z.array(TokenRecordSchema) });

/** Who a valid token says is calling. */
export interface TokenHolder {
  tokenId: string;
  agent: string;
  user?: string;
  expiresAt: Date;
}

/** Why a token was refused: said to the caller as `error_description` (never which part of a secret was wrong). */
export class TokenRefusal extends Error {}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
/** The fingerprint a token binds: sha-256 of the agent's raw public key (base64). */
export const keyFingerprint = (rawPublicKeyBase64: string): string => sha256(rawPublicKeyBase64);

/**
 * The MCP server's bearer tokens, in a JSON file (mode 0600) that holds only hashes of their secrets. Each token is
 * bound to one agent (and optionally the user it acts for), to one server (its audience) and to the agent's key as
 * registered when it was made. The file is read again whenever it changes, so a revocation takes effect at the
 * next request.
 */
export class TokenBook {
  private seen = '';
  private records: TokenRecord[] = [];

  constructor(readonly file: string) {}

  private read(): TokenRecord[] {
    let st;
    try {
      st = statSync(this.file);
    } catch {
      this.records = [];
      this.seen = 'missing';
      return this.records;
    }
    const stampNow = `${st.mtimeMs}:${st.size}:${st.ino}:${st.mode}`;
    if (stampNow === this.seen) return this.records;
    // Whoever can write the file can make tokens for every agent the gateway signs for.
    if (st.mode & 0o022)
      throw new ConfigError(
        `The MCP token file ${this.file} is writable by others (mode ${(st.mode & 0o777).toString(8)}); make it the gateway user's alone (chmod 600).`,
      );
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(this.file, 'utf8'));
    } catch (err) {
      throw new ConfigError(
        `The MCP token file ${this.file} is not JSON (${(err as Error).message}); fix it or remove it and make new tokens.`,
      );
    }
    const parsed = TokenFileSchema.safeParse(json);
    if (!parsed.success)
      throw new ConfigError(
        `The MCP token file ${this.file} is malformed (${z.prettifyError(parsed.error)}); fix it or remove it and make new tokens.`,
      );
    this.records = parsed.data.tokens;
    this.seen = stampNow;
    return this.records;
  }

  /**
   * Runs `change` on the records as the file holds them now, and writes its result, holding a lock file so that two
   * commands at once (a create and a revoke) cannot write back each other's old records.
   */
  private update(change: (records: TokenRecord[]) => TokenRecord[]): void {
    mkdirSync(dirname(this.file), { recursive: true });
    const lock = `${this.file}.lock`;
    const deadline = Date.now() + 5000;
    let fd: number | undefined;
    while (fd === undefined) {
      try {
        fd = openSync(lock, 'wx', 0o600);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        // A lock left by a command that died is taken over after 30 s.
        try {
          if (Date.now() - statSync(lock).mtimeMs > 30_000) rmSync(lock, { force: true });
        } catch {
          // gone already
        }
        if (Date.now() > deadline)
          throw new ConfigError(`The MCP token file is locked by another command (${lock}); try again.`);
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
      }
    }
    try {
      this.seen = '';
      this.write(change(this.read()));
    } finally {
      closeSync(fd);
      rmSync(lock, { force: true });
    }
  }

  private write(records: TokenRecord[]): void {
    mkdirSync(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ tokens: records }, null, 2)}\n`, { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.file);
    this.seen = '';
  }

  /**
   * Makes a token for `agent` (acting for `user`, if given) at the server `audience`, valid for `seconds`. Returns
   * the token, which is shown once and never stored.
   */
  create(o: {
    agent: string;
    user?: string;
    audience: string;
    agentKey: string;
    seconds: number;
    label?: string;
    now?: Date;
  }): { token: string; record: TokenRecord } {
    const now = o.now ?? new Date();
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const record = TokenRecordSchema.parse({
      id,
      agent: canonicalPersonId(o.agent),
      ...(o.user ? { user: canonicalPersonId(o.user) } : {}),
      audience: o.audience,
      keyFingerprint: keyFingerprint(o.agentKey),
      secretHash: sha256(secret),
      ...(o.label ? { label: o.label } : {}),
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + o.seconds * 1000).toISOString(),
    });
    this.update((records) => [...records, record]);
    return { token: `${TOKEN_PREFIX}${id}_${secret}`, record };
  }

  /** Every token made, revoked ones too (no secrets: the file has none). */
  list(): readonly TokenRecord[] {
    return this.read();
  }

  /** Revokes a token by id; false when there is no such token or it was already revoked. */
  revoke(id: string, now = new Date()): boolean {
    let revoked = false;
    this.update((records) =>
      records.map((r) => {
        if (r.id !== id || r.revokedAt) return r;
        revoked = true;
        return { ...r, revokedAt: now.toISOString() };
      }),
    );
    return revoked;
  }

  /**
   * Who holds `token`, if it is valid for the server at `audience` and the agent's key is still `agentKey(agent)`.
   * @throws TokenRefusal saying why not (unknown, revoked, expired, for another server, the agent's key changed).
   */
  verify(
    token: string,
    audience: string,
    agentKey: (agent: string) => string | undefined,
    now = new Date(),
  ): TokenHolder {
    const m = TOKEN_FORMAT.exec(token);
    if (!m) throw new TokenRefusal('The token is not an Airlock MCP token.');
    const record = this.read().find((r) => r.id === m[1]);
    const given = Buffer.from(sha256(m[2]), 'hex');
    // Compared in constant time, and a hash is compared even when no record has the id.
    const expected = Buffer.from(record?.secretHash ?? '0'.repeat(64), 'hex');
    if (!timingSafeEqual(given, expected) || !record) throw new TokenRefusal('The token is not valid.');
    return this.check(record, audience, agentKey, now);
  }

  /**
   * Whether the token that opened a session is still good (not revoked, not expired, its agent's key unchanged):
   * asked while a session stays open, so that its holder loses it as soon as the token does.
   */
  stillValid(
    tokenId: string,
    audience: string,
    agentKey: (agent: string) => string | undefined,
    now = new Date(),
  ): boolean {
    const record = this.read().find((r) => r.id === tokenId);
    try {
      return Boolean(record && this.check(record, audience, agentKey, now));
    } catch (err) {
      if (err instanceof TokenRefusal) return false;
      throw err;
    }
  }

  private check(
    record: TokenRecord,
    audience: string,
    agentKey: (agent: string) => string | undefined,
    now: Date,
  ): TokenHolder {
    if (record.revokedAt) throw new TokenRefusal('The token was revoked.');
    if (new Date(record.expiresAt) <= now) throw new TokenRefusal('The token has expired.');
    if (record.audience !== audience) throw new TokenRefusal('The token was not issued for this resource.');
    const key = agentKey(record.agent);
    if (!key || keyFingerprint(key) !== record.keyFingerprint)
      throw new TokenRefusal("The token's agent is no longer registered with the key it was issued for.");
    return { tokenId: record.id, agent: record.agent, user: record.user, expiresAt: new Date(record.expiresAt) };
  }
}
