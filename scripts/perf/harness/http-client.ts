import { Agent, request } from 'node:http';

export interface HttpRequest {
  method?: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** Client-side deadline: a request still unanswered then counts as hung. */
  timeoutMs?: number;
}

export interface HttpOutcome {
  /** HTTP status, or 0 when no response arrived. */
  status: number;
  /** Error code when no complete response arrived (ECONNREFUSED, ECONNRESET, TIMEOUT...). */
  error?: string;
  /** True when the error came after response headers (a truncated response). */
  truncated: boolean;
  /** Whether the request went out on a kept-alive socket that had served a request before. */
  reusedSocket: boolean;
  body: string;
  headers: Record<string, string | string[] | undefined>;
  startedAt: number;
  ms: number;
}

export function keepAliveAgent(maxSockets: number): Agent {
  return new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
}

/** One request; never rejects: failures come back as an outcome with `error`. */
export function send(
  baseUrl: string,
  agent: Agent | false,
  req: HttpRequest,
): Promise<HttpOutcome> {
  const startedAt = performance.now();
  const payload = req.body === undefined ? undefined : JSON.stringify(req.body);
  return new Promise((resolve) => {
    let settled = false;
    let reusedSocket = false;
    let gotHeaders = false;
    const finish = (
      outcome: Omit<HttpOutcome, 'startedAt' | 'ms' | 'reusedSocket' | 'truncated'>,
    ) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({
        ...outcome,
        truncated: gotHeaders && outcome.error !== undefined,
        reusedSocket,
        startedAt,
        ms: performance.now() - startedAt,
      });
    };
    const headers: Record<string, string> = { ...req.headers };
    if (payload !== undefined) headers['content-type'] = 'application/json';
    const clientRequest = request(
      `${baseUrl}${req.path}`,
      { method: req.method ?? 'GET', agent, headers },
      (res) => {
        gotHeaders = true;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          finish({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            headers: res.headers,
          }),
        );
        res.on('error', (error: NodeJS.ErrnoException) =>
          finish({
            status: res.statusCode ?? 0,
            error: error.code ?? error.message,
            body: '',
            headers: res.headers,
          }),
        );
      },
    );
    clientRequest.on('socket', () => {
      reusedSocket = clientRequest.reusedSocket;
    });
    const timer = setTimeout(() => {
      finish({ status: 0, error: 'TIMEOUT', body: '', headers: {} });
      clientRequest.destroy();
    }, req.timeoutMs ?? 10_000);
    clientRequest.on('error', (error: NodeJS.ErrnoException) =>
      finish({ status: 0, error: error.code ?? error.message, body: '', headers: {} }),
    );
    clientRequest.end(payload);
  });
}

export interface LoadLoopOptions {
  baseUrl: string;
  /** Concurrent workers, each sending its next request when the last one finishes. */
  connections: number;
  /** Builds the i-th request. */
  next: (index: number) => HttpRequest;
  /** Stops when this returns true (checked before each request). */
  shouldStop: () => boolean;
  /** Hard bounds, whatever shouldStop says. */
  maxRequests: number;
  maxDurationMs: number;
}

export interface Recorded {
  request: HttpRequest;
  outcome: HttpOutcome;
}

/** A closed-loop load: `connections` workers on a keep-alive agent, bounded in count and time. */
export async function loadLoop(options: LoadLoopOptions): Promise<Recorded[]> {
  const agent = keepAliveAgent(options.connections);
  const recorded: Recorded[] = [];
  const deadline = performance.now() + options.maxDurationMs;
  let index = 0;
  const worker = async () => {
    while (!options.shouldStop() && index < options.maxRequests && performance.now() < deadline) {
      const request = options.next(index++);
      const outcome = await send(options.baseUrl, agent, request);
      recorded.push({ request, outcome });
    }
  };
  try {
    await Promise.all(Array.from({ length: options.connections }, worker));
  } finally {
    agent.destroy();
  }
  return recorded;
}

/** What kind of answer an outcome is: `201`, `503`, `ECONNRESET`, `TIMEOUT`... */
export function outcomeKind(outcome: HttpOutcome): string {
  if (outcome.error) return outcome.truncated ? `truncated ${outcome.error}` : outcome.error;
  return String(outcome.status);
}

/** How many answers of each kind, e.g. `4 × 503, 812 × 200, 20 × ECONNREFUSED`, or `none`. */
export function describeKinds(
  records: readonly Recorded[],
  kindOf: (record: Recorded) => string = ({ outcome }) => outcomeKind(outcome),
): string {
  const counts: Record<string, number> = {};
  for (const record of records) {
    const kind = kindOf(record);
    counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return (
    Object.entries(counts)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([kind, count]) => `${count} × ${kind}`)
      .join(', ') || 'none'
  );
}

export const isSuccess = (outcome: HttpOutcome) =>
  !outcome.error && outcome.status >= 200 && outcome.status < 300;

/** Parses `{ id }` out of a created goal's JSON body, or undefined. */
export function createdId(outcome: HttpOutcome): number | undefined {
  if (outcome.status !== 201) return undefined;
  try {
    const body = JSON.parse(outcome.body) as { id?: unknown };
    return typeof body.id === 'number' ? body.id : undefined;
  } catch {
    return undefined;
  }
}
