import { actionJson, formatAction } from '../format';
import { parseInput } from '../cli-args';
import { CliError, EXIT, airlock, color, print } from '../cli-context';

/** What `airlock propose` was asked for. */
export interface ProposeOptions {
  input: string;
  agent: string;
  user?: string;
  reason?: string;
  key?: string;
  dryRun?: boolean;
  wait?: boolean;
}

/**
 * `airlock propose <task>`: proposes an action signed with the agent's key and prints its id; with `--wait`, its
 * final state, exiting 3 unless it succeeded (or, a dry run, planned).
 */
export async function proposeCommand(task: string, o: ProposeOptions): Promise<void> {
  const client = await airlock();
  const proposal = await client.propose({
    task,
    input: parseInput(o.input),
    agent: o.agent,
    user: o.user,
    reason: o.reason,
    dryRun: o.dryRun,
    idempotencyKey: o.key,
  });
  if (!o.wait) {
    print(`${proposal.id}${proposal.existing ? ' (existing action for this key)' : ''}`, proposal);
    return;
  }
  const state = await client.result(proposal.id);
  print(formatAction(state, color), actionJson(state));
  if (state.status !== 'succeeded' && state.status !== 'planned') throw new CliError('', EXIT.unsuccessful);
}
