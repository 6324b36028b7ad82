import { findLocalStackProfile, readLocalStackProfile } from '../../config/local-stack-profile';
import { temporalTargetFromEnv } from '../../config/temporal-connection';

/** Variables that say the environment configures the CLI itself: then no profile is read. */
const OWN_CONFIGURATION = [
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'TEMPORAL_PROFILE',
  'TEMPORAL_API_KEY',
  'AIRLOCK_CODEC_KEY_FILE',
  'AIRLOCK_CODEC_KEYS',
];

/**
 * Where the CLI's settings come from: its environment when that names a Temporal or payload keys; otherwise the
 * local stack's profile (`AIRLOCK_ENV_FILE`, or `.airlock/local-stack.env` in the current folder while `npm start`
 * runs), copied into the environment. Never half of each: a cluster's address or credentials (from the environment
 * or the Temporal CLI's config file) with the local stack's keys would be neither. Returns the profile read, if any.
 */
export function loadCliEnvironment(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string | undefined {
  if (OWN_CONFIGURATION.some((name) => env[name]) || temporalTargetFromEnv(env).address) return undefined;
  const file = findLocalStackProfile(env, cwd);
  if (!file) return undefined;
  for (const [name, value] of Object.entries(readLocalStackProfile(file)))
    if (env[name] === undefined) env[name] = value;
  return file;
}
