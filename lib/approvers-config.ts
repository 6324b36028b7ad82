import { readFileSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import { ConfigError } from '../common/errors';
import { parsePublicKey } from './approver-keys';

/** The approvers file: each person who may sign decisions, their public key, and their Cedar groups. */
export const ApproversFileSchema = z.strictObject({
  approvers: z.array(
    z.strictObject({
      name: z.string().regex(/^[\w+=,.@-]{2,64}$/),
      publicKey: z.string(),
      groups: z.array(z.string()).default([]),
    }),
  ),
});

/** One registered person. Being registered does not make one an approver: policy decides who may approve what. */
export interface Approver {
  name: string;
  publicKey: KeyObject;
  groups: string[];
}

/** Registered people by name. */
export type ApproverRegistry = ReadonlyMap<string, Approver>;

/** Reads and checks the approvers file; throws ConfigError naming what is wrong. */
export function loadApprovers(file: string): ApproverRegistry {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`Cannot read the approvers file ${file}: ${(err as Error).message}`);
  }
  const parsed = ApproversFileSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`The approvers file ${file} is malformed: ${z.prettifyError(parsed.error)}`);
  const registry = new Map<string, Approver>();
  for (const a of parsed.data.approvers) {
    if (registry.has(a.name)) throw new ConfigError(`The approvers file ${file} lists ${a.name} twice.`);
    registry.set(a.name, { name: a.name, publicKey: parsePublicKey(a.publicKey, a.name), groups: a.groups });
  }
  return registry;
}
