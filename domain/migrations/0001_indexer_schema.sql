-- x402-settle indexer schema.
--
-- Conventions (every table):
--   * hashes, addresses and byte strings are bytea (20 bytes for addresses, 32 for hashes);
--   * token amounts and other uint256 values are numeric(78,0), exact and never rounded;
--   * block numbers are int8, log indexes int4, unix-second timestamps from the contracts int8;
--   * block_time is the block's timestamp as timestamptz (UTC);
--   * every event row carries chain_id, block_number, block_hash, block_time, tx_hash, log_index
--     and is unique on (chain_id, block_number, log_index), so replaying a range inserts nothing
--     twice (the indexer writes with ON CONFLICT DO NOTHING). Rows above a reorg's common
--     ancestor are deleted, so block_number identifies the canonical block.
-- Event tables keep the full history; `payments` folds the escrow lifecycle into current state.

-- Blocks the indexer has seen: every block holding an indexed (or skipped) log, the checkpoint
-- block, and every block of the recent reorg window (the last `reorg_window` blocks below the
-- checkpoint), whose hashes are compared with the chain to detect reorgs.
CREATE TABLE blocks (
    chain_id     int8        NOT NULL,
    number       int8        NOT NULL,
    hash         bytea       NOT NULL,
    parent_hash  bytea       NOT NULL,
    block_time   timestamptz NOT NULL,
    -- Logs indexed from this block (event rows plus skipped logs); 0 for window-only blocks,
    -- which are pruned once they fall out of the reorg window.
    log_count    int4        NOT NULL DEFAULT 0,
    PRIMARY KEY (chain_id, number)
);

-- How far the indexer has committed, per chain: everything up to and including block_number
-- (whose hash is block_hash) is in the database, in the same transaction as this row.
-- The deployment columns guard against pointing an existing database at another deployment.
CREATE TABLE checkpoint (
    chain_id            int8        PRIMARY KEY,
    block_number        int8        NOT NULL,
    block_hash          bytea       NOT NULL,
    settlement_address  bytea       NOT NULL,
    registry_address    bytea       NOT NULL,
    start_block         int8        NOT NULL,
    updated_at          timestamptz NOT NULL DEFAULT now()
);

-- PaymentCharged: an Exact (mode 0) or Upto (mode 1) payment settled, alone or in a batch.
-- amount is gross; the payee received amount - facilitator_fee - protocol_fee - split payouts.
CREATE TABLE charges (
    chain_id         int8        NOT NULL,
    block_number     int8        NOT NULL,
    block_hash       bytea       NOT NULL,
    block_time       timestamptz NOT NULL,
    tx_hash          bytea       NOT NULL,
    log_index        int4        NOT NULL,
    payment_id       bytea       NOT NULL,
    payer            bytea       NOT NULL,
    payee            bytea       NOT NULL,
    token            bytea       NOT NULL,
    facilitator      bytea       NOT NULL,
    mode             int2        NOT NULL,
    amount           numeric(78,0) NOT NULL,
    max_amount       numeric(78,0) NOT NULL,
    facilitator_fee  numeric(78,0) NOT NULL,
    protocol_fee     numeric(78,0) NOT NULL,
    request_hash     bytea       NOT NULL,
    evidence_hash    bytea       NOT NULL,
    -- 0 when settled alone, else the batch (see `batches`).
    batch_id         numeric(78,0) NOT NULL,
    PRIMARY KEY (chain_id, block_number, log_index)
);
CREATE INDEX charges_payment_id ON charges (chain_id, payment_id);

-- PaymentAuthorized: an escrow (mode 2) was funded with `amount` (the signed maximum).
CREATE TABLE authorizations (
    chain_id                 int8        NOT NULL,
    block_number             int8        NOT NULL,
    block_hash               bytea       NOT NULL,
    block_time               timestamptz NOT NULL,
    tx_hash                  bytea       NOT NULL,
    log_index                int4        NOT NULL,
    payment_id               bytea       NOT NULL,
    payer                    bytea       NOT NULL,
    payee                    bytea       NOT NULL,
    token                    bytea       NOT NULL,
    facilitator              bytea       NOT NULL,
    amount                   numeric(78,0) NOT NULL,
    max_facilitator_fee_bps  int4        NOT NULL,
    -- Unix seconds (uint48 on chain).
    authorization_expiry     int8        NOT NULL,
    refund_expiry            int8        NOT NULL,
    request_hash             bytea       NOT NULL,
    PRIMARY KEY (chain_id, block_number, log_index)
);
CREATE INDEX authorizations_payment_id ON authorizations (chain_id, payment_id);

-- PaymentCaptured: part of an escrow captured for the payee, with the evidence of that work.
CREATE TABLE captures (
    chain_id         int8        NOT NULL,
    block_number     int8        NOT NULL,
    block_hash       bytea       NOT NULL,
    block_time       timestamptz NOT NULL,
    tx_hash          bytea       NOT NULL,
    log_index        int4        NOT NULL,
    payment_id       bytea       NOT NULL,
    payer            bytea       NOT NULL,
    payee            bytea       NOT NULL,
    token            bytea       NOT NULL,
    facilitator      bytea       NOT NULL,
    amount           numeric(78,0) NOT NULL,
    facilitator_fee  numeric(78,0) NOT NULL,
    protocol_fee     numeric(78,0) NOT NULL,
    evidence_hash    bytea       NOT NULL,
    PRIMARY KEY (chain_id, block_number, log_index)
);
CREATE INDEX captures_payment_id ON captures (chain_id, payment_id);

-- PaymentVoided: the payee or facilitator (`voided_by`) released the uncaptured rest to the payer.
CREATE TABLE voids (
    chain_id      int8        NOT NULL,
    block_number  int8        NOT NULL,
    block_hash    bytea       NOT NULL,
    block_time    timestamptz NOT NULL,
    tx_hash       bytea       NOT NULL,
    log_index     int4        NOT NULL,
    payment_id    bytea       NOT NULL,
    payer         bytea       NOT NULL,
    voided_by     bytea       NOT NULL,
    token         bytea       NOT NULL,
    amount        numeric(78,0) NOT NULL,
    PRIMARY KEY (chain_id, block_number, log_index)
);
CREATE INDEX voids_payment_id ON voids (chain_id, payment_id);

-- PaymentReclaimed: the payer took back the uncaptured rest after the authorization expiry.
CREATE TABLE reclaims (
    chain_id      int8        NOT NULL,
    block_number  int8        NOT NULL,
    block_hash    bytea       NOT NULL,
    block_time    timestamptz NOT NULL,
    tx_hash       bytea       NOT NULL,
    log_index     int4        NOT NULL,
    payment_id    bytea       NOT NULL,
    payer         bytea       NOT NULL,
    token         bytea       NOT NULL,
    amount        numeric(78,0) NOT NULL,
    PRIMARY KEY (chain_id, block_number, log_index)
);
CREATE INDEX reclaims_payment_id ON reclaims (chain_id, payment_id);

-- PaymentRefunded: the payee returned captured funds to the payer.
CREATE TABLE refunds (
    chain_id      int8        NOT NULL,
    block_number  int8        NOT NULL,
    block_hash    bytea       NOT NULL,
    block_time    timestamptz NOT NULL,
    tx_hash       bytea       NOT NULL,
    log_index     int4        NOT NULL,
    payment_id    bytea       NOT NULL,
    payer         bytea       NOT NULL,
    payee         bytea       NOT NULL,
    token         bytea       NOT NULL,
    amount        numeric(78,0) NOT NULL,
    PRIMARY KEY (chain_id, block_number, log_index)
);
CREATE INDEX refunds_payment_id ON refunds (chain_id, payment_id);

-- SplitPaid: part of a settled amount went to one of the payee's split recipients.
CREATE TABLE split_payments (
    chain_id      int8        NOT NULL,
    block_number  int8        NOT NULL,
    block_hash    bytea       NOT NULL,
    block_time    timestamptz NOT NULL,
    tx_hash       bytea       NOT NULL,
    log_index     int4        NOT NULL,
    payment_id    bytea       NOT NULL,
    payee         bytea       NOT NULL,
    recipient     bytea       NOT NULL,
    amount        numeric(78,0) NOT NULL,
    PRIMARY KEY (chain_id, block_number, log_index)
);
CREATE INDEX split_payments_payment_id ON split_payments (chain_id, payment_id);

-- BatchItemFailed: a batch item was skipped. `reason` is the raw revert data; error_name and
-- error_detail are its decoding against the settlement, Permit2 and standard errors
-- (NULL when the selector is unknown).
CREATE TABLE batch_failures (
    chain_id      int8        NOT NULL,
    block_number  int8        NOT NULL,
    block_hash    bytea       NOT NULL,
    block_time    timestamptz NOT NULL,
    tx_hash       bytea       NOT NULL,
    log_index     int4        NOT NULL,
    batch_id      numeric(78,0) NOT NULL,
    item_index    numeric(78,0) NOT NULL,
    payment_id    bytea       NOT NULL,
    payer         bytea       NOT NULL,
    reason        bytea       NOT NULL,
    error_name    text,
    error_detail  text,
    PRIMARY KEY (chain_id, block_number, log_index)
);
CREATE INDEX batch_failures_batch_id ON batch_failures (chain_id, batch_id);

-- BatchSettled: a batch finished; evidence_root is the Merkle root over its settled items'
-- evidence leaves (all zero when not requested).
CREATE TABLE batches (
    chain_id       int8        NOT NULL,
    block_number   int8        NOT NULL,
    block_hash     bytea       NOT NULL,
    block_time     timestamptz NOT NULL,
    tx_hash        bytea       NOT NULL,
    log_index      int4        NOT NULL,
    batch_id       numeric(78,0) NOT NULL,
    facilitator    bytea       NOT NULL,
    item_count     numeric(78,0) NOT NULL,
    settled_count  numeric(78,0) NOT NULL,
    evidence_root  bytea       NOT NULL,
    PRIMARY KEY (chain_id, block_number, log_index)
);
CREATE INDEX batches_batch_id ON batches (chain_id, batch_id);

-- SpendingPolicySet: a payer set (or, all zero, removed) its budget for a token.
CREATE TABLE spending_policies (
    chain_id         int8        NOT NULL,
    block_number     int8        NOT NULL,
    block_hash       bytea       NOT NULL,
    block_time       timestamptz NOT NULL,
    tx_hash          bytea       NOT NULL,
    log_index        int4        NOT NULL,
    payer            bytea       NOT NULL,
    token            bytea       NOT NULL,
    max_per_payment  numeric(78,0) NOT NULL,
    max_per_period   numeric(78,0) NOT NULL,
    period_seconds   int8        NOT NULL,
    PRIMARY KEY (chain_id, block_number, log_index)
);
CREATE INDEX spending_policies_payer ON spending_policies (chain_id, payer, token);

-- SplitSet: a payee registered (or, empty arrays, removed) its revenue split.
-- recipients[i] receives bps[i] basis points of each net payment.
CREATE TABLE splits (
    chain_id      int8        NOT NULL,
    block_number  int8        NOT NULL,
    block_hash    bytea       NOT NULL,
    block_time    timestamptz NOT NULL,
    tx_hash       bytea       NOT NULL,
    log_index     int4        NOT NULL,
    payee         bytea       NOT NULL,
    recipients    bytea[]     NOT NULL,
    bps           int4[]      NOT NULL,
    PRIMARY KEY (chain_id, block_number, log_index)
);
CREATE INDEX splits_payee ON splits (chain_id, payee);

-- ProtocolFeeSet: the settlement owner changed the protocol fee and its treasury.
CREATE TABLE protocol_fee_changes (
    chain_id      int8        NOT NULL,
    block_number  int8        NOT NULL,
    block_hash    bytea       NOT NULL,
    block_time    timestamptz NOT NULL,
    tx_hash       bytea       NOT NULL,
    log_index     int4        NOT NULL,
    bps           int4        NOT NULL,
    treasury      bytea       NOT NULL,
    PRIMARY KEY (chain_id, block_number, log_index)
);

-- WalletLabeled / WalletUnlabeled from the ecosystem registry, as history: `labeled` is true when
-- the role was added, false when removed. A wallet holds a role at block B when its latest row
-- for that role at or before B has labeled = true. role_name is the IEcosystemRegistry.Role name.
CREATE TABLE registry_labels (
    chain_id      int8        NOT NULL,
    block_number  int8        NOT NULL,
    block_hash    bytea       NOT NULL,
    block_time    timestamptz NOT NULL,
    tx_hash       bytea       NOT NULL,
    log_index     int4        NOT NULL,
    wallet        bytea       NOT NULL,
    role          int2        NOT NULL,
    role_name     text        NOT NULL,
    labeled       boolean     NOT NULL,
    note          text        NOT NULL,
    PRIMARY KEY (chain_id, block_number, log_index)
);
CREATE INDEX registry_labels_wallet ON registry_labels (chain_id, wallet);

-- PayeeWalletDeclared: a payee declared (declared = true) or withdrew (false) that it controls
-- `wallet`. History, like registry_labels.
CREATE TABLE declared_wallets (
    chain_id      int8        NOT NULL,
    block_number  int8        NOT NULL,
    block_hash    bytea       NOT NULL,
    block_time    timestamptz NOT NULL,
    tx_hash       bytea       NOT NULL,
    log_index     int4        NOT NULL,
    payee         bytea       NOT NULL,
    wallet        bytea       NOT NULL,
    declared      boolean     NOT NULL,
    note          text        NOT NULL,
    PRIMARY KEY (chain_id, block_number, log_index)
);
CREATE INDEX declared_wallets_payee ON declared_wallets (chain_id, payee);
CREATE INDEX declared_wallets_wallet ON declared_wallets (chain_id, wallet);

-- Every ERC-20 Transfer of the configured payment tokens, whoever the parties are (funding
-- lineage needs transfers that never touch our contracts). Mints have from_address = 0x00..00,
-- burns to_address = 0x00..00.
CREATE TABLE token_transfers (
    chain_id      int8        NOT NULL,
    block_number  int8        NOT NULL,
    block_hash    bytea       NOT NULL,
    block_time    timestamptz NOT NULL,
    tx_hash       bytea       NOT NULL,
    log_index     int4        NOT NULL,
    token         bytea       NOT NULL,
    from_address  bytea       NOT NULL,
    to_address    bytea       NOT NULL,
    amount        numeric(78,0) NOT NULL,
    PRIMARY KEY (chain_id, block_number, log_index)
);
CREATE INDEX token_transfers_from ON token_transfers (chain_id, from_address);
CREATE INDEX token_transfers_to ON token_transfers (chain_id, to_address);

-- Logs fetched from a watched address that could not be turned into a row: an unknown event,
-- an ABI-mismatched (malformed) log, or a Transfer that is not ERC-20 shaped. Kept with the raw
-- log and the reason; indexing continues past them.
CREATE TABLE skipped_logs (
    chain_id      int8        NOT NULL,
    block_number  int8        NOT NULL,
    block_hash    bytea       NOT NULL,
    block_time    timestamptz NOT NULL,
    tx_hash       bytea       NOT NULL,
    log_index     int4        NOT NULL,
    address       bytea       NOT NULL,
    topics        bytea[]     NOT NULL,
    data          bytea       NOT NULL,
    reason        text        NOT NULL,
    PRIMARY KEY (chain_id, block_number, log_index)
);

-- Current state of every payment, folded from the event tables above (which keep the history).
-- Maintained by recompute_payments() in the same transaction as the events, and recomputed for
-- the affected payments when a reorg deletes events.
--   mode: 0 Exact, 1 Upto (from PaymentCharged), 2 Escrow (from PaymentAuthorized).
--   max_amount: the signed amount (Exact) or maximum (Upto, Escrow).
--   settled_amount: gross amount settled to the payee side: the charge amount, or the sum of
--     captures; net_settled_amount subtracts refunds.
--   status: the kind of the latest lifecycle event: charged | authorized | captured | voided |
--     reclaimed | refunded. closed is true once voided or reclaimed (nothing left in escrow).
CREATE TABLE payments (
    chain_id                int8          NOT NULL,
    payment_id              bytea         NOT NULL,
    payer                   bytea         NOT NULL,
    payee                   bytea         NOT NULL,
    token                   bytea         NOT NULL,
    facilitator             bytea         NOT NULL,
    mode                    int2          NOT NULL,
    max_amount              numeric(78,0) NOT NULL,
    authorized_amount       numeric(78,0) NOT NULL,
    captured_amount         numeric(78,0) NOT NULL,
    refunded_amount         numeric(78,0) NOT NULL,
    voided_amount           numeric(78,0) NOT NULL,
    reclaimed_amount        numeric(78,0) NOT NULL,
    settled_amount          numeric(78,0) NOT NULL,
    net_settled_amount      numeric(78,0) GENERATED ALWAYS AS (settled_amount - refunded_amount) STORED,
    facilitator_fee         numeric(78,0) NOT NULL,
    protocol_fee            numeric(78,0) NOT NULL,
    split_amount            numeric(78,0) NOT NULL,
    request_hash            bytea         NOT NULL,
    -- Evidence hash of the charge or of the latest capture (NULL before any capture).
    evidence_hash           bytea,
    -- Batch of the charge (0 = settled alone); NULL for escrows.
    batch_id                numeric(78,0),
    status                  text          NOT NULL,
    closed                  boolean       NOT NULL,
    first_block_number      int8          NOT NULL,
    first_block_time        timestamptz   NOT NULL,
    first_tx_hash           bytea         NOT NULL,
    updated_block_number    int8          NOT NULL,
    updated_block_time      timestamptz   NOT NULL,
    PRIMARY KEY (chain_id, payment_id)
);
CREATE INDEX payments_payer ON payments (chain_id, payer);
CREATE INDEX payments_payee ON payments (chain_id, payee);
CREATE INDEX payments_first_block_time ON payments (chain_id, first_block_time);

-- Recomputes `payments` rows of the given payment ids from the event history: upserts every id
-- that still has a charge or an authorization, deletes the others (their events were rolled back).
CREATE FUNCTION recompute_payments(p_chain_id int8, p_ids bytea[]) RETURNS void
LANGUAGE sql AS $$
    DELETE FROM payments p
    WHERE p.chain_id = p_chain_id
      AND p.payment_id = ANY (p_ids)
      AND NOT EXISTS (SELECT 1 FROM charges c WHERE c.chain_id = p_chain_id AND c.payment_id = p.payment_id)
      AND NOT EXISTS (SELECT 1 FROM authorizations a WHERE a.chain_id = p_chain_id AND a.payment_id = p.payment_id);

    INSERT INTO payments AS p (
        chain_id, payment_id, payer, payee, token, facilitator, mode, max_amount,
        authorized_amount, captured_amount, refunded_amount, voided_amount, reclaimed_amount,
        settled_amount, facilitator_fee, protocol_fee, split_amount, request_hash, evidence_hash,
        batch_id, status, closed, first_block_number, first_block_time, first_tx_hash,
        updated_block_number, updated_block_time)
    SELECT p_chain_id, ids.id, o.payer, o.payee, o.token, o.facilitator, o.mode, o.max_amount,
           o.authorized, COALESCE(cap.total, 0), COALESCE(ref.total, 0), COALESCE(vo.total, 0),
           COALESCE(rc.total, 0),
           CASE WHEN o.mode = 2 THEN COALESCE(cap.total, 0) ELSE o.charged END,
           o.facilitator_fee + COALESCE(cap.facilitator_fee, 0),
           o.protocol_fee + COALESCE(cap.protocol_fee, 0),
           COALESCE(sp.total, 0),
           o.request_hash,
           CASE WHEN o.mode = 2 THEN cap.last_evidence ELSE o.evidence_hash END,
           o.batch_id,
           last_ev.kind,
           (vo.total IS NOT NULL OR rc.total IS NOT NULL),
           o.block_number, o.block_time, o.tx_hash,
           last_ev.block_number, last_ev.block_time
    FROM (SELECT DISTINCT unnest(p_ids) AS id) ids
    -- The origin event: the charge, or the authorization of an escrow (the first if ever several).
    CROSS JOIN LATERAL (
        SELECT * FROM (
            SELECT c.payer, c.payee, c.token, c.facilitator, c.mode, c.max_amount,
                   0::numeric AS authorized, c.amount AS charged, c.facilitator_fee, c.protocol_fee,
                   c.request_hash, c.evidence_hash, c.batch_id,
                   c.block_number, c.log_index, c.block_time, c.tx_hash
            FROM charges c WHERE c.chain_id = p_chain_id AND c.payment_id = ids.id
            UNION ALL
            SELECT a.payer, a.payee, a.token, a.facilitator, 2::int2, a.amount,
                   a.amount, 0::numeric, 0::numeric, 0::numeric,
                   a.request_hash, NULL::bytea, NULL::numeric,
                   a.block_number, a.log_index, a.block_time, a.tx_hash
            FROM authorizations a WHERE a.chain_id = p_chain_id AND a.payment_id = ids.id
        ) origin ORDER BY block_number, log_index LIMIT 1
    ) o
    LEFT JOIN LATERAL (
        SELECT sum(amount) AS total, sum(facilitator_fee) AS facilitator_fee,
               sum(protocol_fee) AS protocol_fee,
               (array_agg(evidence_hash ORDER BY block_number DESC, log_index DESC))[1] AS last_evidence
        FROM captures WHERE chain_id = p_chain_id AND payment_id = ids.id
    ) cap ON cap.total IS NOT NULL
    LEFT JOIN LATERAL (
        SELECT sum(amount) AS total FROM refunds WHERE chain_id = p_chain_id AND payment_id = ids.id
    ) ref ON ref.total IS NOT NULL
    LEFT JOIN LATERAL (
        SELECT sum(amount) AS total FROM voids WHERE chain_id = p_chain_id AND payment_id = ids.id
    ) vo ON vo.total IS NOT NULL
    LEFT JOIN LATERAL (
        SELECT sum(amount) AS total FROM reclaims WHERE chain_id = p_chain_id AND payment_id = ids.id
    ) rc ON rc.total IS NOT NULL
    LEFT JOIN LATERAL (
        SELECT sum(amount) AS total FROM split_payments WHERE chain_id = p_chain_id AND payment_id = ids.id
    ) sp ON sp.total IS NOT NULL
    -- The latest lifecycle event decides the status.
    CROSS JOIN LATERAL (
        SELECT kind, block_number, block_time FROM (
            SELECT 'charged' AS kind, block_number, log_index, block_time FROM charges
                WHERE chain_id = p_chain_id AND payment_id = ids.id
            UNION ALL SELECT 'authorized', block_number, log_index, block_time FROM authorizations
                WHERE chain_id = p_chain_id AND payment_id = ids.id
            UNION ALL SELECT 'captured', block_number, log_index, block_time FROM captures
                WHERE chain_id = p_chain_id AND payment_id = ids.id
            UNION ALL SELECT 'voided', block_number, log_index, block_time FROM voids
                WHERE chain_id = p_chain_id AND payment_id = ids.id
            UNION ALL SELECT 'reclaimed', block_number, log_index, block_time FROM reclaims
                WHERE chain_id = p_chain_id AND payment_id = ids.id
            UNION ALL SELECT 'refunded', block_number, log_index, block_time FROM refunds
                WHERE chain_id = p_chain_id AND payment_id = ids.id
        ) ev ORDER BY block_number DESC, log_index DESC LIMIT 1
    ) last_ev
    ON CONFLICT (chain_id, payment_id) DO UPDATE SET
        payer = EXCLUDED.payer, payee = EXCLUDED.payee, token = EXCLUDED.token,
        facilitator = EXCLUDED.facilitator, mode = EXCLUDED.mode, max_amount = EXCLUDED.max_amount,
        authorized_amount = EXCLUDED.authorized_amount, captured_amount = EXCLUDED.captured_amount,
        refunded_amount = EXCLUDED.refunded_amount, voided_amount = EXCLUDED.voided_amount,
        reclaimed_amount = EXCLUDED.reclaimed_amount, settled_amount = EXCLUDED.settled_amount,
        facilitator_fee = EXCLUDED.facilitator_fee, protocol_fee = EXCLUDED.protocol_fee,
        split_amount = EXCLUDED.split_amount, request_hash = EXCLUDED.request_hash,
        evidence_hash = EXCLUDED.evidence_hash, batch_id = EXCLUDED.batch_id,
        status = EXCLUDED.status, closed = EXCLUDED.closed,
        first_block_number = EXCLUDED.first_block_number, first_block_time = EXCLUDED.first_block_time,
        first_tx_hash = EXCLUDED.first_tx_hash, updated_block_number = EXCLUDED.updated_block_number,
        updated_block_time = EXCLUDED.updated_block_time;
$$;
