-- Scoped funding lineage (`[lineage] mode = "scoped"`, see indexer/README.md): the wallets whose
-- token and native transfers the indexer fetches with address-filtered queries instead of
-- indexing every Transfer of the payment tokens.
--   depth: 0 for payers, payees and declared wallets; n + 1 for a wallet that sent tokens or
--          native currency to a depth-n wallet (its funder), up to the configured depth.
--   covered_to: every transfer from or to the wallet in blocks start_block..=covered_to is in
--          token_transfers / native_transfers (written in the same transaction as this column);
--          start_block - 1 for a wallet whose history is not fetched yet. Never above the
--          checkpoint; a reorg lowers it to the common ancestor with the rows it deletes.
-- Owned by the indexer's sync::lineage. Empty in full mode.
CREATE TABLE lineage_wallets (
    chain_id    int8  NOT NULL,
    address     bytea NOT NULL,
    depth       int4  NOT NULL,
    covered_to  int8  NOT NULL,
    PRIMARY KEY (chain_id, address)
);
CREATE INDEX lineage_wallets_pending ON lineage_wallets (chain_id, covered_to);
