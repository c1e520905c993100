import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { errorCode } from '@goal-tracker/server-kit';
import pg from 'pg';
import type { BaseLogger } from 'pino';
import type { SslMode } from '../config.js';
import { DatabaseUnavailableError } from '../errors.js';

/** Where to connect: a URL, or discrete fields (as a Secrets Manager secret gives them). */
export type ConnectionSettings =
  | { connectionString: string }
  | { host: string; port: number; user: string; password: string; database: string };

/** Gives connection settings, and fresh ones when the server refuses the current ones. */
export interface CredentialsSource {
  load(): Promise<ConnectionSettings>;
  /** Present when the settings can change while running (a rotated secret). */
  reload?(): Promise<ConnectionSettings>;
}

/** A named statement: PostgreSQL plans it once per connection and reuses the plan. */
export interface Statement {
  readonly name: string;
  readonly text: string;
}

export interface QueryResult<Row> {
  rows: Row[];
  rowCount: number;
}

export interface QueryOptions {
  /**
   * Safe to send again when the connection was lost under it: reads and writes whose repeat
   * changes nothing. Never set for a plain INSERT, which could then land twice.
   */
  idempotent?: boolean;
}

export type Query = <Row>(
  statement: Statement,
  values: readonly unknown[],
) => Promise<QueryResult<Row>>;

/** A connection of its own, outside the pool and free of the statement timeout. */
export type SessionQuery = <Row>(
  text: string,
  values?: readonly unknown[],
) => Promise<QueryResult<Row>>;

export interface DatabaseOptions {
  credentials: CredentialsSource;
  ssl?: SslMode | undefined;
  sslCa?: string | undefined;
  poolMax: number;
  connectTimeoutMs: number;
  statementTimeoutMs: number;
  log: BaseLogger;
}

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
}

const APPLICATION_NAME = 'goal-tracker-api';
const IDLE_TIMEOUT_MS = 30_000;
/** Credentials are re-read at most this often, so a wrong password cannot flood AWS. */
const MIN_RELOAD_INTERVAL_MS = 1000;
/** SQLSTATEs meaning "the database cannot serve now", not "this request is wrong". */
const UNAVAILABLE_SQLSTATE = /^(08|53|57P|28|3D000|57014)/;
/** SQLSTATEs that mean the connection died under a statement. */
const LOST_CONNECTION_SQLSTATE = /^(57P01|57P02|08006|08003)$/;
const LOST_CONNECTION_MESSAGE = /terminated unexpectedly|not queryable|Connection terminated$/;

/**
 * Ids are bigint columns served as JSON numbers: exact up to 2^53 - 1, which a sequence
 * counting a million goals a second would reach in 285 years.
 */
const INT8_OID = 20;
const BIGINT_AS_NUMBER = {
  getTypeParser: (oid: number, format?: 'text' | 'binary'): unknown =>
    oid === INT8_OID ? Number : pg.types.getTypeParser(oid, format),
};

function toResult<Row>(result: pg.QueryResult): QueryResult<Row> {
  return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
}

function sqlState(error: unknown): string | undefined {
  if (error instanceof Error && 'severity' in error && 'code' in error) {
    return typeof error.code === 'string' ? error.code : undefined;
  }
  return undefined;
}

export function isAuthenticationFailure(error: unknown): boolean {
  const state = sqlState(error);
  return state === '28P01' || state === '28000';
}

function isLostConnection(error: unknown): boolean {
  const state = sqlState(error);
  if (state !== undefined) return LOST_CONNECTION_SQLSTATE.test(state);
  const code = errorCode(error);
  if (code === 'ECONNRESET' || code === 'EPIPE') return true;
  return error instanceof Error && LOST_CONNECTION_MESSAGE.test(error.message);
}

/** Socket and TLS failures: the server could not be reached, or not trusted. */
const UNREACHABLE_CODE =
  /^(ECONNREFUSED|ECONNRESET|ECONNABORTED|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|ERR_TLS_\w+|\w*CERT\w*|UNABLE_TO_\w+)$/;
/** pg's own messages for connect and pool timeouts and connections lost. */
const UNREACHABLE_MESSAGE =
  /^(timeout expired|timeout exceeded when trying to connect|Connection terminated( unexpectedly| due to connection timeout)?|Client has encountered a connection error and is not queryable|Client was closed and is not queryable|Query read timeout|The server does not support SSL connections)$/;

/**
 * True when the error says the database is out of reach (refused, timed out, shutting down,
 * TLS or authentication failing) rather than that a statement was wrong. Such errors become
 * 503 with Retry-After; anything else is a bug and becomes 500, never passed off as an outage.
 */
export function isUnavailable(error: unknown): boolean {
  const state = sqlState(error);
  if (state !== undefined) return UNAVAILABLE_SQLSTATE.test(state);
  const code = errorCode(error);
  if (code !== undefined) return UNREACHABLE_CODE.test(code);
  return error instanceof Error && UNREACHABLE_MESSAGE.test(error.message);
}

function toAppError(error: unknown): unknown {
  return isUnavailable(error) ? new DatabaseUnavailableError(error) : error;
}

/** Node's TLS options for DB_SSL; undefined leaves it to the URL's sslmode. */
export function tlsOptions(
  mode: SslMode | undefined,
  caPath: string | undefined,
): ConnectionOptions | false | undefined {
  switch (mode) {
    case undefined:
      return undefined;
    case 'disable':
      return false;
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-full':
      // Node checks the chain against `ca` and the host name against the certificate.
      return caPath === undefined
        ? { rejectUnauthorized: true }
        : { rejectUnauthorized: true, ca: readFileSync(caPath, 'utf8') };
  }
}

const URL_TLS_PARAMETERS = ['ssl', 'sslmode', 'sslcert', 'sslkey', 'sslrootcert', 'uselibpqcompat'];

/** pg lets a URL's sslmode override the `ssl` option, so DB_SSL strips it from the URL. */
function withoutUrlTls(connectionString: string): string {
  const url = new URL(connectionString);
  for (const parameter of URL_TLS_PARAMETERS) url.searchParams.delete(parameter);
  return url.toString();
}

function sameSettings(a: ConnectionSettings, b: ConnectionSettings | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** A short description of an error for logs: never the connection settings themselves. */
export function describeError(error: unknown): { message: string; code?: string } {
  if (!(error instanceof Error)) return { message: String(error) };
  const code = errorCode(error);
  return code === undefined ? { message: error.message } : { message: error.message, code };
}

/**
 * The API's PostgreSQL connection pool. Only the db/ modules see it; they turn the driver's
 * errors into DatabaseUnavailableError (503) where the database is out of reach.
 *
 * It opens lazily (a secret may have to be fetched first), re-reads its credentials when the
 * server refuses them so a rotated password needs no restart, and sends an idempotent
 * statement again, once, when the connection was lost under it.
 */
export class Database {
  readonly #options: DatabaseOptions;
  readonly #ssl: ConnectionOptions | false | undefined;
  #pool: pg.Pool | undefined;
  #opening: Promise<pg.Pool> | undefined;
  #settings: ConnectionSettings | undefined;
  #reloading: Promise<void> | undefined;
  #lastReload = 0;
  #migratedVersion: number | undefined;
  /** Statements waiting for the schema: each is told whether it came (true) or not. */
  readonly #awaitingSchema = new Set<(migrated: boolean) => void>();
  #closed = false;

  constructor(options: DatabaseOptions) {
    this.#options = options;
    this.#ssl = tlsOptions(options.ssl, options.sslCa);
  }

  /** Longest a statement waits for a pooled connection (or to open one) before failing. */
  get connectTimeoutMs(): number {
    return this.#options.connectTimeoutMs;
  }

  /** The schema version the migrations reached; data statements wait for it. */
  get migratedVersion(): number | undefined {
    return this.#migratedVersion;
  }

  markMigrated(version: number): void {
    this.#migratedVersion = version;
    for (const settle of this.#awaitingSchema) settle(true);
  }

  /**
   * Until the schema is migrated the tables may not be there. A statement waits for it as
   * long as for a pooled connection, then fails with 503: a worker that starts beside a ready
   * one gets requests at once, while its own migration check takes a few milliseconds.
   */
  async #untilMigrated(): Promise<void> {
    if (this.#closed) throw new DatabaseUnavailableError();
    const migrated = await new Promise<boolean>((resolve) => {
      const settle = (came: boolean) => {
        clearTimeout(timer);
        this.#awaitingSchema.delete(settle);
        resolve(came);
      };
      const timer = setTimeout(() => settle(false), this.#options.connectTimeoutMs);
      this.#awaitingSchema.add(settle);
    });
    if (!migrated) throw new DatabaseUnavailableError();
  }

  async query<Row>(
    statement: Statement,
    values: readonly unknown[],
    options: QueryOptions = {},
  ): Promise<QueryResult<Row>> {
    if (this.#migratedVersion === undefined) await this.#untilMigrated();
    return this.#withRecovery(
      async (pool) => toResult<Row>(await pool.query({ ...statement, values: [...values] })),
      options.idempotent === true,
    );
  }

  /** Runs `work` in one transaction on one pooled connection. */
  async transaction<T>(work: (query: Query) => Promise<T>, options: QueryOptions = {}): Promise<T> {
    if (this.#migratedVersion === undefined) await this.#untilMigrated();
    return this.#withRecovery(async (pool) => {
      const client = await pool.connect();
      // A connection lost mid-transaction also emits 'error' on the client; the failing
      // query reports it, and unheard the event would crash the process.
      const heard = () => undefined;
      client.on('error', heard);
      try {
        await client.query('BEGIN');
        const result = await work(async <Row>(statement: Statement, values: readonly unknown[]) =>
          toResult<Row>(await client.query({ ...statement, values: [...values] })),
        );
        await client.query('COMMIT');
        client.off('error', heard);
        client.release();
        return result;
      } catch (error) {
        const rolledBack = await client.query('ROLLBACK').then(
          () => true,
          () => false,
        );
        client.off('error', heard);
        // A connection that cannot even roll back is broken: the pool must drop it.
        client.release(rolledBack ? undefined : (error as Error));
        throw error;
      }
    }, options.idempotent === true);
  }

  /** Checks that the database answers, within `timeoutMs`; throws DatabaseUnavailableError. */
  async ping(timeoutMs: number): Promise<void> {
    await this.#withRecovery(
      (pool) => pool.query({ text: 'SELECT 1', query_timeout: timeoutMs } as pg.QueryConfig),
      true,
    );
  }

  /**
   * A connected client of its own, outside the pool and free of the statement timeout; the
   * caller ends it. Errors reaching it are logged as `purpose`, never thrown at the process.
   */
  async connectClient(purpose: string): Promise<pg.Client> {
    const settings = await this.#currentSettings();
    const client = new pg.Client({
      ...this.#connectionConfig(settings),
      application_name: `${APPLICATION_NAME} ${purpose}`,
      connectionTimeoutMillis: this.#options.connectTimeoutMs,
      keepAlive: true,
    });
    client.on('error', (error) => {
      if (this.#closed) return;
      this.#options.log.warn({ err: describeError(error) }, `database ${purpose} connection lost`);
    });
    try {
      await client.connect();
    } catch (error) {
      await client.end().catch(() => undefined);
      throw toAppError(error);
    }
    return client;
  }

  /**
   * Runs `work` on a dedicated connection without the statement timeout (migrations can be
   * slow, and a session-level advisory lock must stay on one connection).
   */
  async session<T>(work: (query: SessionQuery) => Promise<T>): Promise<T> {
    const client = await this.connectClient('session');
    try {
      return await work(async <Row>(text: string, values: readonly unknown[] = []) =>
        toResult<Row>(await client.query(text, [...values])),
      );
    } catch (error) {
      throw toAppError(error);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  stats(): PoolStats {
    const pool = this.#pool;
    if (!pool) return { total: 0, idle: 0, waiting: 0 };
    return { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount };
  }

  /** Waits for checked-out connections to come back, then closes them all. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const settle of this.#awaitingSchema) settle(false);
    const pool = this.#pool ?? (await this.#opening?.catch(() => undefined));
    this.#pool = undefined;
    await pool?.end();
  }

  async #withRecovery<T>(attempt: (pool: pg.Pool) => Promise<T>, idempotent: boolean): Promise<T> {
    const pool = this.#pool ?? (await this.#open());
    try {
      return await attempt(pool);
    } catch (error) {
      if (isAuthenticationFailure(error) && (await this.#reloadCredentials(pool))) {
        return this.#retry(attempt);
      }
      if (idempotent && isLostConnection(error)) return this.#retry(attempt);
      throw toAppError(error);
    }
  }

  async #retry<T>(attempt: (pool: pg.Pool) => Promise<T>): Promise<T> {
    try {
      return await attempt(this.#pool ?? (await this.#open()));
    } catch (error) {
      throw toAppError(error);
    }
  }

  async #currentSettings(): Promise<ConnectionSettings> {
    if (this.#settings) return this.#settings;
    try {
      this.#settings = await this.#options.credentials.load();
    } catch (error) {
      this.#options.log.error({ err: describeError(error) }, 'cannot read database credentials');
      throw new DatabaseUnavailableError(error);
    }
    return this.#settings;
  }

  #open(): Promise<pg.Pool> {
    if (this.#closed) return Promise.reject(new DatabaseUnavailableError());
    this.#opening ??= this.#currentSettings().then(
      (settings) => (this.#pool = this.#createPool(settings)),
      (error: unknown) => {
        // The next request tries again (say, once Secrets Manager answers).
        this.#opening = undefined;
        throw error;
      },
    );
    return this.#opening;
  }

  /**
   * After the server refused our credentials: re-read them and, when they changed, move to a
   * new pool (the old one drains). True when the statement is worth sending again.
   */
  async #reloadCredentials(failedPool: pg.Pool): Promise<boolean> {
    const reload = this.#options.credentials.reload?.bind(this.#options.credentials);
    if (!reload || this.#closed) return false;
    // Another request already moved to fresh credentials while this one was failing.
    if (this.#pool !== failedPool) return true;
    if (!this.#reloading) {
      if (Date.now() - this.#lastReload < MIN_RELOAD_INTERVAL_MS) return false;
      this.#reloading = (async () => {
        try {
          const settings = await reload();
          this.#lastReload = Date.now();
          if (sameSettings(settings, this.#settings) || this.#closed) return;
          this.#options.log.info('database credentials changed; reconnecting with the new ones');
          const old = this.#pool;
          this.#settings = settings;
          this.#pool = this.#createPool(settings);
          this.#opening = Promise.resolve(this.#pool);
          old?.end().catch(() => undefined);
        } catch (error) {
          this.#lastReload = Date.now();
          this.#options.log.error(
            { err: describeError(error) },
            'cannot re-read database credentials',
          );
        } finally {
          this.#reloading = undefined;
        }
      })();
    }
    await this.#reloading;
    return this.#pool !== failedPool;
  }

  #connectionConfig(settings: ConnectionSettings): pg.ClientConfig {
    const ssl = this.#ssl === undefined ? {} : { ssl: this.#ssl };
    if ('connectionString' in settings) {
      const connectionString =
        this.#ssl === undefined
          ? settings.connectionString
          : withoutUrlTls(settings.connectionString);
      return { connectionString, types: BIGINT_AS_NUMBER, ...ssl };
    }
    return { ...settings, types: BIGINT_AS_NUMBER, ...ssl };
  }

  #createPool(settings: ConnectionSettings): pg.Pool {
    const { poolMax, connectTimeoutMs, statementTimeoutMs } = this.#options;
    const pool = new pg.Pool({
      ...this.#connectionConfig(settings),
      application_name: APPLICATION_NAME,
      max: poolMax,
      // Waiting for a free connection and opening one both end here: a request never hangs.
      connectionTimeoutMillis: connectTimeoutMs,
      idleTimeoutMillis: IDLE_TIMEOUT_MS,
      statement_timeout: statementTimeoutMs,
      // The server-side timeout cannot fire if the server is gone silently; this one can.
      query_timeout: statementTimeoutMs + 1000,
      keepAlive: true,
    });
    // Without this listener an idle connection dropped by the server would crash the process.
    pool.on('error', (error) => {
      // After close() the server going away is expected.
      if (this.#closed) return;
      this.#options.log.warn({ err: describeError(error) }, 'idle database connection lost');
    });
    return pool;
  }
}
