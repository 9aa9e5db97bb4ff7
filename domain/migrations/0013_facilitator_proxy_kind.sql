-- x402's Permit2 proxy payments (settled by calling x402ExactPermit2Proxy / x402UptoPermit2Proxy)
-- are claimed in the same table under their own kind; a crashed claim is recovered from the
-- proxy's settle transaction among the payer's token transfers.
ALTER TABLE facilitator_settlements DROP CONSTRAINT IF EXISTS facilitator_settlements_kind_check;
ALTER TABLE facilitator_settlements
    ADD CONSTRAINT facilitator_settlements_kind_check CHECK (kind IN ('charge', 'authorize', 'authorization', 'proxy'));
