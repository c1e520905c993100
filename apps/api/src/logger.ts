import type { LoggerOptions } from 'pino';
import type { LogLevel } from '@goal-tracker/server-kit';

/**
 * pino options for the API: JSON to stdout (CloudWatch via the awslogs driver), secrets
 * redacted wherever they might appear. Request and response bodies are never logged: the
 * request serializer records method, url and addresses only.
 */
export function loggerOptions(level: LogLevel): LoggerOptions {
  return {
    level,
    redact: {
      paths: [
        'password',
        '*.password',
        'connectionString',
        '*.connectionString',
        'req.headers.authorization',
        'req.headers.cookie',
        'req.headers["x-api-key"]',
        'res.headers["set-cookie"]',
        'SecretString',
        '*.SecretString',
      ],
      censor: '[redacted]',
    },
  };
}
