import type {
  Account,
  AccountCreated,
  ChangePasswordInput,
  Credentials,
  DeleteAccountInput,
  RecoveryInput,
  SessionCreated,
  SignUpInput,
} from '@goal-tracker/contract';
import type { ApiClient } from './api-client.js';
import {
  bearer,
  json,
  JSON_HEADERS,
  noContent,
  type ApiResult,
  type Caller,
  type Visitor,
} from './api-result.js';

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
  signOut(caller: Caller): Promise<ApiResult<null>>;
  changePassword(input: ChangePasswordInput, caller: Caller): Promise<ApiResult<PasswordChanged>>;
  deleteAccount(input: DeleteAccountInput, caller: Caller): Promise<ApiResult<null>>;
}

export function createAccountsApi(client: ApiClient): AccountsApi {
  /**
   * Sends a JSON body. Never retried: a sign-up or a recovery that landed but lost its answer
   * would be refused the second time (email taken, code used), which says the wrong thing.
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

  return {
    signUp: async (input, visitor) =>
      json<AccountCreated>(await post('/accounts', input, visitor), 201),

    signIn: async (input, visitor) =>
      json<SessionCreated>(await post('/sessions', input, visitor), 201),

    recover: async (input, visitor) =>
      json<Recovered>(await post('/account/recovery', input, visitor), 201),

    async account(caller) {
      const response = await client.request({
        method: 'GET',
        path: '/account',
        headers: { accept: 'application/json', ...bearer(caller.token) },
        requestId: caller.requestId,
        idempotent: true,
      });
      return json<Account>(response, 200);
    },

    async signOut(caller) {
      const response = await client.request({
        method: 'DELETE',
        path: '/sessions/current',
        headers: bearer(caller.token),
        requestId: caller.requestId,
        idempotent: true,
      });
      return noContent(response);
    },

    changePassword: async (input, caller) =>
      json<PasswordChanged>(await post('/account/password', input, caller), 201),

    async deleteAccount(input, caller) {
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
  };
}
