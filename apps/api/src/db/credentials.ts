import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { ConnectionSettings, CredentialsSource } from './database.js';

/** DATABASE_URL: fixed for the life of the process. */
export function urlCredentials(url: string): CredentialsSource {
  return { load: () => Promise.resolve({ connectionString: url }) };
}

/** The JSON an RDS-managed secret holds (extra keys such as `engine` are ignored). */
const DatabaseSecret = Type.Object({
  username: Type.String({ minLength: 1 }),
  password: Type.String({ minLength: 1 }),
  host: Type.String({ minLength: 1 }),
  port: Type.Union([
    Type.Integer({ minimum: 1, maximum: 65_535 }),
    Type.String({ pattern: '^[0-9]+$' }),
  ]),
  dbname: Type.Optional(Type.String({ minLength: 1 })),
});

export class SecretFormatError extends Error {
  override name = 'SecretFormatError';
}

/** Parses the secret's JSON; the message names the field at fault, never its value. */
export function parseDatabaseSecret(secretString: string | undefined): ConnectionSettings {
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretString ?? '');
  } catch {
    throw new SecretFormatError('the database secret is not JSON');
  }
  const [first] = Value.Errors(DatabaseSecret, parsed);
  if (first) {
    throw new SecretFormatError(
      `the database secret's ${first.path || 'value'} is missing or invalid`,
    );
  }
  const secret = parsed as typeof DatabaseSecret.static;
  return {
    host: secret.host,
    port: Number(secret.port),
    user: secret.username,
    password: secret.password,
    database: secret.dbname ?? 'postgres',
  };
}

/**
 * Credentials from AWS Secrets Manager (DB_SECRET_ARN). Read at start and again whenever the
 * server refuses them, so a rotated password needs no restart. The SDK honours the standard
 * AWS_REGION and AWS_ENDPOINT_URL_SECRETS_MANAGER variables; it is loaded only when used, so
 * the other modes start without it.
 */
export function secretsManagerCredentials(
  secretArn: string,
  region: string | undefined,
): CredentialsSource {
  let client: SecretsManagerClient | undefined;
  const read = async (): Promise<ConnectionSettings> => {
    const sdk = await import('@aws-sdk/client-secrets-manager');
    client ??= new sdk.SecretsManagerClient({
      ...(region === undefined ? {} : { region }),
      maxAttempts: 3,
      requestHandler: { connectionTimeout: 1000, requestTimeout: 3000 },
    });
    const output = await client.send(new sdk.GetSecretValueCommand({ SecretId: secretArn }));
    return parseDatabaseSecret(output.SecretString);
  };
  return { load: read, reload: read };
}
