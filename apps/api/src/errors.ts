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

  constructor(
    status: number,
    title: string,
    detail: string,
    options: { cause?: unknown; retryAfterSeconds?: number } = {},
  ) {
    super(detail, { cause: options.cause });
    this.name = 'AppError';
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.retryAfterSeconds = options.retryAfterSeconds;
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
