import { existsSync } from 'node:fs';
import { CliError } from '../cli-context';

/** The approvers and agents files: given, from the environment, or the local stack's. */
export function identityFiles(o: { approvers?: string; agents?: string }): {
  approversFile: string;
  agentsFile: string;
} {
  const file = (given: string | undefined, variable: string, local: string) => {
    const path = given ?? process.env[variable] ?? (existsSync(local) ? local : undefined);
    if (!path)
      throw new CliError(
        `Which ${local.split('/').at(-1)}? Pass --${local.includes('approvers') ? 'approvers' : 'agents'} <file>, or set ${variable} (the local stack keeps its own in ${local}).`,
      );
    return path;
  };
  return {
    approversFile: file(o.approvers, 'AIRLOCK_APPROVERS_FILE', '.airlock/approvers.json'),
    agentsFile: file(o.agents, 'AIRLOCK_AGENTS_FILE', '.airlock/agents.json'),
  };
}
