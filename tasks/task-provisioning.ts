import { canonicalJson } from '../common/canonical-json';
import { TaskDefinitionError } from '../common/errors';
import type { AwsAccount, PolicyStatement, TaskDefinition } from './define-task';

/** What the local stack creates in moto so that every registered task can run: read from the tasks themselves. */
export interface Provisioning {
  /**
   * Each role with its own policy, and what the worker's AWS identity (and nothing else) must be trusted to do on it:
   * Airlock assumes it per action, names the requester as source identity and tags the session.
   */
  roles: {
    name: string;
    description: string;
    policy: { Version: '2012-10-17'; Statement: PolicyStatement[] };
    trustedActions: string[];
  }[];
  tables: { name: string; key: string }[];
  emailIdentities: string[];
  /** Every secret a task's step reads, with the shape its generated value must have. */
  secrets: { name: string; prefix: string; description?: string }[];
}

/** What the worker does on every task role. */
const TRUSTED_ACTIONS = ['sts:AssumeRole', 'sts:SetSourceIdentity', 'sts:TagSession'];

/**
 * The AWS resources the tasks need: each task's role with its grants, the secrets its steps name, and the tables
 * and identities its target needs. Two tasks may share a role only with the same grants.
 */
export function taskProvisioning(tasks: readonly TaskDefinition[], aws: AwsAccount): Provisioning {
  const roles = new Map<string, Provisioning['roles'][number] & { task: string }>();
  const tables = new Map<string, { name: string; key: string }>();
  const identities = new Set<string>();
  const secrets = new Map<string, Provisioning['secrets'][number]>();
  for (const task of tasks) {
    const { role } = task.credentials;
    const policy = { Version: '2012-10-17' as const, Statement: role.grants(aws) };
    const other = roles.get(role.name);
    if (other && canonicalJson(other.policy) !== canonicalJson(policy)) {
      throw new TaskDefinitionError(
        `Tasks ${other.task} and ${task.name} both use role ${role.name} with different grants; give one its own role, or the same grants.`,
      );
    }
    if (!other)
      roles.set(role.name, {
        name: role.name,
        description: role.description,
        policy,
        trustedActions: TRUSTED_ACTIONS,
        task: task.name,
      });
    for (const table of task.provisioning?.tables ?? []) tables.set(table.name, table);
    for (const identity of task.provisioning?.emailIdentities ?? []) identities.add(identity);
    for (const step of [task.credentials.plan, task.credentials.execute]) {
      for (const name of Object.values(step.secrets ?? {})) {
        const format = task.provisioning?.secretFormats?.[name];
        const known = secrets.get(name);
        secrets.set(name, {
          name,
          prefix: format?.prefix ?? known?.prefix ?? '',
          description: format?.description ?? known?.description,
        });
      }
    }
  }
  return {
    roles: [...roles.values()].map(({ task: _task, ...role }) => role),
    tables: [...tables.values()],
    emailIdentities: [...identities],
    secrets: [...secrets.values()],
  };
}
