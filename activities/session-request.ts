import { z } from 'zod';
import { DEFAULT_SESSION_SECONDS, MAX_SESSION_SECONDS } from '../common/session-limits';

/** STS's character rule for RoleSessionName and SourceIdentity. */
const STS_NAME = /^[\w+=,.@-]+$/;
/** STS's character rule for session tag keys and values. */
const TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

/** STS's limit on the plaintext inline session policy. */
export const MAX_SESSION_POLICY_CHARS = 2048;

/**
 * An AssumeRole request as Airlock may send it: STS's own limits, plus Airlock's (15 min to 1 h, tags naming the
 * task and the action). Parsing it before the call turns a policy that would be rejected, or an identity that would
 * be mangled, into a clear error instead of an STS fault.
 */
export const AssumeRoleRequestSchema = z.strictObject({
  RoleArn: z.string().regex(/^arn:aws[\w-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,128}$/, 'a role ARN'),
  RoleSessionName: z.string().min(2).max(64).regex(STS_NAME, 'letters, digits and +=,.@_- only'),
  DurationSeconds: z
    .number()
    .int()
    .min(DEFAULT_SESSION_SECONDS, 'STS sessions last at least 900 s')
    .max(MAX_SESSION_SECONDS, 'Airlock never asks for more than 1 h'),
  Policy: z
    .string()
    .max(
      MAX_SESSION_POLICY_CHARS,
      `STS takes at most ${MAX_SESSION_POLICY_CHARS} characters of session policy; split the task or shorten its resources`,
    ),
  SourceIdentity: z
    .string()
    .min(2)
    .max(64)
    .regex(STS_NAME, 'letters, digits and +=,.@_- only')
    .refine((s) => !s.toLowerCase().startsWith('aws:'), 'must not start with aws:'),
  Tags: z
    .array(
      z.strictObject({ Key: z.string().min(1).max(128).regex(TAG_TEXT), Value: z.string().max(256).regex(TAG_TEXT) }),
    )
    .max(50)
    .refine(
      (tags) => ['airlock-task', 'airlock-action'].every((k) => tags.some((t) => t.Key === k)),
      'tags must name the task and the action',
    ),
});

/** A checked AssumeRole request. */
export type AssumeRoleRequest = z.output<typeof AssumeRoleRequestSchema>;
