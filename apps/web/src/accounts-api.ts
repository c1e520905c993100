import type {
  Account,
  AccountCreated,
  ChangePasswordInput,
  Credentials,
  DeleteAccountInput,
  PasskeyList,
  PasskeySignInInput,
  RecoveryInput,
  SessionCreated,
  SignUpInput,
} from '@goal-tracker/contract';
import { LruMap } from '@goal-tracker/server-kit';
import type { ApiClient } from './api-client.js';
import { bearer, json, JSON_HEADERS, noContent } from './api-result.js';
import type { ApiResult, Caller, Visitor } from './api-result.js';

/** A password change answers with the account and the one session left: the new one. */
export type PasswordChanged = Omit<SessionCreated, 'adoptedGoals'>;
/** A recovery answers like a sign-up: a new session and a new recovery code. */
export type Recovered = Omit<AccountCreated, 'adoptedGoals'>;

/** The account calls the server-rendered pages make, typed by the shared contract. */
export interface AccountsApi {
  signUp(input: SignUpInput, visitor: Visitor): Promise<ApiResult<AccountCreated>>;
  signIn(input: Credentials, visitor: Visitor): Promise<ApiResult<SessionCreated>>;
  recover(input: RecoveryInput, visitor: Visitor): Promise<ApiResult<Recovered>>;
  account(caller: Caller): Promise<ApiResult<Account>>;
  /**
   * The email of the session's account, asked of the API once per session: an account's
   * email never changes, and a session belongs to one account for its whole life. (A session
   * that has ended is found out by the page's other calls, which answer 401.)
   */
  signedInEmail(caller: Caller): Promise<ApiResult<string>>;
  signOut(caller: Caller): Promise<ApiResult<null>>;
  changePassword(input: ChangePasswordInput, caller: Caller): Promise<ApiResult<PasswordChanged>>;
  deleteAccount(input: DeleteAccountInput, caller: Caller): Promise<ApiResult<null>>;
  /** What the browser's passkey answered, for a session exactly like a password sign-in's. */
  signInWithPasskey(
    input: PasskeySignInInput,
    visitor: Visitor,
  ): Promise<ApiResult<SessionCreated>>;
  passkeys(caller: Caller): Promise<ApiResult<PasskeyList>>;
  removePasskey(id: number, caller: Caller): Promise<ApiResult<null>>;
}

/** Sessions whose email is kept; past it, the least recently seen is asked again. */
export const KEPT_EMAILS = 10_000;

export function createAccountsApi(client: ApiClient): AccountsApi {
  const emails = new LruMap<string, string>(KEPT_EMAILS);
  /**
   * Sends a JSON body. Never retried: a sign-up, a recovery or a passkey sign-in that landed but
   * lost its answer would be refused the second time (email taken, code or challenge used),
   * which says the wrong thing.
   */
  function post(path: string, body: unknown, from: Visitor | Caller) {
    return client.request({
      method: 'POST',
      path,
      headers: {
        ...JSON_HEADERS,
        ...('token' in from ? bearer(from.token) : { 'x-forwarded-for': from.forwardedFor }),
      },
      body: JSON.stringify(body),
      requestId: from.requestId,
      idempotent: false,
    });
  }

  async function get<T>(path: string, caller: Caller): Promise<ApiResult<T>> {
    const response = await client.request({
      method: 'GET',
      path,
      headers: { accept: 'application/json', ...bearer(caller.token) },
      requestId: caller.requestId,
      idempotent: true,
    });
    return json<T>(response, 200);
  }

  /**
   * A DELETE that is safe to send twice, so sent again when the balancer fails it: a retried
   * sign-out's 401 and a retried removal's 404 both mean it is done, and callers take them so.
   */
  async function end(path: string, caller: Caller): Promise<ApiResult<null>> {
    const response = await client.request({
      method: 'DELETE',
      path,
      headers: bearer(caller.token),
      requestId: caller.requestId,
      idempotent: true,
    });
    return noContent(response);
  }

  return {
    signUp: async (input, visitor) =>
      json<AccountCreated>(await post('/accounts', input, visitor), 201),

    signIn: async (input, visitor) =>
      json<SessionCreated>(await post('/sessions', input, visitor), 201),

    signInWithPasskey: async (input, visitor) =>
      json<SessionCreated>(await post('/sessions/passkey', input, visitor), 201),

    recover: async (input, visitor) =>
      json<Recovered>(await post('/account/recovery', input, visitor), 201),

    account: (caller) => get<Account>('/account', caller),

    async signedInEmail(caller) {
      const known = emails.use(caller.token);
      if (known !== undefined) return { ok: true, value: known };
      const result = await get<Account>('/account', caller);
      if (!result.ok) return result;
      emails.set(caller.token, result.value.email);
      return { ok: true, value: result.value.email };
    },

    signOut(caller) {
      emails.delete(caller.token);
      return end('/sessions/current', caller);
    },

    changePassword: async (input, caller) =>
      json<PasswordChanged>(await post('/account/password', input, caller), 201),

    async deleteAccount(input, caller) {
      emails.delete(caller.token);
      // Not retried either: a deletion that landed would be answered 401 the second time.
      const response = await client.request({
        method: 'DELETE',
        path: '/account',
        headers: { ...JSON_HEADERS, ...bearer(caller.token) },
        body: JSON.stringify(input),
        requestId: caller.requestId,
        idempotent: false,
      });
      return noContent(response);
    },

    passkeys: (caller) => get<PasskeyList>('/passkeys', caller),

    removePasskey: (id, caller) => end(`/passkeys/${id}`, caller),
  };
}
