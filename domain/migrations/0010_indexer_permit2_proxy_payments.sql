-- Standard x402 Permit2 payments: a facilitator calls x402's `x402ExactPermit2Proxy` or
-- `x402UptoPermit2Proxy` (addresses configurable per chain, defaults in x402-domain), which pulls
-- the payer's tokens through Permit2 to the payee and emits `Settled()` or `SettledWithPermit()`.

-- One row per `Settled()` / `SettledWithPermit()` log of a watched proxy, keyed by that log, with
-- the payment token Transfer it made (the last Transfer of a payment token before it in the same
-- transaction and after the previous proxy log; NULL columns when there is none, e.g. a token
-- that is not a payment token) and the transaction's sender (tx_from) and recipient (tx_to).
--   with_permit: the log was `SettledWithPermit()` (an EIP-2612 permit for Permit2 came along).
--   facilitator_listed: tx_from is on the configured facilitator list (recorded, not required:
--     the proxy itself is the proof of an x402 payment).
--   payment_id: keccak256(tx_hash ++ log_index as 8 big-endian bytes) when this log is a payment
--     (a matched Transfer in a transaction whose recipient is the proxy); NULL otherwise.
CREATE TABLE permit2_proxy_settlements (
    chain_id            int8          NOT NULL,
    block_number        int8          NOT NULL,
    block_hash          bytea         NOT NULL,
    block_time          timestamptz   NOT NULL,
    tx_hash             bytea         NOT NULL,
    log_index           int4          NOT NULL,
    proxy               bytea         NOT NULL,
    with_permit         boolean       NOT NULL,
    tx_from             bytea         NOT NULL,
    tx_to               bytea,
    transfer_log_index  int4,
    token               bytea,
    payer               bytea,
    payee               bytea,
    amount              numeric(78,0),
    facilitator_listed  boolean       NOT NULL,
    payment_id          bytea,
    PRIMARY KEY (chain_id, block_number, log_index)
);
CREATE INDEX permit2_proxy_settlements_payment_id ON permit2_proxy_settlements (chain_id, payment_id);

-- Folds the proxy payments of blocks [p_from, p_to] into `payments` (set-based, from the rows the
-- same transaction just wrote; re-running it for the same range changes nothing): payer =
-- Transfer.from, payee = Transfer.to, facilitator = the transaction's sender, an exact payment
-- (mode 0) settled at once, no fees or splits, batch 0, request_hash 32 zero bytes, no evidence.
CREATE FUNCTION fold_permit2_proxy(p_chain_id int8, p_from int8, p_to int8) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO payments AS p (
        chain_id, payment_id, payer, payee, token, facilitator, mode, max_amount,
        authorized_amount, captured_amount, refunded_amount, voided_amount, reclaimed_amount,
        settled_amount, facilitator_fee, protocol_fee, split_amount, request_hash, evidence_hash,
        batch_id, status, closed, first_block_number, first_block_time, first_tx_hash,
        updated_block_number, updated_block_time, source, facilitator_listed)
    SELECT e.chain_id, e.payment_id, e.payer, e.payee, e.token, e.tx_from, 0, e.amount,
           0, 0, 0, 0, 0,
           e.amount, 0, 0, 0, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea, NULL,
           0, 'charged', false, e.block_number, e.block_time, e.tx_hash, e.block_number, e.block_time,
           'permit2_proxy', e.facilitator_listed
    FROM permit2_proxy_settlements e
    WHERE e.chain_id = p_chain_id AND e.block_number BETWEEN p_from AND p_to AND e.payment_id IS NOT NULL
    ON CONFLICT (chain_id, payment_id) DO NOTHING;
$$;
