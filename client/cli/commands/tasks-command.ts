import { safeJson, visible } from '../../../common/terminal-text';
import { createDefaultRegistry, defaultCatalog } from '../../../tasks';
import { taskProvisioning } from '../../../tasks/task-provisioning';
import { bold } from '../format';
import { CliError, color, print } from '../cli-context';

/**
 * `airlock tasks`: the registered tasks and their input schemas; with `--provisioning <region:account>`, what they
 * need in that AWS account instead.
 */
export function tasksCommand(o: { provisioning?: string }): void {
  if (o.provisioning) {
    const [region, accountId] = o.provisioning.split(':');
    if (!region || !/^\d{12}$/.test(accountId ?? ''))
      throw new CliError('--provisioning takes <region>:<12-digit account id>, e.g. us-east-1:123456789012.');
    const needs = taskProvisioning(createDefaultRegistry().tasks(), { region, accountId });
    print(safeJson(needs, 2), needs);
    return;
  }
  const tasks = defaultCatalog();
  print(
    tasks
      .map(
        (t) =>
          `${bold(t.name, color)}  [${t.risk}]\n  ${visible(t.description)}\n  input: ${visible(JSON.stringify(t.inputSchema))}`,
      )
      .join('\n\n'),
    tasks,
  );
}
