import { accessSync, constants } from 'node:fs';
import type { LogLevel } from '@goal-tracker/server-kit';
import { ConfigError, list, readEnvironment, serverSettings } from '@goal-tracker/server-kit';
import { Type } from '@sinclair/typebox';
import { DEFAULT_LIMITS, type AbuseLimits } from './accounts/limits.js';
import type { SessionTimeouts } from './caching/session-cache.js';

const SSL_MODES = ['disable', 'require', 'verify-full'] as const;

const OptionalText = Type.Optional(Type.String({ minLength: 1 }));
const DAY = 24 * 60 * 60;
/** An abuse limit: a count, 0 turning it off. */
const Limit = (fallback: number) =>
  Type.Integer({ minimum: 0, maximum: 1_000_000, default: fallback });

/** Every variable the API reads. `.env.example` documents the same list. */
export const EnvSchema = Type.Object({
  ...serverSettings(8080),
  DATABASE_URL: OptionalText,
  DB_SECRET_ARN: OptionalText,
  DB_SSL: Type.Optional(Type.Union(SSL_MODES.map((mode) => Type.Literal(mode)))),
  DB_SSL_CA: OptionalText,
  DB_POOL_MAX: Type.Integer({ minimum: 1, maximum: 1000, default: 10 }),
  DB_CONNECT_TIMEOUT_MS: Type.Integer({ minimum: 1, maximum: 600_000, default: 1000 }),
  DB_STATEMENT_TIMEOUT_MS: Type.Integer({ minimum: 1, maximum: 3_600_000, default: 5000 }),
  AWS_REGION: OptionalText,
  SESSION_ABSOLUTE_TIMEOUT_SECONDS: Type.Integer({ minimum: 60, default: 30 * DAY }),
  SESSION_IDLE_TIMEOUT_SECONDS: Type.Integer({ minimum: 60, default: 7 * DAY }),
  SIGNIN_FAILURES_PER_EMAIL: Limit(DEFAULT_LIMITS.signinFailuresPerEmail),
  SIGNIN_FAILURES_PER_ADDRESS: Limit(DEFAULT_LIMITS.signinFailuresPerAddress),
  SIGNUPS_PER_ADDRESS_PER_HOUR: Limit(DEFAULT_LIMITS.signupsPerAddressPerHour),
  GOAL_WRITES_PER_MINUTE: Limit(DEFAULT_LIMITS.goalWritesPerMinute),
  GOALS_PER_ACCOUNT: Limit(DEFAULT_LIMITS.goalsPerAccount),
  WEBAUTHN_RP_ID: Type.String({ minLength: 1, default: 'localhost' }),
  WEBAUTHN_RP_NAME: Type.String({ minLength: 1, default: 'Goal Tracker' }),
  WEBAUTHN_ORIGINS: Type.String({ minLength: 1, default: 'http://localhost:3000' }),
});

export type SslMode = (typeof SSL_MODES)[number];

/** Where the database comes from, in order of precedence. */
export type DatabaseSource =
  { kind: 'secret'; secretArn: string; region: string | undefined } | { kind: 'url'; url: string };

export interface WebAuthnConfig {
  /** The relying party: the site's domain name (localhost locally). */
  rpId: string;
  rpName: string;
  /** The origins the web tier is served from, where passkey ceremonies happen. */
  origins: string[];
}

export interface ApiConfig {
  port: number;
  host: string;
  /** WORKERS: server processes (node:cluster); 1 runs the API as a single process. */
  workers: number;
  logLevel: LogLevel;
  /**
   * Addresses or CIDR ranges of the proxies in front (the web tier, the load balancers): a
   * client's address is the nearest X-Forwarded-For entry outside them. Empty: the socket's.
   */
  trustedProxies: string[];
  sessions: SessionTimeouts;
  limits: AbuseLimits;
  webAuthn: WebAuthnConfig;
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

/** Reads and validates the environment; throws a ConfigError naming the bad variable. */
export function loadConfig(environment: NodeJS.ProcessEnv = process.env): ApiConfig {
  // Never echo DATABASE_URL back: it may hold a password.
  const env = readEnvironment(EnvSchema, environment, { secret: ['DATABASE_URL'] });

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
    throw new ConfigError(
      'DATABASE_URL or DB_SECRET_ARN: one must be set to name the PostgreSQL server ' +
        '(npm start and npm run dev run an embedded one and set DATABASE_URL themselves)',
    );
  }

  const origins = list(env.WEBAUTHN_ORIGINS);
  for (const origin of origins) {
    if (!/^https?:\/\/[^/]+$/.test(origin)) {
      throw new ConfigError(
        `WEBAUTHN_ORIGINS: each must be an origin such as https://goals.example.com (got "${origin}")`,
      );
    }
  }

  return {
    port: env.PORT,
    host: env.HOST,
    workers: env.WORKERS,
    logLevel: env.LOG_LEVEL,
    trustedProxies: list(env.TRUSTED_PROXIES),
    sessions: {
      absoluteSeconds: env.SESSION_ABSOLUTE_TIMEOUT_SECONDS,
      idleSeconds: env.SESSION_IDLE_TIMEOUT_SECONDS,
    },
    limits: {
      signinFailuresPerEmail: env.SIGNIN_FAILURES_PER_EMAIL,
      signinFailuresPerAddress: env.SIGNIN_FAILURES_PER_ADDRESS,
      signupsPerAddressPerHour: env.SIGNUPS_PER_ADDRESS_PER_HOUR,
      goalWritesPerMinute: env.GOAL_WRITES_PER_MINUTE,
      goalsPerAccount: env.GOALS_PER_ACCOUNT,
    },
    webAuthn: { rpId: env.WEBAUTHN_RP_ID, rpName: env.WEBAUTHN_RP_NAME, origins },
    database: {
      source,
      ssl: env.DB_SSL,
      sslCa: env.DB_SSL_CA,
      // DB_POOL_MAX is the instance's: its workers share it, so more processes per instance
      // do not multiply the connections the database must hold (a db.t3.micro allows ~80).
      poolMax: Math.ceil(env.DB_POOL_MAX / env.WORKERS),
      connectTimeoutMs: env.DB_CONNECT_TIMEOUT_MS,
      statementTimeoutMs: env.DB_STATEMENT_TIMEOUT_MS,
    },
  };
}
