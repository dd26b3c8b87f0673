-- Team mode: the people who sign in, their sessions, and the throttle on failed sign-ins (store/users.rs,
-- store/sessions.rs). Secrets are stored hashed only: `password_hash` is an argon2id PHC string (NULL for people
-- who sign in through OpenID Connect or a proxy header), `token_hash` the SHA-256 (hex) of the API token (a random
-- 256-bit value: see store/users.rs for why not argon2), `sessions.id_hash` the SHA-256 of the session cookie.
-- Times are Unix milliseconds. Several servers on one database share all three tables.
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT,
    token_hash TEXT,
    disabled BIGINT NOT NULL DEFAULT 0,
    source TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE UNIQUE INDEX users_by_name ON users (name);
CREATE UNIQUE INDEX users_by_token ON users (token_hash);

CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    last_seen BIGINT NOT NULL
);

CREATE INDEX sessions_by_user ON sessions (user_id);

-- Failed sign-ins per (name as typed, client IP address): `failures` in a row, none more than 15 minutes after
-- the one before (`last_failure`); `locked_until` refuses further attempts until then.
CREATE TABLE sign_in_failures (
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    failures BIGINT NOT NULL,
    last_failure BIGINT NOT NULL,
    locked_until BIGINT NOT NULL,
    PRIMARY KEY (name, address)
);
