-- Native-currency transfers: every top-level transaction that moved native currency (value > 0)
-- to a recipient and succeeded, one row per transaction. The usual first funding of an agent
-- wallet is gas money, so the classifier reads this table as funding edges (gas-funded farms).
-- Only top-level transactions: value moved by contract calls inside a transaction (internal
-- transfers) is not here. Written in the same transaction as the range's events and deleted
-- above a reorg's common ancestor like them; `[native_transfers]` in the indexer's
-- configuration turns it on or off and can scope it to listed wallets (see indexer/README.md).
CREATE TABLE native_transfers (
    chain_id      int8          NOT NULL,
    block_number  int8          NOT NULL,
    block_hash    bytea         NOT NULL,
    block_time    timestamptz   NOT NULL,
    tx_hash       bytea         NOT NULL,
    tx_index      int4          NOT NULL,
    from_address  bytea         NOT NULL,
    to_address    bytea         NOT NULL,
    value         numeric(78,0) NOT NULL,
    PRIMARY KEY (chain_id, block_number, tx_index)
);
CREATE INDEX native_transfers_from ON native_transfers (chain_id, from_address);
CREATE INDEX native_transfers_to ON native_transfers (chain_id, to_address);
