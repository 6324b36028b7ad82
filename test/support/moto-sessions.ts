/** A session moto recorded for an AssumeRole call (moto's own view, through its moto-api). */
export interface MotoSession {
  session_name: string;
  role_arn: string;
  policy: string | null;
  access_key_id: string;
  secret_access_key: string;
  session_token: string;
}

/** Every session moto has minted whose name belongs to this action (`<id>` and `<id>.plan`). */
export async function sessionsOf(motoEndpoint: string, actionId: string): Promise<MotoSession[]> {
  const data = (await (await fetch(`${motoEndpoint}/moto-api/data.json`)).json()) as {
    sts?: { AssumedRole?: MotoSession[] };
  };
  return (data.sts?.AssumedRole ?? []).filter(
    (s) => s.session_name === actionId || s.session_name === `${actionId}.plan`,
  );
}
