import { startInterceptingProxy } from '../stack/intercepting-proxy';

/** One AWS call the worker made, as the proxy saw it. */
export interface AwsCall {
  /** `AssumeRole`, `GetSecretValue`, … */
  operation: string;
  /** The action and step it served, where the call says so (STS session tags; the session's access key after). */
  actionId?: string;
  mode?: string;
  ms: number;
}

/**
 * An HTTP proxy in front of moto that times every AWS call and attributes it to an action's step: AssumeRole carries
 * the session tags `airlock-action` and `airlock-mode`; the session's access key then signs the step's other calls.
 * The benchmark's own instrument, outside the code it measures.
 */
export async function startTimingProxy(
  target: string,
): Promise<{ url: string; calls: AwsCall[]; close(): Promise<void> }> {
  const calls: AwsCall[] = [];
  const sessions = new Map<string, { actionId: string; mode: string }>();
  const proxy = await startInterceptingProxy(target, (req) => {
    const form = new URLSearchParams(req.body.toString('utf8'));
    const operation =
      form.get('Action') ??
      String(req.headers['x-amz-target'] ?? '')
        .split('.')
        .pop() ??
      'unknown';
    const tags = new Map<string, string>();
    for (let i = 1; form.has(`Tags.member.${i}.Key`); i++)
      tags.set(form.get(`Tags.member.${i}.Key`) as string, form.get(`Tags.member.${i}.Value`) as string);
    const accessKey = /Credential=([A-Z0-9]+)\//.exec(String(req.headers.authorization ?? ''))?.[1];
    const session = accessKey ? sessions.get(accessKey) : undefined;
    const call: AwsCall = {
      operation,
      actionId: tags.get('airlock-action') ?? session?.actionId,
      mode: tags.get('airlock-mode') ?? session?.mode,
      ms: 0,
    };
    const t0 = performance.now();
    return {
      forwarded: (_status, body) => {
        call.ms = performance.now() - t0;
        calls.push(call);
        const key = /<AccessKeyId>([^<]+)<\/AccessKeyId>/.exec(body.toString('utf8'))?.[1];
        if (operation === 'AssumeRole' && key && call.actionId)
          sessions.set(key, { actionId: call.actionId, mode: call.mode ?? '' });
      },
    };
  });
  return { url: proxy.url, calls, close: proxy.close };
}
