import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

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
  const upstream = new URL(target);
  const calls: AwsCall[] = [];
  const sessions = new Map<string, { actionId: string; mode: string }>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const form = new URLSearchParams(body.toString('utf8'));
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = form.get('Action') ?? target.split('.').pop() ?? 'unknown';
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
      const forward = request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
        (up) => {
          const out: Buffer[] = [];
          up.on('data', (c: Buffer) => out.push(c));
          up.on('end', () => {
            call.ms = performance.now() - t0;
            calls.push(call);
            const text = Buffer.concat(out);
            const key = /<AccessKeyId>([^<]+)<\/AccessKeyId>/.exec(text.toString('utf8'))?.[1];
            if (operation === 'AssumeRole' && key && call.actionId)
              sessions.set(key, { actionId: call.actionId, mode: call.mode ?? '' });
            res.writeHead(up.statusCode ?? 502, up.headers);
            res.end(text);
          });
        },
      );
      forward.on('error', (err) => {
        res.writeHead(502);
        res.end(String(err));
      });
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
