-- Set-based fast path of the payments fold for charges (Exact/Upto payments).
--
-- A charged payment's whole state is known from its PaymentCharged row and the SplitPaid rows of
-- the same transaction: the contract settles a payment id (payer, Permit2 nonce) at most once and
-- never runs escrow lifecycle events on it. So instead of recompute_payments' per-id lookups in
-- every event table, the charges of a committed block range are folded in one INSERT ... SELECT.
-- Escrows (and every rollback) still go through recompute_payments. The result is identical to
-- recompute_payments for a charged payment; re-running it for the same range changes nothing.
CREATE FUNCTION fold_charges(p_chain_id int8, p_from int8, p_to int8) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO payments AS p (
        chain_id, payment_id, payer, payee, token, facilitator, mode, max_amount,
        authorized_amount, captured_amount, refunded_amount, voided_amount, reclaimed_amount,
        settled_amount, facilitator_fee, protocol_fee, split_amount, request_hash, evidence_hash,
        batch_id, status, closed, first_block_number, first_block_time, first_tx_hash,
        updated_block_number, updated_block_time)
    SELECT c.chain_id, c.payment_id, c.payer, c.payee, c.token, c.facilitator, c.mode, c.max_amount,
           0, 0, 0, 0, 0,
           c.amount, c.facilitator_fee, c.protocol_fee, COALESCE(s.total, 0), c.request_hash,
           c.evidence_hash, c.batch_id, 'charged', false, c.block_number, c.block_time, c.tx_hash,
           c.block_number, c.block_time
    FROM charges c
    LEFT JOIN (
        SELECT payment_id, sum(amount) AS total FROM split_payments
        WHERE chain_id = p_chain_id AND block_number BETWEEN p_from AND p_to
        GROUP BY payment_id
    ) s ON s.payment_id = c.payment_id
    WHERE c.chain_id = p_chain_id AND c.block_number BETWEEN p_from AND p_to
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
