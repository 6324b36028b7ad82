/**
 * What every command shares: exit codes, its error, how it prints, the local stack's profile, and the one connection
 * to Temporal. Loaded by every run of the CLI, so it must stay light: it must not value-import anything that loads
 * the Temporal client, the task catalog or an SDK (those come through {@link cliModules}, when a command needs them).
 */
import { safeJson } from '../../common/terminal-text';
import type { AirlockClient, AirlockClientOptions } from '../airlock-client';
import { useColor } from './format';
import { cliModules } from './lazy-modules';

/**
 * Exit codes: 0 success; 1 error (bad arguments, unknown action, Temporal unreachable); 2 a decision was refused;
 * 3 with --wait, the action ended other than succeeded or planned.
 */
export const EXIT = { ok: 0, error: 1, refused: 2, unsuccessful: 3 } as const;

/** An error a person reads as it is (escaped), with the exit code it ends the command with; an empty message prints nothing. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code: number = EXIT.error,
  ) {
    super(message);
  }
}

/** Colour only for a terminal (and never with NO_COLOR). */
export const color = useColor();

let jsonOutput = false;
/** Asks for JSON output (--json, before or after the sub-command); never turned off again. */
export const wantJson = (on: boolean) => {
  jsonOutput ||= on;
};
/** Whether the command prints JSON. */
export const isJson = () => jsonOutput;

/** Prints for people (every outside value already escaped) or as JSON (C1, bidi and invisible characters escaped too). */
export const print = (human: string, json: unknown) => {
  process.stdout.write(jsonOutput ? `${safeJson(json, 2)}\n` : `${human}\n`);
};

/** The local stack's profile, when the environment leaves the CLI's settings to it: read by the commands that connect. */
let profile: string | undefined;
let profileRead = false;
/** Reads the local stack's profile into the environment, once (client/cli/cli-environment.ts); returns its path. */
export const useProfile = (): string | undefined => {
  if (!profileRead) [profile, profileRead] = [cliModules.cliEnvironment().loadCliEnvironment(), true];
  return profile;
};

/**
 * Connects once, and says truthfully what stands in the way: nothing configured (the local stack is not running
 * here), a setting missing, or a Temporal that does not answer.
 */
export async function connect(opts: AirlockClientOptions = {}): Promise<AirlockClient> {
  useProfile();
  const target = cliModules.temporalConnection().temporalTargetFromEnv();
  if (!target.address && !cliModules.encryptionCodec().codecKeysFromEnv(process.env)) {
    throw new CliError(
      'Airlock is not configured here, and no local stack is running in this folder (no .airlock/local-stack.env). ' +
        'Start the local stack with `npm start` in the repository and run airlock from there; for a deployment, set TEMPORAL_ADDRESS and ' +
        'AIRLOCK_CODEC_KEY_FILE (README, "Configuration (worker, CLI and SDK)").',
    );
  }
  try {
    return await cliModules.airlockClient().AirlockClient.connect(opts);
  } catch (err) {
    if (err instanceof cliModules.errors().AirlockError) throw err;
    const why = profile
      ? `The local stack's profile (${profile}) names it, but it does not answer: has \`npm start\` stopped? Start it again.`
      : 'Check TEMPORAL_ADDRESS (and TEMPORAL_TLS_* or TEMPORAL_API_KEY), or start the local stack with `npm start`.';
    throw new CliError(`cannot reach Temporal at ${target.address} (${(err as Error).message}). ${why}`);
  }
}

let clientPromise: Promise<AirlockClient> | undefined;
/** The command's client: connected on first use, then shared. */
export const airlock = () => (clientPromise ??= connect());
