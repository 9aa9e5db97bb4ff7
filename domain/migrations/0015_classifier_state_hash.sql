-- The hash of the last classified block, so a reorg that rolls back and re-indexes past it
-- between two polls is noticed (the block number alone would not change).
alter table classifier_state add column if not exists last_block_hash bytea;
