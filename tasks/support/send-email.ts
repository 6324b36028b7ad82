import { z } from 'zod';
import { TargetError } from '../../common/errors';
import { defineTask, type PolicyStatement, type TaskContext } from '../define-task';
import { awsClientConfig, callTarget, named } from '../kit';

/** The verified SES identity support mail is sent from (deployment setting). */
export const SUPPORT_SENDER = process.env.AIRLOCK_SUPPORT_SENDER ?? 'support@example.com';
/** DynamoDB table of sent-mail markers: SES has no idempotency key, so Airlock keeps one. */
export const SENT_MAIL_TABLE = process.env.AIRLOCK_SENT_MAIL_TABLE ?? 'airlock-sent-mail';

/** Input of `support.send_email`. */
export const SendEmailSchema = z.strictObject({
  to: z.email(),
  subject: z.string().trim().min(1).max(200),
  body: z.string().trim().min(1).max(10_000),
});

/** Validated input of `support.send_email`. */
export type SendEmailInput = z.output<typeof SendEmailSchema>;

const identityArn = (aws: { region: string; accountId: string }) =>
  `arn:aws:ses:${aws.region}:${aws.accountId}:identity/${SUPPORT_SENDER}`;
const tableArn = (aws: { region: string; accountId: string }) =>
  `arn:aws:dynamodb:${aws.region}:${aws.accountId}:table/${SENT_MAIL_TABLE}`;

const conditionFailed = named('ConditionalCheckFailedException');

/**
 * Whether a failed send certainly sent nothing: SES refused it (a 4xx: invalid, throttled, not allowed). A 5xx (from
 * SES or anything between) or no answer at all does not prove the mail stayed unsent.
 */
function refusedBySes(err: unknown): boolean {
  return err instanceof TargetError && err.status !== undefined && err.status >= 400 && err.status < 500;
}
const aws = <T>(what: string, fn: () => Promise<T>): Promise<T> =>
  callTarget('AWS', what, fn, { passThrough: conditionFailed });

/**
 * Sends one email to a customer through AWS SES. Irreversible, hence `high`: the plan is the exact message.
 *
 * Exactly once: before sending, a marker keyed by the action id is put into DynamoDB with a condition that none
 * exists; a retry finds the marker and sends nothing. A crash between the marker and the send leaves the mail unsent
 * (at most once): for mail, a missing message is the lesser harm.
 */
export const sendEmail = defineTask({
  name: 'support.send_email',
  description: `Send an email to a customer from ${SUPPORT_SENDER} through AWS SES. It cannot be unsent.`,
  risk: 'high',
  toolHints: { destructive: true, idempotent: false },
  inputSchema: SendEmailSchema,
  examples: [
    { to: 'ada@example.com', subject: 'Your renewal quote', body: 'Dear Ada,\n\nyour quote is attached.\n\nSupport' },
  ],
  target: (input) => `aws-ses:${SUPPORT_SENDER}->${input.to}`,
  // Where the email goes, for rules such as "mail within example.com needs no approval" (lowercase, as DNS compares).
  facts: {
    types: { recipientDomain: 'String' },
    descriptions: { recipientDomain: 'the domain the email goes to, lowercase (`example.com`)' },
    of: (input) => ({ recipientDomain: input.to.slice(input.to.lastIndexOf('@') + 1).toLowerCase() }),
  },
  credentials: {
    role: {
      name: 'airlock-support',
      description: 'Role Airlock assumes to email customers from the support identity, exactly once per action.',
      grants: (a) => [
        { Effect: 'Allow', Action: 'ses:SendEmail', Resource: identityArn(a) },
        {
          Effect: 'Allow',
          Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
          Resource: tableArn(a),
        },
      ],
    },
    plan: {},
    execute: {
      statements: (input, a): PolicyStatement[] => [
        // To this input's recipient only, from the support identity only.
        {
          Sid: 'SendFromTheSupportIdentity',
          Effect: 'Allow',
          Action: 'ses:SendEmail',
          Resource: identityArn(a),
          // ForAllValues holds for a request without the key too, hence Null: the key must be there.
          Condition: {
            'ForAllValues:StringEquals': { 'ses:Recipients': [input.to] },
            Null: { 'ses:Recipients': 'false' },
          },
        },
        // This action's own marker only: the session cannot touch another action's record.
        {
          Sid: 'MarkSentOnce',
          Effect: 'Allow',
          Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
          Resource: tableArn(a),
          Condition: {
            'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [a.actionId] },
            Null: { 'dynamodb:LeadingKeys': 'false' },
          },
        },
      ],
    },
  },
  provisioning: { tables: [{ name: SENT_MAIL_TABLE, key: 'actionId' }], emailIdentities: [SUPPORT_SENDER] },
  async plan(input) {
    const message = { from: SUPPORT_SENDER, to: input.to, subject: input.subject, body: input.body };
    return {
      summary: `Email ${input.to}: "${input.subject}"`,
      sideEffects: [`sends one email from ${SUPPORT_SENDER} to ${input.to} (irreversible)`],
      before: null,
      after: message,
      diff: [{ path: 'email', op: 'add', after: message }],
    };
  },
  async execute(input, ctx: TaskContext) {
    // The SDKs load when a step runs: agents load task files for their names and schemas, never their SDKs.
    const [{ DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand }, { SESClient, SendEmailCommand }] =
      await Promise.all([import('@aws-sdk/client-dynamodb'), import('@aws-sdk/client-ses')]);
    const ddb = new DynamoDBClient(awsClientConfig(ctx));
    const ses = new SESClient(awsClientConfig(ctx));
    try {
      const key = { actionId: { S: ctx.actionId } };
      try {
        await aws('Marking the mail as sending', () =>
          ddb.send(
            new PutItemCommand({
              TableName: SENT_MAIL_TABLE,
              Item: { ...key, state: { S: 'sending' } },
              // A marker left by an attempt whose send failed does not block the retry.
              ConditionExpression: 'attribute_not_exists(actionId) OR #s = :failed',
              ExpressionAttributeNames: { '#s': 'state' },
              ExpressionAttributeValues: { ':failed': { S: 'failed' } },
            }),
          ),
        );
      } catch (err) {
        if (!conditionFailed(err)) throw err;
        const { Item } = await aws('Reading the sent-mail marker', () =>
          ddb.send(new GetItemCommand({ TableName: SENT_MAIL_TABLE, Key: key, ConsistentRead: true })),
        );
        if (Item?.state?.S === 'sending') {
          // Another attempt marked it and then vanished mid-send: it may or may not have gone out. Never send twice.
          throw new TargetError(
            `Email for action ${ctx.actionId} may have been sent by an interrupted attempt; check the SES logs before proposing again.`,
            409,
            false,
          );
        }
        return { messageId: Item?.messageId?.S, to: input.to, replayed: true };
      }
      let sent;
      try {
        sent = await aws('SES SendEmail', () =>
          ses.send(
            new SendEmailCommand({
              Source: SUPPORT_SENDER,
              Destination: { ToAddresses: [input.to] },
              Message: { Subject: { Data: input.subject }, Body: { Text: { Data: input.body } } },
            }),
          ),
        );
      } catch (err) {
        // No answer (a timeout, a reset) or a 5xx: SES may have sent it. The marker stays "sending", so that no retry
        // sends it again (at most once).
        if (!refusedBySes(err)) throw err;
        // SES refused it: nothing was sent, so a retry may send.
        await aws('Marking the failed send', () =>
          ddb.send(
            new UpdateItemCommand({
              TableName: SENT_MAIL_TABLE,
              Key: key,
              UpdateExpression: 'SET #s = :failed',
              ExpressionAttributeNames: { '#s': 'state' },
              ExpressionAttributeValues: { ':failed': { S: 'failed' } },
            }),
          ),
        );
        throw err;
      }
      await aws('Recording the sent mail', () =>
        ddb.send(
          new UpdateItemCommand({
            TableName: SENT_MAIL_TABLE,
            Key: key,
            UpdateExpression: 'SET #s = :sent, messageId = :id',
            ExpressionAttributeNames: { '#s': 'state' },
            ExpressionAttributeValues: { ':sent': { S: 'sent' }, ':id': { S: sent.MessageId ?? '' } },
          }),
        ),
      );
      return { messageId: sent.MessageId, to: input.to, replayed: false };
    } finally {
      ddb.destroy();
      ses.destroy();
    }
  },
  readBack: {
    notReadable:
      'SES keeps no copy of a sent message that could be read back (the sent-mail marker says only that it was sent); check delivery in the SES logs',
  },
});
