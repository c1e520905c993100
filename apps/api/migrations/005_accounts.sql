-- Accounts: every goal belongs to one. Only hashes of secrets are stored (Argon2id for
-- passwords, SHA-256 for session tokens and recovery codes, which are random and long).
CREATE TABLE accounts (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- As typed (trimmed); compared case-insensitively through the unique index below.
  email VARCHAR(254) NOT NULL,
  password_hash TEXT NOT NULL,
  recovery_code_hash BYTEA NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX accounts_email_key ON accounts (lower(email));

-- A session ends at expires_at, or earlier once unused for the idle timeout.
CREATE TABLE sessions (
  token_hash BYTEA PRIMARY KEY,
  account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  last_used_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_account_id_idx ON sessions (account_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

-- WebAuthn credentials (passkeys) an account can sign in with.
CREATE TABLE passkeys (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  credential_id TEXT NOT NULL UNIQUE,
  public_key BYTEA NOT NULL,
  counter BIGINT NOT NULL DEFAULT 0,
  transports TEXT[] NOT NULL DEFAULT '{}',
  name VARCHAR(100) NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  last_used_at TIMESTAMPTZ
);
CREATE INDEX passkeys_account_id_idx ON passkeys (account_id);

-- A WebAuthn challenge, usable once: for adding a passkey (account_id set) or signing in.
CREATE TABLE webauthn_challenges (
  challenge TEXT PRIMARY KEY,
  account_id BIGINT REFERENCES accounts (id) ON DELETE CASCADE,
  expires_at TIMESTAMPTZ NOT NULL
);

-- Attempts counted by the abuse limits, shared by every API instance. subject is a SHA-256
-- of the lower-cased email, or the client address: no email is kept here in clear.
CREATE TABLE auth_attempts (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind VARCHAR(32) NOT NULL,
  subject VARCHAR(128) NOT NULL,
  at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX auth_attempts_kind_subject_at_idx ON auth_attempts (kind, subject, at);
CREATE INDEX auth_attempts_at_idx ON auth_attempts (at);

-- Goals get an owner. Nullable and NOT VALID, so this takes no time on a large table: goals
-- from before accounts have none until the first account to sign up adopts them, and 006
-- validates the key without blocking writes.
ALTER TABLE goals ADD COLUMN account_id BIGINT;
ALTER TABLE goals
  ADD CONSTRAINT goals_account_id_fkey FOREIGN KEY (account_id)
  REFERENCES accounts (id) ON DELETE CASCADE NOT VALID;

-- Ids become bigint without rewriting the table under a lock: a bigint copy of the id, kept
-- current by a trigger, is filled in batches by 006 and swapped in by 007.
ALTER SEQUENCE goals_id_seq AS BIGINT;
ALTER TABLE goals ADD COLUMN id_big BIGINT;
CREATE FUNCTION goals_copy_id_to_id_big() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.id_big := NEW.id;
  RETURN NEW;
END
$$;
CREATE TRIGGER goals_copy_id_to_id_big BEFORE INSERT OR UPDATE ON goals
  FOR EACH ROW EXECUTE FUNCTION goals_copy_id_to_id_big();

-- Keys are a day's retry tokens and now belong to an account; the ones from before accounts
-- could only be replayed by a caller without a token, which is now refused anyway.
TRUNCATE idempotency_keys;
ALTER TABLE idempotency_keys
  DROP CONSTRAINT idempotency_keys_pkey,
  ADD COLUMN account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  ADD PRIMARY KEY (account_id, key);
