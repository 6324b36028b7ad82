import { ApproversFileSchema } from '../config/identities';
import type { PasskeyEntry } from '../config/passkeys';
import { readPasskey } from '../config/passkeys';
import { AirlockError } from '../common/errors';
import { counterAdvances } from '../common/approval-rules';
import { canonicalPersonId } from '../common/identifiers';
import { readJsonFile, writeJsonFile } from './json-file';

/** A passkey that cannot be added, or whose counter went backwards. */
export class PasskeyError extends AirlockError {
  readonly type = 'AIRLOCK_PASSKEY';
}

/**
 * Adds a registered passkey to its person in the approvers file (the registry workers read), keeping everything
 * else in the file as it is. The person must be registered already; a credential belongs to one person.
 */
export function addPasskey(approversFile: string, approver: string, entry: PasskeyEntry): void {
  const raw = readJsonFile<Record<string, unknown>>(approversFile, {});
  const parsed = ApproversFileSchema.parse(raw);
  const id = canonicalPersonId(approver);
  readPasskey(entry, approver); // an ES256 key, or refused here rather than at the worker
  if (parsed.approvers.some((a) => a.passkeys?.some((p) => p.id === entry.id)))
    throw new PasskeyError('This passkey is registered already.');
  const people = (raw.approvers as Record<string, unknown>[]).map((a) => {
    if (canonicalPersonId(String(a.name)) !== id) return a;
    return { ...a, passkeys: [...((a.passkeys as PasskeyEntry[] | undefined) ?? []), entry] };
  });
  if (!parsed.approvers.some((a) => canonicalPersonId(a.name) === id))
    throw new PasskeyError(`"${approver}" is not in the approvers file; add them before inviting them.`);
  writeJsonFile(approversFile, { ...raw, approvers: people });
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
    const all = readJsonFile<Record<string, number>>(this.file, {});
    const last = Object.prototype.hasOwnProperty.call(all, credentialId) ? all[credentialId] : undefined;
    if (!counterAdvances(last, counter)) return false;
    writeJsonFile(this.file, { ...all, [credentialId]: counter });
    return true;
  }
}
