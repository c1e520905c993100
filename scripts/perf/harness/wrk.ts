import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireTool } from './tools.js';

const run = promisify(execFile);

/** What one HTTP load run measured. Latencies in milliseconds. */
export interface LoadResult {
  requests: number;
  durationS: number;
  rps: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Connection errors, timeouts and responses with status >= 400. */
  errors: number;
  errorDetail: { connect: number; read: number; write: number; status: number; timeout: number };
}

/** A request shape for wrk: fixed, or built per request by a small Lua snippet. */
export interface LoadRequest {
  method?: 'GET' | 'POST' | 'PATCH';
  path: string;
  /** JSON body: a fixed string, or a Lua expression evaluated per request (`n` counts). */
  body?: string;
  bodyLua?: string;
  /** Lua expression for the path per request, e.g. `'/goals/' .. math.random(1, 100)`. */
  pathLua?: string;
  /** Lua statements ending in `return wrk.format(...)`: the whole request, per request. */
  requestLua?: string;
  /** Milliseconds each connection waits before its next request, to pace the load. */
  delayMs?: number;
  /**
   * Session tokens: each request is for the next account in turn (`account` in Lua, from 0)
   * and carries its token, as `Authorization: Bearer` or as the web tier's session cookie.
   */
  tokens?: readonly string[];
  tokenIn?: 'authorization' | 'cookie';
  /** Headers every request carries, e.g. a browser's Accept-Encoding. */
  headers?: Readonly<Record<string, string>>;
  /**
   * Goals 1..seededGoals were made by seedGoals for the accounts of `tokens`, in that order:
   * `random_goal()` in Lua then picks one of the request's account.
   */
  seededGoals?: number;
}

export interface LoadOptions {
  baseUrl: string;
  request: LoadRequest;
  connections: number;
  durationS: number;
  threads?: number;
  timeoutS?: number;
}

const MARKER = 'WRK_JSON ';

export function luaString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Lua for wrk: builds each request and prints the summary as one JSON line at the end. */
export function wrkScript(request: LoadRequest): string {
  const method = request.method ?? 'GET';
  const path = request.pathLua ?? luaString(request.path);
  const body = request.bodyLua ?? (request.body === undefined ? 'nil' : luaString(request.body));
  const headers =
    request.body !== undefined || request.bodyLua !== undefined || request.requestLua !== undefined;
  const fixedHeaders = Object.entries({
    ...(headers ? { 'Content-Type': 'application/json' } : {}),
    ...request.headers,
  })
    .map(([name, value]) => `[${luaString(name)}] = ${luaString(value)}`)
    .join(', ');
  const tokens = request.tokens ?? [];
  const credentials =
    request.tokenIn === 'cookie'
      ? `headers['Cookie'] = 'session=' .. tokens[account + 1]`
      : `headers['Authorization'] = 'Bearer ' .. tokens[account + 1]`;
  // wrk takes whole milliseconds; dithering between the two neighbours keeps the mean exact.
  const delay =
    request.delayMs === undefined
      ? ''
      : `local whole = ${Math.floor(request.delayMs)}
local fraction = ${request.delayMs - Math.floor(request.delayMs)}
function delay()
  if math.random() < fraction then return whole + 1 end
  return whole
end`;
  return `
local n = 0
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
end
function init(args)
  math.randomseed(os.time() * 1000 + tid)
  n = tid * 100000000
end
local headers = { ${fixedHeaders} }
local tokens = { ${tokens.map(luaString).join(', ')} }
local accounts = math.max(1, #tokens)
local account = 0
local seeded = ${request.seededGoals ?? 0}
-- Seeded goal i belongs to account (i - 1) % accounts (see seedGoals).
local function random_goal()
  return accounts * math.random(0, math.floor((seeded - 1 - account) / accounts)) + account + 1
end
function request()
  n = n + 1
  account = n % accounts
  ${tokens.length > 0 ? credentials : ''}
  ${request.requestLua ?? `return wrk.format(${luaString(method)}, ${path}, headers, ${body})`}
end
${delay}
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '${MARKER}{"requests":%d,"durationUs":%d,"p50":%d,"p90":%d,"p99":%d,"max":%d,' ..
    '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
`;
}

interface WrkJson {
  requests: number;
  durationUs: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
}

/** Runs wrk once (bounded by `durationS`) and returns its figures. */
export async function runWrk(options: LoadOptions): Promise<LoadResult> {
  const wrk = requireTool('wrk');
  const dir = await mkdtemp(join(tmpdir(), 'goal-tracker-wrk-'));
  try {
    const script = join(dir, 'load.lua');
    await writeFile(script, wrkScript(options.request));
    const { stdout } = await run(
      wrk,
      [
        `--threads=${options.threads ?? 1}`,
        `--connections=${options.connections}`,
        `--duration=${options.durationS}s`,
        `--timeout=${options.timeoutS ?? 2}s`,
        `--script=${script}`,
        `${options.baseUrl}${options.request.path}`,
      ],
      { timeout: (options.durationS + 30) * 1000, maxBuffer: 1 << 20 },
    );
    const line = stdout.split('\n').find((candidate) => candidate.startsWith(MARKER));
    if (!line) throw new Error(`wrk printed no summary:\n${stdout}`);
    const raw = JSON.parse(line.slice(MARKER.length)) as WrkJson;
    const durationS = raw.durationUs / 1e6;
    const errorDetail = {
      connect: raw.connect,
      read: raw.read,
      write: raw.write,
      status: raw.status,
      timeout: raw.timeout,
    };
    return {
      requests: raw.requests,
      durationS,
      rps: raw.requests / durationS,
      p50Ms: raw.p50 / 1000,
      p90Ms: raw.p90 / 1000,
      p99Ms: raw.p99 / 1000,
      maxMs: raw.max / 1000,
      errors: Object.values(errorDetail).reduce((sum, count) => sum + count, 0),
      errorDetail,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
