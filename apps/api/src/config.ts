import { accessSync, constants } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { REPOSITORY_ROOT } from './paths.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const SSL_MODES = ['disable', 'require', 'verify-full'] as const;

const OptionalText = Type.Optional(Type.String({ minLength: 1 }));

/** Every variable the API reads. `.env.example` documents the same list. */
export const EnvSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65_535, default: 8080 }),
  HOST: Type.String({ minLength: 1, default: '0.0.0.0' }),
  LOG_LEVEL: Type.Union(
    LOG_LEVELS.map((level) => Type.Literal(level)),
    { default: 'info' },
  ),
  DATABASE_URL: OptionalText,
  DATA_DIR: OptionalText,
  DB_SECRET_ARN: OptionalText,
  DB_SSL: Type.Optional(Type.Union(SSL_MODES.map((mode) => Type.Literal(mode)))),
  DB_SSL_CA: OptionalText,
  DB_POOL_MAX: Type.Integer({ minimum: 1, maximum: 1000, default: 10 }),
  DB_CONNECT_TIMEOUT_MS: Type.Integer({ minimum: 1, maximum: 600_000, default: 1000 }),
  DB_STATEMENT_TIMEOUT_MS: Type.Integer({ minimum: 1, maximum: 3_600_000, default: 5000 }),
  AWS_REGION: OptionalText,
});
type Env = Static<typeof EnvSchema>;

export type LogLevel = (typeof LOG_LEVELS)[number];
export type SslMode = (typeof SSL_MODES)[number];

/** Where the database comes from, in order of precedence. */
export type DatabaseSource =
  | { kind: 'secret'; secretArn: string; region: string | undefined }
  | { kind: 'url'; url: string }
  | { kind: 'embedded'; dataDir: string };

export interface ApiConfig {
  port: number;
  host: string;
  logLevel: LogLevel;
  database: {
    source: DatabaseSource;
    /** undefined: whatever DATABASE_URL says (sslmode), else no TLS. */
    ssl: SslMode | undefined;
    /** PEM CA bundle path for DB_SSL=verify-full; Node's own trust store when absent. */
    sslCa: string | undefined;
    poolMax: number;
    connectTimeoutMs: number;
    statementTimeoutMs: number;
  };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function describe(variable: string, schema: unknown, message: string, value: unknown): string {
  const choices = (schema as { anyOf?: { const?: unknown }[] }).anyOf?.map((option) =>
    String(option.const),
  );
  const expected = choices ? `must be one of ${choices.join(', ')}` : message;
  // Never echo DATABASE_URL back: it may hold a password.
  const shown = variable === 'DATABASE_URL' ? '' : ` (got "${String(value)}")`;
  return `${variable}: ${expected}${shown}`;
}

/** Reads and validates the environment; throws a ConfigError naming the bad variable. */
export function loadConfig(environment: NodeJS.ProcessEnv = process.env): ApiConfig {
  const known = Object.keys(EnvSchema.properties);
  // Empty strings count as unset, as in most .env tooling.
  const raw = Object.fromEntries(
    known.flatMap((key) => {
      const value = environment[key];
      return value === undefined || value === '' ? [] : [[key, value]];
    }),
  );
  const converted = Value.Convert(EnvSchema, Value.Default(EnvSchema, raw));
  const [first] = Value.Errors(EnvSchema, converted);
  if (first) {
    const variable = first.path.slice(1);
    throw new ConfigError(describe(variable, first.schema, first.message, raw[variable]));
  }
  const env = converted as Env;

  if (env.DB_SSL_CA !== undefined) {
    try {
      accessSync(env.DB_SSL_CA, constants.R_OK);
    } catch {
      throw new ConfigError(`DB_SSL_CA: cannot read the CA bundle "${env.DB_SSL_CA}"`);
    }
  }
  if (env.DATABASE_URL !== undefined && !/^postgres(ql)?:\/\//.test(env.DATABASE_URL)) {
    throw new ConfigError('DATABASE_URL: must be a postgres:// or postgresql:// URL');
  }

  let source: DatabaseSource;
  if (env.DB_SECRET_ARN !== undefined) {
    source = { kind: 'secret', secretArn: env.DB_SECRET_ARN, region: env.AWS_REGION };
  } else if (env.DATABASE_URL !== undefined) {
    source = { kind: 'url', url: env.DATABASE_URL };
  } else {
    const dataDir = env.DATA_DIR ?? join(REPOSITORY_ROOT, '.data');
    source = { kind: 'embedded', dataDir: isAbsolute(dataDir) ? dataDir : resolve(dataDir) };
  }

  return {
    port: env.PORT,
    host: env.HOST,
    logLevel: env.LOG_LEVEL,
    database: {
      source,
      ssl: env.DB_SSL,
      sslCa: env.DB_SSL_CA,
      poolMax: env.DB_POOL_MAX,
      connectTimeoutMs: env.DB_CONNECT_TIMEOUT_MS,
      statementTimeoutMs: env.DB_STATEMENT_TIMEOUT_MS,
    },
  };
}
