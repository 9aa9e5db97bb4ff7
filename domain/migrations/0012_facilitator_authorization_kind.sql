-- Standard EIP-3009 payments (settled by chargeWithAuthorization) are claimed in the same table
-- under their own kind, so a crashed claim is recovered from AuthorizationCharged events.
ALTER TABLE facilitator_settlements DROP CONSTRAINT IF EXISTS facilitator_settlements_kind_check;
ALTER TABLE facilitator_settlements
    ADD CONSTRAINT facilitator_settlements_kind_check CHECK (kind IN ('charge', 'authorize', 'authorization'));
