import { createInterface } from 'node:readline/promises';
import { SHA256_HEX } from '../../../common/identifiers';
import { visible } from '../../../common/terminal-text';
import { loadSigningKey } from '../../../crypto/signing-keys';
import { formatPlan, statusColor } from '../format';
import { CliError, EXIT, airlock, color, isJson, print } from '../cli-context';

/** What `airlock approve` and `airlock reject` were asked for. */
export interface DecideOptions {
  as: string;
  reason?: string;
  plan?: string;
  yes?: boolean;
}

/** Asks a yes/no question on the terminal; only "y" or "yes" is yes. */
async function confirm(question: string, out: NodeJS.WriteStream): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: out });
  try {
    return /^(y|yes)$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

/**
 * `airlock approve|reject <action-id>`: signs a decision. A person signs only a plan they were shown: on a terminal
 * the exact summary, side effects, diff and hash are printed and confirmed first; a script names the hash it reviewed
 * with --plan (and --yes skips the question on a terminal). A refused decision exits 2.
 */
export async function decideCommand(id: string, decision: 'approve' | 'reject', o: DecideOptions): Promise<void> {
  if (o.plan !== undefined && !SHA256_HEX.test(o.plan))
    throw new CliError(`--plan must be the full 64-character plan hash that \`airlock show ${id}\` prints.`);
  if (o.yes && !o.plan)
    throw new CliError('--yes signs without asking, so it needs --plan <hash>: the plan you reviewed.');
  const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY);
  if (!interactive && !o.plan) {
    throw new CliError(
      `Not on a terminal, so nobody can be shown the plan: pass --plan <hash> with the hash you reviewed (\`airlock show ${id}\`).`,
    );
  }
  const client = await airlock();
  const key = loadSigningKey(o.as);
  if (interactive && !o.yes) {
    const state = await client.get(id);
    if (!state.plan) throw new CliError(`Action ${id} has no plan yet (${state.status}); try again in a moment.`);
    if (o.plan && o.plan !== state.plan.hash) {
      throw new CliError(
        `--plan ${o.plan.slice(0, 12)}… is not the plan awaiting decisions (${state.plan.hash.slice(0, 12)}…). Review it with \`airlock show ${id}\`.`,
      );
    }
    const out = isJson() ? process.stderr : process.stdout;
    out.write(
      `You are about to ${decision} as ${visible(o.as)} this plan of ${visible(state.task)} (${visible(state.id)}), requested by ${visible(state.requester)}:\n`,
    );
    out.write(`${formatPlan(state.plan, color).join('\n')}\n`);
    if (!(await confirm(`Sign "${decision}" of plan ${state.plan.hash}? [y/N] `, out)))
      throw new CliError('Nothing was signed.', EXIT.refused);
    o.plan = state.plan.hash;
  }
  const attempt = await client.decideAs(id, { approver: o.as, key, decision, reason: o.reason, planHash: o.plan });
  if (!attempt.accepted) {
    print(`${decision} refused (${visible(attempt.refusal?.code)}): ${visible(attempt.refusal?.message)}`, attempt);
    throw new CliError('', EXIT.refused);
  }
  const after = await client.get(id).catch(() => undefined);
  print(
    `${decision === 'approve' ? 'approved' : 'rejected'} ${id} (plan ${attempt.planHash.slice(0, 12)}) as ${visible(attempt.approver)}${after ? `; status ${statusColor(after.status, color)}` : ''}`,
    { ...attempt, status: after?.status },
  );
}
