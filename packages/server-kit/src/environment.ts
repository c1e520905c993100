import { availableParallelism } from 'node:os';
import { Type, type Static, type TObject } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

/** A setting the process cannot start with; main.ts reports its message and exits 1. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** LOG_LEVEL, as both tiers read it. */
export const LogLevelSetting = Type.Union(
  LOG_LEVELS.map((level) => Type.Literal(level)),
  { default: 'info' },
);

/** WORKERS' default: one server process per vCPU the machine (or container) offers. */
export const DEFAULT_WORKERS = availableParallelism();

/**
 * PORT, HOST, LOG_LEVEL, TRUSTED_PROXIES and WORKERS, which every server reads alike: spread
 * into the tier's own schema.
 */
export function serverSettings(defaultPort: number) {
  return {
    PORT: Type.Integer({ minimum: 0, maximum: 65_535, default: defaultPort }),
    HOST: Type.String({ minLength: 1, default: '0.0.0.0' }),
    LOG_LEVEL: LogLevelSetting,
    TRUSTED_PROXIES: Type.String({ default: '' }),
    /** Server processes (serveWithWorkers); 1: a single process, no cluster. */
    WORKERS: Type.Integer({ minimum: 1, maximum: 64, default: DEFAULT_WORKERS }),
  };
}

export interface ReadEnvironmentOptions {
  /** Variables whose value never appears in an error message (it may hold a password). */
  secret?: readonly string[];
}

function describe(
  variable: string,
  schema: unknown,
  message: string,
  value: unknown,
  secret: boolean,
): string {
  const choices = (schema as { anyOf?: { const?: unknown }[] }).anyOf?.map((option) =>
    String(option.const),
  );
  const expected = choices ? `must be one of ${choices.join(', ')}` : message;
  return `${variable}: ${expected}${secret ? '' : ` (got "${String(value)}")`}`;
}

/**
 * The variables `schema` names, read from `environment`, defaults applied and strings
 * converted to the schema's types; throws a ConfigError naming the first bad variable.
 * Empty strings count as unset, as in most .env tooling.
 */
export function readEnvironment<Schema extends TObject>(
  schema: Schema,
  environment: NodeJS.ProcessEnv,
  options: ReadEnvironmentOptions = {},
): Static<Schema> {
  const raw = Object.fromEntries(
    Object.keys(schema.properties).flatMap((key) => {
      const value = environment[key];
      return value === undefined || value === '' ? [] : [[key, value]];
    }),
  );
  const converted = Value.Convert(schema, Value.Default(schema, raw));
  const [first] = Value.Errors(schema, converted);
  if (first) {
    const variable = first.path.slice(1);
    const secret = options.secret?.includes(variable) ?? false;
    throw new ConfigError(describe(variable, first.schema, first.message, raw[variable], secret));
  }
  return converted as Static<Schema>;
}

/** A comma-separated list, blanks dropped. */
export function list(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}
