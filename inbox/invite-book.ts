import { createHash, randomBytes } from 'node:crypto';
import { AirlockError } from '../common/errors';
import { canonicalPersonId } from '../common/identifiers';
import { readJsonFile, withFileLock, writeJsonFile } from './json-file';

/** An enrolment link that cannot be used: unknown, used already, or expired. */
export class InviteError extends AirlockError {
  readonly type = 'AIRLOCK_INVITE';
}

interface InviteRecord {
  /** sha-256 of the token: the file never holds a usable link. */
  tokenHash: string;
  approver: string;
  createdAt: string;
  expiresAt: string;
  usedAt?: string;
}

const hash = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * One-time enrolment links (`airlock approvers invite bob`): a random token, of which only the hash is stored, good
 * for one passkey registration before it expires. Creating a new invite for a person voids their older ones.
 */
export class InviteBook {
  constructor(
    private readonly file: string,
    private readonly clock: () => number = Date.now,
  ) {}

  private read(): InviteRecord[] {
    return readJsonFile<{ invites: InviteRecord[] }>(this.file, { invites: [] }).invites;
  }

  /** A new link's token for `approver`, valid for `ttlMs`. */
  create(approver: string, ttlMs: number): { token: string; expiresAt: string } {
    const token = randomBytes(32).toString('base64url');
    const now = this.clock();
    const id = canonicalPersonId(approver);
    const expiresAt = new Date(now + ttlMs).toISOString();
    withFileLock(this.file, () => {
      // Used links are kept until they would have expired, so that opening one again says it was used.
      const kept = this.read().filter((i) => Date.parse(i.expiresAt) > now && !(i.approver === id && !i.usedAt));
      kept.push({ tokenHash: hash(token), approver: id, createdAt: new Date(now).toISOString(), expiresAt });
      writeJsonFile(this.file, { invites: kept });
    });
    return { token, expiresAt };
  }

  /** Who a token enrols, if it is still good; throws InviteError otherwise. Does not use it up. */
  check(token: unknown): string {
    return this.find(token).approver;
  }

  /** Uses a token up, checking it again under the lock: of two enrolments with one link, one gets it. */
  consume(token: unknown): string {
    return withFileLock(this.file, () => {
      const invite = this.find(token);
      const all = this.read().map((i) =>
        i.tokenHash === invite.tokenHash ? { ...i, usedAt: new Date(this.clock()).toISOString() } : i,
      );
      writeJsonFile(this.file, { invites: all });
      return invite.approver;
    });
  }

  private find(token: unknown): InviteRecord {
    const invite =
      typeof token === 'string' && token.length <= 100
        ? this.read().find((i) => i.tokenHash === hash(token))
        : undefined;
    if (!invite)
      throw new InviteError(
        'This enrolment link is not valid. Ask an admin for a new one (airlock approvers invite <name>).',
      );
    if (invite.usedAt) throw new InviteError('This enrolment link was used already. Ask an admin for a new one.');
    if (Date.parse(invite.expiresAt) <= this.clock())
      throw new InviteError('This enrolment link has expired. Ask an admin for a new one.');
    return invite;
  }
}
