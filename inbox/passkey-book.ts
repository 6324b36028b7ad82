import { ApproversFileSchema } from '../config/identities';
import type { PasskeyEntry } from '../config/passkeys';
import { PasskeyEntrySchema, readPasskey } from '../config/passkeys';
import { AirlockError } from '../common/errors';
import { counterAdvances } from '../common/approval-rules';
import { canonicalPersonId } from '../common/identifiers';
import { readJsonFile, withFileLock, writeJsonFile } from './json-file';

/** A passkey that cannot be added, or whose counter went backwards. */
export class PasskeyError extends AirlockError {
  readonly type = 'AIRLOCK_PASSKEY';
}

/**
 * Adds a registered passkey to its person in the approvers file (the registry workers read), keeping everything
 * else in the file as it is. The person must be registered already; a credential belongs to one person.
 */
export function addPasskey(approversFile: string, approver: string, entry: PasskeyEntry): void {
  // What an authenticator registered is checked as the workers will read it (an id of the right length, an ES256
  // key of bounded size): one malformed entry would make the whole file unreadable and stop every worker's start.
  const checked = PasskeyEntrySchema.safeParse(entry);
  if (!checked.success) throw new PasskeyError('This passkey cannot be registered: its id or key is malformed.');
  readPasskey(checked.data, approver);
  withFileLock(approversFile, () => writePasskey(approversFile, approver, checked.data));
}

function writePasskey(approversFile: string, approver: string, entry: PasskeyEntry): void {
  const raw = readJsonFile<Record<string, unknown>>(approversFile, {});
  const parsed = ApproversFileSchema.parse(raw);
  const id = canonicalPersonId(approver);
  if (!parsed.approvers.some((a) => canonicalPersonId(a.name) === id))
    throw new PasskeyError(`"${approver}" is not in the approvers file; add them before inviting them.`);
  if (parsed.approvers.some((a) => a.passkeys?.some((p) => p.id === entry.id)))
    throw new PasskeyError('This passkey is registered already.');
  const people = (raw.approvers as Record<string, unknown>[]).map((a) => {
    if (canonicalPersonId(String(a.name)) !== id) return a;
    return { ...a, passkeys: [...((a.passkeys as PasskeyEntry[] | undefined) ?? []), entry] };
  });
  const next = { ...raw, approvers: people };
  // The file as it will be must read as the workers read it, or it is not written.
  for (const a of ApproversFileSchema.parse(next).approvers) for (const p of a.passkeys ?? []) readPasskey(p, a.name);
  writeJsonFile(approversFile, next);
}

/**
 * The highest signature counter each passkey has shown the inbox, across all actions: a counter that does not
 * advance is a sign of a cloned authenticator (WebAuthn §6.1.1), and the assertion is refused. Passkeys that keep
 * no counter (synced ones report 0) pass.
 */
export class CounterBook {
  constructor(private readonly file: string) {}

  /** Records `counter` for the credential; false (and nothing recorded) if it did not advance. */
  advance(credentialId: string, counter: number): boolean {
    return withFileLock(this.file, () => {
      const all = readJsonFile<Record<string, number>>(this.file, {});
      const last = Object.prototype.hasOwnProperty.call(all, credentialId) ? all[credentialId] : undefined;
      if (!counterAdvances(last, counter)) return false;
      writeJsonFile(this.file, { ...all, [credentialId]: counter });
      return true;
    });
  }
}
