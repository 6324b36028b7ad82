import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../common/errors';

/** The repository root (where `temporal-dev.yml` lives). */
export const REPO_ROOT = resolve(__dirname, '..');

/** Shape of `temporal-dev.yml`. */
export const DevConfigSchema = z.strictObject({
  temporal: z.strictObject({
    ip: z.string(),
    port: z.number().int(),
    namespace: z.string(),
    dbFile: z.string(),
    ui: z.strictObject({ port: z.number().int() }),
    dynamicConfig: z.record(z.string(), z.unknown()).default({}),
    sqlitePragmas: z.record(z.string(), z.string()).default({}),
  }),
  moto: z.strictObject({
    ip: z.string(),
    port: z.number().int(),
    region: z.string(),
    accountId: z.string().regex(/^\d{12}$/),
    secrets: z.array(
      z.strictObject({
        name: z.string(),
        description: z.string().optional(),
        generate: z.boolean().default(false),
        prefix: z.string().default(''),
        value: z.string().optional(),
      }),
    ),
    emailIdentities: z.array(z.string()).default([]),
  }),
  notifications: z.strictObject({ emailFrom: z.string() }),
  demoCrm: z.strictObject({
    ip: z.string(),
    port: z.number().int(),
    tokenSecret: z.string(),
    readTokenSecret: z.string(),
    customers: z.array(
      z.strictObject({
        id: z.string(),
        name: z.string(),
        email: z.string(),
        phone: z.string(),
        tier: z.enum(['bronze', 'silver', 'gold', 'platinum']),
      }),
    ),
  }),
  codecServer: z.strictObject({ ip: z.string(), port: z.number().int() }),
  inbox: z.strictObject({ ip: z.string(), port: z.number().int() }),
  stripeMock: z.strictObject({ ip: z.string(), port: z.number().int() }),
  worker: z.strictObject({ policiesDir: z.string() }),
  approvers: z
    .array(z.strictObject({ name: z.string(), groups: z.array(z.string()).default([]), email: z.string().optional() }))
    .default([]),
  agents: z.array(z.strictObject({ name: z.string(), owners: z.array(z.string()).min(1) })).default([]),
});

/** The local stack's settings. */
export type DevConfig = z.output<typeof DevConfigSchema>;

let cached: DevConfig | undefined;

/** Reads and checks `temporal-dev.yml` (once per process). */
export function loadDevConfig(file = join(REPO_ROOT, 'temporal-dev.yml')): DevConfig {
  if (cached) return cached;
  let raw: unknown;
  try {
    raw = parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`Cannot read ${file}: ${(err as Error).message}`);
  }
  const parsed = DevConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(`${file} is malformed: ${z.prettifyError(parsed.error)}`);
  }
  cached = parsed.data;
  return cached;
}
