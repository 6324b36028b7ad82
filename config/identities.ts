import { readFileSync, statSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import { ConfigError } from '../common/errors';
import { PRINCIPAL_ID, canonicalPersonId } from '../common/identifiers';
import { parsePublicKey, rawPublicKey } from '../crypto/signing-keys';
import { PasskeyEntrySchema, readPasskey, type RegisteredPasskey } from './passkeys';

/** The approvers file: each person who may sign decisions, their public key, and their Cedar groups. */
export const ApproversFileSchema = z.strictObject({
  approvers: z.array(
    z.strictObject({
      name: z.string().regex(PRINCIPAL_ID, 'a name of 2–64 letters, digits, +=,.@_-'),
      publicKey: z.string(),
      groups: z.array(z.string()).default([]),
      /** Where notifications reach them (SES), if anywhere. */
      email: z.string().email().max(254).optional(),
      /** Passkeys enrolled through the web inbox (`airlock approvers invite`). */
      passkeys: z.array(PasskeyEntrySchema).optional(),
    }),
  ),
});

/** The agents file: each agent that may propose, its public key, and the people responsible for it. */
export const AgentsFileSchema = z.strictObject({
  agents: z.array(
    z.strictObject({
      name: z.string().regex(PRINCIPAL_ID, 'a name of 2–64 letters, digits, +=,.@_-'),
      publicKey: z.string(),
      owners: z.array(z.string().regex(PRINCIPAL_ID)).min(1, 'name at least one person responsible for the agent'),
    }),
  ),
});

/** One registered person. Being registered does not make one an approver: policy decides who may approve what. */
export interface Person {
  /** The canonical id (case-folded): the only form compared. */
  id: string;
  publicKey: KeyObject;
  /** The same key, raw and base64, for the workflow's own signature check. */
  rawKey: string;
  groups: string[];
  /** Where notifications reach them, if anywhere. */
  email?: string;
}

/** One registered agent. */
export interface Agent {
  id: string;
  publicKey: KeyObject;
  /** Canonical ids of the people responsible for it; they may not approve its actions. */
  owners: string[];
}

/** Everyone Airlock knows by key. */
export interface Identities {
  people: ReadonlyMap<string, Person>;
  agents: ReadonlyMap<string, Agent>;
  /**
   * A registered person's passkeys as the approvers file lists them now: enrolment adds passkeys while workers run,
   * so this is read again whenever the file changes. (Names, keys and groups are read once, at start.)
   */
  passkeysOf(id: string, o?: { fresh?: boolean }): readonly RegisteredPasskey[];
}

function readJson(file: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`Cannot read the ${what} ${file}: ${(err as Error).message}`);
  }
}

/**
 * Reads and checks the approvers file and the agents file together: every id is canonical (case-folded) and
 * unique across people and agents, and every public key belongs to exactly one of them, so one person can never
 * count twice toward a quorum, nor sign as an agent. Throws ConfigError naming what is wrong.
 */
export function loadIdentities(files: { approversFile: string; agentsFile: string }): Identities {
  const approvers = ApproversFileSchema.safeParse(readJson(files.approversFile, 'approvers file'));
  if (!approvers.success)
    throw new ConfigError(
      `The approvers file ${files.approversFile} is malformed: ${z.prettifyError(approvers.error)}`,
    );
  const agents = AgentsFileSchema.safeParse(readJson(files.agentsFile, 'agents file'));
  if (!agents.success)
    throw new ConfigError(`The agents file ${files.agentsFile} is malformed: ${z.prettifyError(agents.error)}`);
  const identities = buildIdentities(approvers.data.approvers, agents.data.agents, files);
  return { ...identities, passkeysOf: livePasskeys(files.approversFile, identities) };
}

/**
 * A person's passkeys, read again from the approvers file whenever its modification time or size changes. A file
 * that fails to parse while being edited leaves the last good reading in place (and says so once).
 */
function livePasskeys(file: string, initial: Identities): Identities['passkeysOf'] {
  let seen = '';
  let current = initial.passkeysOf;
  try {
    const st = statSync(file);
    seen = `${st.mtimeMs}/${st.size}`;
  } catch {
    // read below on first use
  }
  let checkedAt = Date.now();
  return (id, o) => {
    // Asked for everyone at each admission and sign-in: the file is looked at once for each (the first asks `fresh`),
    // as for each check of a signature, and otherwise at most once a second.
    if (!o?.fresh && Date.now() - checkedAt < 1000) return current(id);
    checkedAt = Date.now();
    try {
      const st = statSync(file);
      const stamp = `${st.mtimeMs}/${st.size}`;
      if (stamp !== seen) {
        seen = stamp;
        const parsed = ApproversFileSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
        current = passkeyIndex(parsed.approvers, initial.people, file);
      }
    } catch (err) {
      console.warn(`[airlock] keeping the passkeys read before: ${file} does not read now (${(err as Error).message})`);
    }
    return current(id);
  };
}

/** Passkeys by canonical id, for people registered at start; one credential belongs to one person. */
function passkeyIndex(
  approvers: z.output<typeof ApproversFileSchema>['approvers'],
  people: ReadonlyMap<string, unknown>,
  file: string,
): Identities['passkeysOf'] {
  const byPerson = new Map<string, RegisteredPasskey[]>();
  const holder = new Map<string, string>();
  for (const a of approvers) {
    const id = canonicalPersonId(a.name);
    if (!people.has(id)) continue;
    for (const entry of a.passkeys ?? []) {
      const other = holder.get(entry.id);
      if (other)
        throw new ConfigError(`${file} gives "${a.name}" the passkey ${entry.id.slice(0, 16)}… of "${other}".`);
      holder.set(entry.id, a.name);
      byPerson.set(id, [...(byPerson.get(id) ?? []), readPasskey(entry, a.name)]);
    }
  }
  return (id) => byPerson.get(id) ?? [];
}

/** Builds the registry from parsed entries; see {@link loadIdentities}. */
export function buildIdentities(
  approvers: z.output<typeof ApproversFileSchema>['approvers'],
  agents: z.output<typeof AgentsFileSchema>['agents'],
  where: { approversFile: string; agentsFile: string } = {
    approversFile: 'the approvers file',
    agentsFile: 'the agents file',
  },
): Identities {
  const seen = new Map<string, string>(); // canonical id → where it was first named
  const keys = new Map<string, string>(); // public key → who holds it
  const claim = (name: string, file: string, publicKeyText: string): { id: string; publicKey: KeyObject } => {
    const id = canonicalPersonId(name);
    const first = seen.get(id);
    if (first) {
      throw new ConfigError(
        `${file} names "${name}", which is the same identity as "${first}" (ids are compared case-folded); give each person and agent one name.`,
      );
    }
    seen.set(id, name);
    const publicKey = parsePublicKey(publicKeyText, name);
    const raw = rawPublicKey(publicKey);
    const holder = keys.get(raw);
    if (holder)
      throw new ConfigError(
        `${file} gives "${name}" the same public key as "${holder}": one key belongs to one person or agent.`,
      );
    keys.set(raw, name);
    return { id, publicKey };
  };
  const people = new Map<string, Person>();
  for (const a of approvers) {
    const { id, publicKey } = claim(a.name, where.approversFile, a.publicKey);
    people.set(id, {
      id,
      publicKey,
      rawKey: rawPublicKey(publicKey),
      groups: a.groups,
      ...(a.email ? { email: a.email } : {}),
    });
  }
  const registered = new Map<string, Agent>();
  for (const a of agents) {
    const { id, publicKey } = claim(a.name, where.agentsFile, a.publicKey);
    registered.set(id, { id, publicKey, owners: [...new Set(a.owners.map(canonicalPersonId))] });
  }
  return { people, agents: registered, passkeysOf: passkeyIndex(approvers, people, where.approversFile) };
}
