import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../common/errors';
import { REPO_ROOT } from './dev-config';

const venvBin = join(REPO_ROOT, '.tools', 'venv', 'bin');

function locate(envVar: string, name: string, dir = venvBin): string {
  const fromEnv = process.env[envVar];
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new ConfigError(`${envVar} points at ${fromEnv}, which does not exist.`);
    return fromEnv;
  }
  const local = join(dir, name);
  if (existsSync(local)) return local;
  throw new ConfigError(
    `${name} is not installed in ${dir}. Run \`node scripts/bootstrap.js\` (npm start and npm test do), or set ${envVar}.`,
  );
}

/** Path of the Temporal CLI: AIRLOCK_TEMPORAL_CLI, else the one bootstrap installed. */
export const temporalCliPath = (): string => locate('AIRLOCK_TEMPORAL_CLI', 'temporal');

/** Path of moto's server: AIRLOCK_MOTO_SERVER, else the one bootstrap installed. */
export const motoServerPath = (): string => locate('AIRLOCK_MOTO_SERVER', 'moto_server');

/** Path of stripe-mock: AIRLOCK_STRIPE_MOCK, else the one bootstrap built with `go install`. */
export const stripeMockPath = (): string =>
  locate('AIRLOCK_STRIPE_MOCK', 'stripe-mock', join(REPO_ROOT, '.tools', 'bin'));
