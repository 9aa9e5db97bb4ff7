-- Standard x402 payments: EIP-3009 `transferWithAuthorization` (Circle's FiatToken USDC) submitted
-- by a facilitator, most x402 volume on public chains, none of it through X402Settlement.

-- One row per EIP-3009 `AuthorizationUsed(authorizer, nonce)` log of a payment token, keyed by that
-- log, with the Transfer it authorized (the first Transfer of the token from the authorizer after
-- it in the same transaction; NULL columns when there is none) and the transaction's sender
-- (tx_from: the facilitator that submitted it) and recipient.
--   facilitator_listed: tx_from is on the configured facilitator list.
--   payment_id: keccak256(token ++ authorizer ++ nonce) when this authorization is a payment (a
--     matched Transfer not into the settlement contract, sent by a listed facilitator, or by
--     anyone when the list is empty); NULL otherwise.
CREATE TABLE eip3009_authorizations (
    chain_id            int8          NOT NULL,
    block_number        int8          NOT NULL,
    block_hash          bytea         NOT NULL,
    block_time          timestamptz   NOT NULL,
    tx_hash             bytea         NOT NULL,
    log_index           int4          NOT NULL,
    token               bytea         NOT NULL,
    authorizer          bytea         NOT NULL,
    nonce               bytea         NOT NULL,
    tx_from             bytea         NOT NULL,
    tx_to               bytea,
    transfer_log_index  int4,
    payee               bytea,
    amount              numeric(78,0),
    facilitator_listed  boolean       NOT NULL,
    payment_id          bytea,
    PRIMARY KEY (chain_id, block_number, log_index)
);
CREATE INDEX eip3009_authorizations_payment_id ON eip3009_authorizations (chain_id, payment_id);

-- Every payment says where it comes from, so the classifier and the API treat all sources alike:
--   source: 'settlement' (X402Settlement events), 'eip3009' (above), 'permit2_proxy' (x402's
--     Permit2 proxy, reserved).
--   facilitator_listed: for sources where the facilitator is only the transaction's sender,
--     whether it is on the configured list (false = any sender accepted, flagged); NULL for
--     settlement payments, whose facilitator the contract itself records.
-- An EIP-3009 payment is an exact payment (mode 0) settled at once: settled_amount = amount, no
-- fees or splits, batch_id 0, request_hash 32 zero bytes and evidence_hash NULL (the source has
-- no evidence).
ALTER TABLE payments
    ADD COLUMN source text NOT NULL DEFAULT 'settlement'
        CHECK (source IN ('settlement', 'eip3009', 'permit2_proxy')),
    ADD COLUMN facilitator_listed boolean;

-- Folds the EIP-3009 payments of blocks [p_from, p_to] into `payments` (set-based, from the rows
-- the same transaction just wrote; re-running it for the same range changes nothing).
CREATE FUNCTION fold_eip3009(p_chain_id int8, p_from int8, p_to int8) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO payments AS p (
        chain_id, payment_id, payer, payee, token, facilitator, mode, max_amount,
        authorized_amount, captured_amount, refunded_amount, voided_amount, reclaimed_amount,
        settled_amount, facilitator_fee, protocol_fee, split_amount, request_hash, evidence_hash,
        batch_id, status, closed, first_block_number, first_block_time, first_tx_hash,
        updated_block_number, updated_block_time, source, facilitator_listed)
    SELECT e.chain_id, e.payment_id, e.authorizer, e.payee, e.token, e.tx_from, 0, e.amount,
           0, 0, 0, 0, 0,
           e.amount, 0, 0, 0, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea, NULL,
           0, 'charged', false, e.block_number, e.block_time, e.tx_hash, e.block_number, e.block_time,
           'eip3009', e.facilitator_listed
    FROM eip3009_authorizations e
    WHERE e.chain_id = p_chain_id AND e.block_number BETWEEN p_from AND p_to AND e.payment_id IS NOT NULL
    ON CONFLICT (chain_id, payment_id) DO NOTHING;
$$;
