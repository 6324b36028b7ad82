import type { SSMClient } from '@aws-sdk/client-ssm';
import { z } from 'zod';
import { TargetError } from '../../common/errors';
import { defineTask, type TaskContext } from '../define-task';
import { awsClientConfig, callTarget, named } from '../kit';

/** Parameters Airlock may set live under this path (the role allows nothing else). */
export const PARAMETER_PREFIX = '/app/';

/** Input of `ops.set_parameter`. */
export const SetParameterSchema = z.strictObject({
  name: z
    .string()
    .regex(/^\/app\/[A-Za-z0-9_.\-/]{1,200}$/, 'a parameter name under /app/, e.g. /app/flags/new-checkout')
    .refine(
      (n) =>
        n
          .split('/')
          .slice(1)
          .every((segment) => segment !== '' && segment !== '.' && segment !== '..'),
      'no empty, "." or ".." path segments',
    ),
  value: z.string().min(1).max(4096),
});

/** Validated input of `ops.set_parameter`. */
export type SetParameterInput = z.output<typeof SetParameterSchema>;

const arn = (input: SetParameterInput, aws: { region: string; accountId: string }) =>
  `arn:aws:ssm:${aws.region}:${aws.accountId}:parameter${input.name}`;
/** Written with the value, atomically: a retry finds it and writes nothing. */
const marker = (actionId: string) => `Set by Airlock action ${actionId}`;

/** The SDK, loaded when a step runs: agents load task files for their names and schemas, never their SDKs. */
const sdk = () => import('@aws-sdk/client-ssm');

const ssmCall = <T>(what: string, fn: () => Promise<T>): Promise<T> =>
  callTarget('SSM', what, fn, { passThrough: named('ParameterNotFound') });

async function current(
  ssm: SSMClient,
  name: string,
): Promise<{ value: string; version: number; type: string } | undefined> {
  const { GetParameterCommand } = await sdk();
  try {
    const { Parameter } = await ssmCall('GetParameter', () => ssm.send(new GetParameterCommand({ Name: name })));
    return {
      value: Parameter?.Value ?? '',
      version: Number(Parameter?.Version ?? 0),
      type: Parameter?.Type ?? 'String',
    };
  } catch (err) {
    if (named('ParameterNotFound')(err)) return undefined;
    throw err;
  }
}

const withSsm = async <T>(ctx: TaskContext, fn: (ssm: SSMClient) => Promise<T>): Promise<T> => {
  const ssm = new (await sdk()).SSMClient(awsClientConfig(ctx));
  try {
    return await fn(ssm);
  } finally {
    ssm.destroy();
  }
};

/** Sets a feature flag or configuration value in AWS Systems Manager Parameter Store. */
export const setParameter = defineTask({
  name: 'ops.set_parameter',
  description: `Set a feature flag or configuration value in AWS Systems Manager Parameter Store (String parameters under ${PARAMETER_PREFIX}).`,
  risk: 'high',
  toolHints: { destructive: true, idempotent: true },
  inputSchema: SetParameterSchema,
  examples: [{ name: '/app/flags/new-checkout', value: 'on' }],
  target: (input) => `aws-ssm:${input.name}`,
  // A parameter's current value may be anything (a URL with a token in it): approvers see it, agents do not.
  hiddenFromAgents: ['value'],
  // A configuration value may be a URL with a token in it: it is never sent to a chat or a mailbox.
  sensitive: ['value'],
  credentials: {
    role: {
      name: 'airlock-ops',
      description: `Role Airlock assumes to set feature flags and configuration values under ${PARAMETER_PREFIX} in Parameter Store.`,
      grants: (aws) => [
        {
          Effect: 'Allow',
          Action: ['ssm:GetParameter', 'ssm:GetParameterHistory', 'ssm:PutParameter'],
          Resource: `arn:aws:ssm:${aws.region}:${aws.accountId}:parameter${PARAMETER_PREFIX}*`,
        },
      ],
    },
    plan: {
      statements: (input, aws) => [
        { Sid: 'ReadTheParameter', Effect: 'Allow', Action: 'ssm:GetParameter', Resource: arn(input, aws) },
      ],
    },
    execute: {
      statements: (input, aws) => [
        {
          Sid: 'SetTheParameter',
          Effect: 'Allow',
          Action: ['ssm:GetParameter', 'ssm:GetParameterHistory', 'ssm:PutParameter'],
          Resource: arn(input, aws),
        },
      ],
    },
  },
  async plan(input, ctx) {
    const before = await withSsm(ctx, (ssm) => current(ssm, input.name));
    if (before && before.type !== 'String') {
      throw new TargetError(
        `${input.name} is a ${before.type} parameter; ops.set_parameter sets String parameters only.`,
        400,
        false,
      );
    }
    return {
      // The current value stays out of the summary: agents read it (see hiddenFromAgents).
      summary: before
        ? `Set ${input.name} to "${input.value}" (version ${before.version} → ${before.version + 1})`
        : `Create ${input.name} = "${input.value}"`,
      sideEffects: [before ? `writes version ${before.version + 1} of ${input.name}` : `creates ${input.name}`],
      before: before ? { name: input.name, value: before.value } : { name: input.name },
      after: { name: input.name, value: input.value },
    };
  },
  async execute(input, ctx) {
    const { GetParameterHistoryCommand, PutParameterCommand } = await sdk();
    return withSsm(ctx, async (ssm) => {
      // The marker travels with the value in one PutParameter: a retry of this action finds it and writes nothing.
      const history = await ssmCall('GetParameterHistory', () =>
        ssm.send(new GetParameterHistoryCommand({ Name: input.name })),
      ).catch((err: unknown) => {
        if (named('ParameterNotFound')(err)) return { Parameters: [] };
        throw err;
      });
      const done = history.Parameters?.find((p) => p.Description === marker(ctx.actionId));
      if (done) return { name: input.name, version: Number(done.Version), replayed: true };
      const put = await ssmCall('PutParameter', () =>
        ssm.send(
          new PutParameterCommand({
            Name: input.name,
            Value: input.value,
            Type: 'String',
            Overwrite: true,
            Description: marker(ctx.actionId),
          }),
        ),
      );
      return { name: input.name, version: Number(put.Version), replayed: false };
    });
  },
  // The parameter's value again (GetParameter, the plan's own read): a value someone else wrote meanwhile shows.
  readBack: {
    read: (input, ctx) =>
      withSsm(ctx, async (ssm) => {
        const now = await current(ssm, input.name);
        return now ? { name: input.name, value: now.value } : { name: input.name };
      }),
  },
});
