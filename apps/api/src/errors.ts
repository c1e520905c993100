/**
 * The one error type the API raises on purpose. The central handler turns it into a problem
 * document; anything else becomes a generic 500 whose cause only the logs see.
 */
export class AppError extends Error {
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  /** Seconds a client should wait before retrying; sent as Retry-After. */
  readonly retryAfterSeconds: number | undefined;
  /** Sent as WWW-Authenticate: how to authenticate (RFC 6750 for Bearer). */
  readonly challenge: string | undefined;

  constructor(
    status: number,
    title: string,
    detail: string,
    options: { cause?: unknown; retryAfterSeconds?: number; challenge?: string } = {},
  ) {
    super(detail, { cause: options.cause });
    this.name = 'AppError';
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.challenge = options.challenge;
  }
}

export class NotFoundError extends AppError {
  constructor(detail: string) {
    super(404, 'Not Found', detail);
  }
}

/** The database cannot answer now (down, restarting, overloaded); retrying later may work. */
export class DatabaseUnavailableError extends AppError {
  constructor(cause?: unknown) {
    super(503, 'Service Unavailable', 'The database is unavailable; try again shortly.', {
      cause,
      retryAfterSeconds: 1,
    });
  }
}

/**
 * No valid session token: missing (the challenge says only "Bearer"), or malformed, unknown,
 * expired or ended (error="invalid_token", RFC 6750).
 */
export class UnauthorizedError extends AppError {
  constructor(tokenGiven: boolean) {
    super(
      401,
      'Unauthorized',
      tokenGiven
        ? 'The session token is not valid: it may have expired or been signed out. Sign in again.'
        : 'Sign in first: send Authorization: Bearer <token> (POST /sessions gives one).',
      { challenge: tokenGiven ? 'Bearer error="invalid_token"' : 'Bearer' },
    );
  }
}

/** The credentials given (email and password, a recovery code) are wrong. */
export class WrongCredentialsError extends AppError {
  constructor(detail: string) {
    super(401, 'Unauthorized', detail);
  }
}
