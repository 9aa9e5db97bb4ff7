-- Registry role names in the one spelling every crate uses (x402_domain::Role::as_str:
-- 'market_maker', not 'MarketMaker'), so registry_labels.role_name equals labels.role and the
-- API's. Rows written before this migration carried the Solidity enum's CamelCase names.
UPDATE registry_labels
SET role_name = CASE role
    WHEN 0 THEN 'treasury'
    WHEN 1 THEN 'team'
    WHEN 2 THEN 'operations'
    WHEN 3 THEN 'faucet'
    WHEN 4 THEN 'facilitator'
    WHEN 5 THEN 'provider'
    WHEN 6 THEN 'market_maker'
    WHEN 7 THEN 'test'
    ELSE 'role_' || role
END;
