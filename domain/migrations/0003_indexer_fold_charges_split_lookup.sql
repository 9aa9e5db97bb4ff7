-- fold_charges looked split payouts up through a grouped subquery over the range, which the
-- planner, without statistics on a fresh table, nested-looped once per charge (seconds per range
-- once payees have splits). Each charge now sums its own SplitPaid rows through the payment_id
-- index: a fixed cost per charge, and the same total recompute_payments computes.
CREATE OR REPLACE FUNCTION fold_charges(p_chain_id int8, p_from int8, p_to int8) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO payments AS p (
        chain_id, payment_id, payer, payee, token, facilitator, mode, max_amount,
        authorized_amount, captured_amount, refunded_amount, voided_amount, reclaimed_amount,
        settled_amount, facilitator_fee, protocol_fee, split_amount, request_hash, evidence_hash,
        batch_id, status, closed, first_block_number, first_block_time, first_tx_hash,
        updated_block_number, updated_block_time)
    SELECT c.chain_id, c.payment_id, c.payer, c.payee, c.token, c.facilitator, c.mode, c.max_amount,
           0, 0, 0, 0, 0,
           c.amount, c.facilitator_fee, c.protocol_fee,
           COALESCE((SELECT sum(sp.amount) FROM split_payments sp
                     WHERE sp.chain_id = p_chain_id AND sp.payment_id = c.payment_id), 0),
           c.request_hash, c.evidence_hash, c.batch_id, 'charged', false,
           c.block_number, c.block_time, c.tx_hash, c.block_number, c.block_time
    FROM charges c
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
