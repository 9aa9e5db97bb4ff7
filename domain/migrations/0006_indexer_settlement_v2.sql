-- The settlement contract after issue 10 (payer-bound witness, accrued and delayed protocol fees)
-- and its EIP-3009 entry point. Tables owned by the indexer, like 0001.

-- ProtocolFeeChanged(oldBps, newBps, effectiveAt) replaces ProtocolFeeSet(bps, treasury): `bps` is
-- the new fee, in force from `effective_at` (unix seconds; increases wait 7 days). The treasury is
-- no longer part of a fee change (see treasury_changes); old rows keep theirs.
ALTER TABLE protocol_fee_changes
    ADD COLUMN old_bps int4,
    ADD COLUMN effective_at int8,
    ALTER COLUMN treasury DROP NOT NULL;

-- TreasuryChanged(oldTreasury, newTreasury): who may withdraw the accrued protocol fees.
CREATE TABLE treasury_changes (
    chain_id      int8        NOT NULL,
    block_number  int8        NOT NULL,
    block_hash    bytea       NOT NULL,
    block_time    timestamptz NOT NULL,
    tx_hash       bytea       NOT NULL,
    log_index     int4        NOT NULL,
    old_treasury  bytea       NOT NULL,
    new_treasury  bytea       NOT NULL,
    PRIMARY KEY (chain_id, block_number, log_index)
);

-- ProtocolFeesWithdrawn(token, treasury, to, amount): accrued protocol fees leaving the contract.
CREATE TABLE protocol_fee_withdrawals (
    chain_id      int8          NOT NULL,
    block_number  int8          NOT NULL,
    block_hash    bytea         NOT NULL,
    block_time    timestamptz   NOT NULL,
    tx_hash       bytea         NOT NULL,
    log_index     int4          NOT NULL,
    token         bytea         NOT NULL,
    treasury      bytea         NOT NULL,
    to_address    bytea         NOT NULL,
    amount        numeric(78,0) NOT NULL,
    PRIMARY KEY (chain_id, block_number, log_index)
);

-- AuthorizationCharged: a standard x402 EIP-3009 payment (USDC transferWithAuthorization) that a
-- facilitator settled through X402Settlement.chargeWithAuthorization, with the evidence hash of
-- the work. The funds went straight from payer to payee; no fees.
CREATE TABLE authorization_charges (
    chain_id             int8          NOT NULL,
    block_number         int8          NOT NULL,
    block_hash           bytea         NOT NULL,
    block_time           timestamptz   NOT NULL,
    tx_hash              bytea         NOT NULL,
    log_index            int4          NOT NULL,
    payment_id           bytea         NOT NULL,
    payer                bytea         NOT NULL,
    payee                bytea         NOT NULL,
    token                bytea         NOT NULL,
    facilitator          bytea         NOT NULL,
    amount               numeric(78,0) NOT NULL,
    authorization_nonce  bytea         NOT NULL,
    valid_after          numeric(78,0) NOT NULL,
    valid_before         numeric(78,0) NOT NULL,
    evidence_hash        bytea         NOT NULL,
    PRIMARY KEY (chain_id, block_number, log_index)
);
CREATE INDEX authorization_charges_payment_id ON authorization_charges (chain_id, payment_id);

-- Folds the authorization charges of blocks [p_from, p_to] into `payments`: an exact payment
-- (mode 0) through the settlement contract (source 'settlement', the contract records the
-- facilitator), settled at once, with its evidence. A rollback deletes the event rows and
-- `recompute_payments` then drops the payment (it has no charge or authorization).
CREATE FUNCTION fold_authorization_charges(p_chain_id int8, p_from int8, p_to int8) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO payments AS p (
        chain_id, payment_id, payer, payee, token, facilitator, mode, max_amount,
        authorized_amount, captured_amount, refunded_amount, voided_amount, reclaimed_amount,
        settled_amount, facilitator_fee, protocol_fee, split_amount, request_hash, evidence_hash,
        batch_id, status, closed, first_block_number, first_block_time, first_tx_hash,
        updated_block_number, updated_block_time, source, facilitator_listed)
    SELECT c.chain_id, c.payment_id, c.payer, c.payee, c.token, c.facilitator, 0, c.amount,
           0, 0, 0, 0, 0,
           c.amount, 0, 0, 0, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea,
           c.evidence_hash,
           0, 'charged', false, c.block_number, c.block_time, c.tx_hash, c.block_number, c.block_time,
           'settlement', NULL
    FROM authorization_charges c
    WHERE c.chain_id = p_chain_id AND c.block_number BETWEEN p_from AND p_to
    ON CONFLICT (chain_id, payment_id) DO NOTHING;
$$;
