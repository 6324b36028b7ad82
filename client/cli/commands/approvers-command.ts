import { canonicalPersonId } from '../../../common/identifiers';
import { parseDurationSeconds } from '../../../common/durations';
import { loadIdentities } from '../../../config/identities';
import { inboxStateDir, invitesIn } from '../../../inbox/start-inbox';
import { CliError, print, useProfile } from '../cli-context';
import { identityFiles } from './identity-files';

/** What `airlock approvers invite` was asked for. */
export interface InviteOptions {
  ttl: string;
  origin?: string;
  approvers?: string;
  agents?: string;
}

/** `airlock approvers invite <name>`: a one-time link with which an approver enrols a passkey in the inbox. */
export function inviteCommand(name: string, o: InviteOptions): void {
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
}
