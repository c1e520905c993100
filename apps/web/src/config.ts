import { ConfigError, list, readEnvironment, serverSettings } from '@goal-tracker/server-kit';
import type { LogLevel } from '@goal-tracker/server-kit';
import { Type } from '@sinclair/typebox';

/** Locally: the loopback names, any port. In AWS the load balancer's name and the domain's. */
export const DEFAULT_ALLOWED_HOSTS = ['localhost', '127.0.0.1'];

const Milliseconds = (fallback: number) =>
  Type.Integer({ minimum: 1, maximum: 60_000, default: fallback });

/** Every variable the web tier reads. `.env.example` documents the same list. */
export const EnvSchema = Type.Object({
  ...serverSettings(3000),
  API_URL: Type.String({ minLength: 1, default: 'http://127.0.0.1:8080' }),
  API_CONNECT_TIMEOUT_MS: Milliseconds(2_000),
  API_TIMEOUT_MS: Milliseconds(5_000),
  ALLOWED_HOSTS: Type.String({ default: DEFAULT_ALLOWED_HOSTS.join(',') }),
  FORWARDED_PROTO_HEADER: Type.String({ pattern: '^[A-Za-z0-9-]+$', default: 'x-forwarded-proto' }),
});

/** The web tier's settings, read once from the environment and validated before anything starts. */
export interface WebConfig {
  /** PORT: where the web tier listens (3000). */
  port: number;
  /** HOST: the interface to bind (0.0.0.0, so the load balancer reaches the container). */
  host: string;
  /** WORKERS: server processes (node:cluster); 1 runs the web tier as a single process. */
  workers: number;
  /** API_URL: the API tier's origin; the internal load balancer in AWS. */
  apiUrl: string;
  /** API_CONNECT_TIMEOUT_MS: how long to wait for a connection to the API before answering 503. */
  apiConnectTimeoutMs: number;
  /** API_TIMEOUT_MS: how long to wait for the API's answer before answering 504. */
  apiTimeoutMs: number;
  /** LOG_LEVEL: pino level. */
  logLevel: LogLevel;
  /**
   * TRUSTED_PROXIES: addresses or CIDR ranges (comma-separated) of the load balancers in
   * front, whose X-Forwarded-For names the visitor. Empty: the visitor is the socket's peer.
   */
  trustedProxies: string[];
  /**
   * ALLOWED_HOSTS: the host names (any port) this site is reached by, lower case; a request
   * naming another Host is refused, so a page on a rebound DNS name cannot drive it.
   */
  allowedHosts: string[];
  /**
   * FORWARDED_PROTO_HEADER: the header that carries the visitor's scheme (lower case).
   * Behind CloudFront it is `cloudfront-forwarded-proto`: the ALB between them overwrites
   * X-Forwarded-Proto with its own leg's "http".
   */
  forwardedProtoHeader: string;
}

/** A host name or address as a Host header carries it: no scheme, port, path or wildcard. */
const HOST_NAME = /^(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9.-]*[a-z0-9])?)$/;

export function loadConfig(environment: NodeJS.ProcessEnv = process.env): WebConfig {
  const env = readEnvironment(EnvSchema, environment);
  let parsed: URL;
  try {
    parsed = new URL(env.API_URL);
  } catch {
    throw new ConfigError(`API_URL: must be an absolute http(s) URL (got "${env.API_URL}")`);
  }
  if (!['http:', 'https:'].includes(parsed.protocol) || parsed.pathname !== '/' || parsed.search) {
    throw new ConfigError(
      `API_URL: must be an http(s) origin such as http://127.0.0.1:8080 (got "${env.API_URL}")`,
    );
  }
  const allowedHosts = list(env.ALLOWED_HOSTS.toLowerCase());
  for (const host of allowedHosts) {
    if (!HOST_NAME.test(host)) {
      throw new ConfigError(
        `ALLOWED_HOSTS: each must be a host name such as goals.example.com, without scheme or port (got "${host}")`,
      );
    }
  }
  if (allowedHosts.length === 0) throw new ConfigError('ALLOWED_HOSTS: must name a host');
  return {
    port: env.PORT,
    host: env.HOST,
    workers: env.WORKERS,
    apiUrl: parsed.origin,
    apiConnectTimeoutMs: env.API_CONNECT_TIMEOUT_MS,
    apiTimeoutMs: env.API_TIMEOUT_MS,
    logLevel: env.LOG_LEVEL,
    trustedProxies: list(env.TRUSTED_PROXIES),
    allowedHosts,
    forwardedProtoHeader: env.FORWARDED_PROTO_HEADER.toLowerCase(),
  };
}
