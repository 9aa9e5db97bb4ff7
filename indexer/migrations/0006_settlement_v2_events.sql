-- Issue 10: the settlement contract's new events. Columns added here are NULL on rows indexed from
-- a contract that did not emit them (databases that applied 0001-0005 keep their history).

-- PaymentCharged: the Permit2 nonce the payment consumed.
ALTER TABLE charges ADD COLUMN nonce numeric(78,0);

-- PaymentAuthorized now emits the whole escrow reference (permit + signed terms) and the protocol
-- fee locked for the escrow's captures:
--   nonce, deadline: the Permit2 permit's; valid_after: unix seconds (uint48);
--   protocol_fee_bps: the fee its captures pay, whatever later fee changes say.
ALTER TABLE authorizations
    ADD COLUMN nonce numeric(78,0),
    ADD COLUMN deadline numeric(78,0),
    ADD COLUMN valid_after int8,
    ADD COLUMN protocol_fee_bps int4;

-- PaymentCaptured: the Permit2 nonce the escrow was authorized with.
ALTER TABLE captures ADD COLUMN nonce numeric(78,0);

-- PaymentVoided / PaymentReclaimed: both name the escrow's payee and facilitator, and a reclaim
-- who sent it (anyone may, after the authorization expiry).
ALTER TABLE voids ADD COLUMN payee bytea, ADD COLUMN facilitator bytea;
ALTER TABLE reclaims
    ADD COLUMN reclaimed_by bytea,
    ADD COLUMN payee bytea,
    ADD COLUMN facilitator bytea;

-- BatchSettled: items [attempted_count, item_count) were not tried (the transaction ran short of
-- gas; their nonces are untouched and they can be resubmitted).
ALTER TABLE batches ADD COLUMN attempted_count numeric(78,0);

-- SpendingPolicySet: the delay a later loosening waits, the policy nonce consumed, whether it came
-- from a signature (setSpendingPolicyBySig) and when the policy applies (unix seconds: now for a
-- tightening, later for a loosening).
ALTER TABLE spending_policies
    ADD COLUMN loosen_delay_seconds int8,
    ADD COLUMN nonce numeric(78,0),
    ADD COLUMN by_signature boolean,
    ADD COLUMN effective_at int8;

-- ProtocolFeeChanged(oldBps, newBps, effectiveAt) replaces ProtocolFeeSet(bps, treasury): `bps` is
-- the new fee, old_bps the fee in force, effective_at (unix seconds) when the new one applies.
-- The treasury moved to its own event (treasury_changes): NULL on ProtocolFeeChanged rows.
ALTER TABLE protocol_fee_changes
    ADD COLUMN old_bps int4,
    ADD COLUMN effective_at int8,
    ALTER COLUMN treasury DROP NOT NULL;

-- TreasuryChanged: the owner changed the treasury allowed to withdraw accrued protocol fees.
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

-- ProtocolFeesWithdrawn: protocol fees accrue in the settlement contract (payments no longer
-- transfer them); the treasury withdrew `amount` of `token` to `to_address`.
CREATE TABLE protocol_fee_withdrawals (
    chain_id      int8        NOT NULL,
    block_number  int8        NOT NULL,
    block_hash    bytea       NOT NULL,
    block_time    timestamptz NOT NULL,
    tx_hash       bytea       NOT NULL,
    log_index     int4        NOT NULL,
    token         bytea       NOT NULL,
    treasury      bytea       NOT NULL,
    to_address    bytea       NOT NULL,
    amount        numeric(78,0) NOT NULL,
    PRIMARY KEY (chain_id, block_number, log_index)
);
CREATE INDEX protocol_fee_withdrawals_token ON protocol_fee_withdrawals (chain_id, token);

-- AuthorizationCharged: a standard EIP-3009 authorization executed through the settlement
-- contract, with the evidence of the work. The funds went straight from payer to payee inside the
-- token (no fees). payment_id = keccak256(abi.encode(chainid, settlement, token, payer,
-- authorization_nonce)); valid_after/valid_before are the authorization's (unix seconds, uint256
-- on chain: numeric). The token's own AuthorizationUsed of the same transaction is stored in
-- eip3009_authorizations without a payment_id (this row is the payment).
CREATE TABLE eip3009_charges (
    chain_id             int8        NOT NULL,
    block_number         int8        NOT NULL,
    block_hash           bytea       NOT NULL,
    block_time           timestamptz NOT NULL,
    tx_hash              bytea       NOT NULL,
    log_index            int4        NOT NULL,
    payment_id           bytea       NOT NULL,
    payer                bytea       NOT NULL,
    payee                bytea       NOT NULL,
    token                bytea       NOT NULL,
    facilitator          bytea       NOT NULL,
    amount               numeric(78,0) NOT NULL,
    authorization_nonce  bytea       NOT NULL,
    valid_after          numeric(78,0) NOT NULL,
    valid_before         numeric(78,0) NOT NULL,
    evidence_hash        bytea       NOT NULL,
    PRIMARY KEY (chain_id, block_number, log_index)
);
CREATE INDEX eip3009_charges_payment_id ON eip3009_charges (chain_id, payment_id);

-- A payment from AuthorizationCharged has source 'settlement_eip3009': the contract records its
-- facilitator and evidence (unlike 'eip3009', known only from the token's events).
ALTER TABLE payments DROP CONSTRAINT payments_source_check;
ALTER TABLE payments ADD CONSTRAINT payments_source_check
    CHECK (source IN ('settlement', 'eip3009', 'settlement_eip3009', 'permit2_proxy'));

-- Folds the AuthorizationCharged payments of blocks [p_from, p_to] into `payments`: an exact
-- payment (mode 0) settled at once, no fees or splits, batch 0, request_hash 32 zero bytes (the
-- authorization signs none), the event's facilitator and evidence hash. Re-running it for the same
-- range changes nothing; a reorg deletes the rows and their payments together.
CREATE FUNCTION fold_eip3009_charges(p_chain_id int8, p_from int8, p_to int8) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO payments AS p (
        chain_id, payment_id, payer, payee, token, facilitator, mode, max_amount,
        authorized_amount, captured_amount, refunded_amount, voided_amount, reclaimed_amount,
        settled_amount, facilitator_fee, protocol_fee, split_amount, request_hash, evidence_hash,
        batch_id, status, closed, first_block_number, first_block_time, first_tx_hash,
        updated_block_number, updated_block_time, source, facilitator_listed)
    SELECT e.chain_id, e.payment_id, e.payer, e.payee, e.token, e.facilitator, 0, e.amount,
           0, 0, 0, 0, 0,
           e.amount, 0, 0, 0, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea,
           e.evidence_hash,
           0, 'charged', false, e.block_number, e.block_time, e.tx_hash, e.block_number, e.block_time,
           'settlement_eip3009', NULL
    FROM eip3009_charges e
    WHERE e.chain_id = p_chain_id AND e.block_number BETWEEN p_from AND p_to
    ON CONFLICT (chain_id, payment_id) DO NOTHING;
$$;
