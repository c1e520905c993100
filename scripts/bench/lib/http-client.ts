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
  onOutcome?: (outcome: HttpOutcome, request: HttpRequest) => void;
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
      options.onOutcome?.(outcome, request);
    }
  };
  try {
    await Promise.all(Array.from({ length: options.connections }, worker));
  } finally {
    agent.destroy();
  }
  return recorded;
}

export interface RateLoopOptions extends Omit<LoadLoopOptions, 'connections' | 'shouldStop'> {
  /** Requests per second, sent on a fixed schedule whatever the latency (open loop). */
  rate: number;
  /** Most requests in flight at once; beyond that a scheduled request counts as an error. */
  maxInFlight: number;
}

/** An open-loop load at a fixed rate, for the soak: latency never slows the arrival rate. */
export async function rateLoop(
  options: RateLoopOptions,
): Promise<{ sent: number; failures: Recorded[]; skipped: number; latencies: Float64Array }> {
  const agent = keepAliveAgent(options.maxInFlight);
  const failures: Recorded[] = [];
  const latencies: number[] = [];
  let inFlight = 0;
  let sent = 0;
  let skipped = 0;
  const started = performance.now();
  const pending = new Set<Promise<void>>();
  const tickMs = 5;
  while (sent + skipped < options.maxRequests) {
    const elapsed = performance.now() - started;
    if (elapsed >= options.maxDurationMs) break;
    const due = Math.min(options.maxRequests, Math.floor((elapsed / 1000) * options.rate));
    while (sent + skipped < due) {
      if (inFlight >= options.maxInFlight) {
        skipped += 1;
        continue;
      }
      const request = options.next(sent);
      sent += 1;
      inFlight += 1;
      const task = send(options.baseUrl, agent, request).then((outcome) => {
        inFlight -= 1;
        latencies.push(outcome.ms);
        if (outcome.error || outcome.status >= 400) failures.push({ request, outcome });
        options.onOutcome?.(outcome, request);
        pending.delete(task);
      });
      pending.add(task);
    }
    await new Promise((done) => setTimeout(done, tickMs));
  }
  await Promise.all(pending);
  agent.destroy();
  return { sent, failures, skipped, latencies: Float64Array.from(latencies).sort() };
}
