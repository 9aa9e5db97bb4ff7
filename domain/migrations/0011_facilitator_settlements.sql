-- Facilitator idempotency state: one row per payment id, claimed before anything is submitted,
-- so the same payment settled twice (concurrently, or after a restart) is charged once and
-- answered with the first result. Version 7001 keeps clear of other crates' migrations, which
-- share the _sqlx_migrations table.

CREATE TABLE IF NOT EXISTS facilitator_settlements (
    payment_id    BYTEA PRIMARY KEY CHECK (octet_length(payment_id) = 32),
    -- 'charge' (exact/upto, alone or batched) or 'authorize' (escrow)
    kind          TEXT NOT NULL CHECK (kind IN ('charge', 'authorize')),
    payer         BYTEA NOT NULL CHECK (octet_length(payer) = 20),
    -- 'pending' while this facilitator works on it, 'settled' once mined
    status        TEXT NOT NULL CHECK (status IN ('pending', 'settled')),
    amount        NUMERIC(78,0) NOT NULL,
    evidence_hash BYTEA NOT NULL CHECK (octet_length(evidence_hash) = 32),
    tx_hash       BYTEA CHECK (tx_hash IS NULL OR octet_length(tx_hash) = 32),
    batch_id      NUMERIC(78,0),
    network       TEXT NOT NULL,
    -- process that claimed the row; a pending row of another (dead) process is recovered
    owner         TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS facilitator_settlements_pending ON facilitator_settlements (status) WHERE status = 'pending';

-- Escrow captures, keyed by (escrow, evidence hash): a capture retried with the same evidence
-- is answered with the first result instead of capturing twice.
CREATE TABLE IF NOT EXISTS facilitator_captures (
    payment_id    BYTEA NOT NULL CHECK (octet_length(payment_id) = 32),
    evidence_hash BYTEA NOT NULL CHECK (octet_length(evidence_hash) = 32),
    amount        NUMERIC(78,0) NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'settled')),
    tx_hash       BYTEA CHECK (tx_hash IS NULL OR octet_length(tx_hash) = 32),
    owner         TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (payment_id, evidence_hash)
);
