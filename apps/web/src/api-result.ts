import type { Problem } from '@goal-tracker/contract';
import { ApiError, type ApiResponse } from './api-client.js';

/** Who a call is made for: the visitor's session token, and the request it serves. */
export interface Caller {
  token: string;
  requestId: string;
}

/** A visitor not signed in yet (signing up, in or back), as the API's abuse limits see them. */
export interface Visitor {
  requestId: string;
  /** X-Forwarded-For for the call (see forwardedFor). */
  forwardedFor: string;
}

/** The API answered, but refused: its problem document says why. */
export interface Refusal {
  ok: false;
  status: number;
  problem: Problem;
  /**
   * The API asked for credentials (WWW-Authenticate): the token is missing, unknown or ended.
   * A 401 without it refuses a password given in the body, and the session is still good.
   */
  challenged: boolean;
  /** Seconds to wait, from a 429's Retry-After. */
  retryAfter: number | undefined;
}
export type ApiResult<T> = { ok: true; value: T } | Refusal;

export const JSON_HEADERS = { accept: 'application/json', 'content-type': 'application/json' };

export function bearer(token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` };
}

function retryAfterSeconds(header: string | string[] | undefined): number | undefined {
  if (typeof header !== 'string' || !/^\d{1,7}$/.test(header)) return undefined;
  return Number(header);
}

export function refusal(response: ApiResponse): Refusal {
  let problem: Problem = {
    type: 'about:blank',
    title: 'The goal service refused the request',
    status: response.status,
  };
  try {
    const parsed = JSON.parse(response.body.toString('utf8')) as Partial<Problem>;
    if (typeof parsed.title === 'string') {
      problem = {
        type: typeof parsed.type === 'string' ? parsed.type : 'about:blank',
        title: parsed.title,
        status: response.status,
        ...(typeof parsed.detail === 'string' ? { detail: parsed.detail } : {}),
      };
    }
  } catch {
    // Not a problem document: keep the generic one.
  }
  return {
    ok: false,
    status: response.status,
    problem,
    challenged: response.headers['www-authenticate'] !== undefined,
    retryAfter: retryAfterSeconds(response.headers['retry-after']),
  };
}

export function json<T>(response: ApiResponse, expected: number): ApiResult<T> {
  if (response.status !== expected) return refusal(response);
  return { ok: true, value: JSON.parse(response.body.toString('utf8')) as T };
}

/** An answer with no body (204), or the refusal. */
export function noContent(response: ApiResponse): ApiResult<null> {
  return response.status === 204 ? { ok: true, value: null } : refusal(response);
}

/** An API call's answer, with an unreachable API as a value rather than a throw. */
export async function settle<T>(promise: Promise<ApiResult<T>>): Promise<ApiResult<T> | ApiError> {
  try {
    return await promise;
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
}

/** The API refused with this status (as opposed to answering, or being unreachable). */
export function isRefusal(
  result: ApiResult<unknown> | ApiError,
  status: number,
): result is Refusal {
  return !(result instanceof ApiError) && !result.ok && result.status === status;
}

/** The session behind a call is gone: the visitor has to sign in again. */
export function isSignedOut(result: ApiResult<unknown> | ApiError): boolean {
  return isRefusal(result, 401);
}
