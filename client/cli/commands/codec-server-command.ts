import { startCodecServer } from '../../../crypto/codec-server';
import { requireCodecKeys } from '../../../crypto/data-converter';
import { AesGcmCodec } from '../../../crypto/encryption-codec';
import { envList } from '../../../config/env-list';
import { CliError } from '../cli-context';

/**
 * `airlock codec-server`: the Temporal codec protocol for holders of the token or a verified OIDC access token, until
 * SIGTERM or SIGINT. Refuses to start with neither: it never decodes for anyone who asks.
 */
export async function codecServerCommand(o: { host: string; port: string }): Promise<void> {
  const env = process.env;
  const jwksUrl = env.AIRLOCK_CODEC_OIDC_JWKS_URL;
  if (jwksUrl && (!env.AIRLOCK_CODEC_OIDC_ISSUER || !env.AIRLOCK_CODEC_OIDC_AUDIENCE)) {
    throw new CliError(
      'AIRLOCK_CODEC_OIDC_JWKS_URL needs AIRLOCK_CODEC_OIDC_ISSUER and AIRLOCK_CODEC_OIDC_AUDIENCE: a token is verified against all three.',
    );
  }
  const oidc = jwksUrl
    ? {
        jwksUrl,
        issuer: env.AIRLOCK_CODEC_OIDC_ISSUER as string,
        audience: env.AIRLOCK_CODEC_OIDC_AUDIENCE as string,
      }
    : undefined;
  const token = env.AIRLOCK_CODEC_SERVER_TOKEN || undefined;
  if (!token && !oidc) {
    throw new CliError(
      'Set AIRLOCK_CODEC_SERVER_TOKEN, or AIRLOCK_CODEC_OIDC_JWKS_URL with its issuer and audience: the codec server never decodes for anyone who asks.',
    );
  }
  const server = await startCodecServer({
    codec: new AesGcmCodec(requireCodecKeys(), 'mark'),
    auth: { token, oidc },
    allowedOrigins: envList(env.AIRLOCK_CODEC_ALLOWED_ORIGINS),
    host: o.host,
    port: Number(o.port),
  });
  process.stdout.write(`airlock codec server listening on ${server.url}\n`);
  await new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()).once('SIGINT', () => resolve()));
  await server.close();
}
