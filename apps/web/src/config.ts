/** The web tier's settings, read once from the environment and validated before anything starts. */
export interface WebConfig {
  /** PORT: where the web tier listens (3000). */
  port: number;
  /** HOST: the interface to bind (0.0.0.0, so the load balancer reaches the container). */
  host: string;
  /** API_URL: the API tier's origin; the internal load balancer in AWS. */
  apiUrl: string;
  /** API_CONNECT_TIMEOUT_MS: how long to wait for a connection to the API before answering 503. */
  apiConnectTimeoutMs: number;
  /** API_TIMEOUT_MS: how long to wait for the API's answer before answering 504. */
  apiTimeoutMs: number;
  /** LOG_LEVEL: pino level. */
  logLevel: string;
  /**
   * TRUSTED_PROXIES: addresses or CIDR ranges (comma-separated) of the load balancers in
   * front, whose X-Forwarded-For names the visitor. Empty: the visitor is the socket's peer.
   */
  trustedProxies: string[];
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function integer(
  env: NodeJS.ProcessEnv,
  key: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${key} must be an integer from ${min} to ${max}, not "${raw}"`);
  }
  return value;
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): WebConfig {
  const apiUrl = env.API_URL || 'http://127.0.0.1:8080';
  let parsed: URL;
  try {
    parsed = new URL(apiUrl);
  } catch {
    throw new ConfigError(`API_URL must be an absolute http(s) URL, not "${apiUrl}"`);
  }
  if (!['http:', 'https:'].includes(parsed.protocol) || parsed.pathname !== '/' || parsed.search) {
    throw new ConfigError(
      `API_URL must be an http(s) origin such as http://127.0.0.1:8080, not "${apiUrl}"`,
    );
  }
  const logLevel = env.LOG_LEVEL || 'info';
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, not "${logLevel}"`);
  }
  return {
    port: integer(env, 'PORT', 3000, 0, 65_535),
    host: env.HOST || '0.0.0.0',
    apiUrl: parsed.origin,
    apiConnectTimeoutMs: integer(env, 'API_CONNECT_TIMEOUT_MS', 2_000, 1, 60_000),
    apiTimeoutMs: integer(env, 'API_TIMEOUT_MS', 5_000, 1, 60_000),
    logLevel,
    trustedProxies: (env.TRUSTED_PROXIES ?? '')
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== ''),
  };
}
