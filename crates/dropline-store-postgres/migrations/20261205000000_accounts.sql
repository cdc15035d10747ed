-- Dashboard accounts: users with their argon2id password hashes, and their sessions. Plain
-- rows (no documents): every field is a column.

-- A person who signs in. Emails are stored lower-cased (the app normalises them), so the
-- unique key is case-insensitive in effect. `store_id` is NULL only for operators.
CREATE TABLE users (
    id             UUID        NOT NULL,
    email          TEXT        NOT NULL,
    name           TEXT        NOT NULL,
    -- operator | seller | staff
    role           TEXT        NOT NULL,
    store_id       UUID,
    -- PHC string (argon2id); never shown.
    password_hash  TEXT        NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    disabled       BOOLEAN     NOT NULL DEFAULT FALSE,
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_store_id_fkey FOREIGN KEY (store_id) REFERENCES stores (id)
);
CREATE INDEX users_store_id_idx ON users (store_id, id);

-- A signed-in browser, by the SHA-256 (hex) of its token; the token itself is never stored.
CREATE TABLE sessions (
    token_hash    TEXT        NOT NULL,
    user_id       UUID        NOT NULL,
    csrf_token    TEXT        NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL,
    last_seen_at  TIMESTAMPTZ NOT NULL,
    CONSTRAINT sessions_pkey PRIMARY KEY (token_hash),
    CONSTRAINT sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);
