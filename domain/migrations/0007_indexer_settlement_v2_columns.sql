-- Issue 10, the rest of the new events' fields (0006 added the new tables): nonces, the escrow
-- reference, the parties of voids and reclaims, attempted batch items, delayed policies. Columns
-- added here are NULL on rows indexed from a contract that did not emit them.

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

-- A payment from AuthorizationCharged (table authorization_charges) has its own source,
-- 'settlement_eip3009': an EIP-3009 authorization executed through the settlement contract, which
-- records its facilitator and evidence (unlike 'eip3009', known only from the token's events, and
-- unlike 'settlement', Permit2 payments bound by the payer's spending policy).
ALTER TABLE payments DROP CONSTRAINT payments_source_check;
ALTER TABLE payments ADD CONSTRAINT payments_source_check
    CHECK (source IN ('settlement', 'eip3009', 'settlement_eip3009', 'permit2_proxy'));

UPDATE payments p SET source = 'settlement_eip3009'
FROM authorization_charges c
WHERE c.chain_id = p.chain_id AND c.payment_id = p.payment_id;

-- Folds the AuthorizationCharged payments of blocks [p_from, p_to] into `payments`: an exact
-- payment (mode 0) settled at once, no fees or splits, batch 0, request_hash 32 zero bytes (the
-- authorization signs none), the event's facilitator and evidence hash. Re-running it for the same
-- range changes nothing; a rollback deletes the event rows and their payments together (the
-- indexer's rollback, by source).
CREATE OR REPLACE FUNCTION fold_authorization_charges(p_chain_id int8, p_from int8, p_to int8) RETURNS void
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
    FROM authorization_charges e
    WHERE e.chain_id = p_chain_id AND e.block_number BETWEEN p_from AND p_to
    ON CONFLICT (chain_id, payment_id) DO NOTHING;
$$;
