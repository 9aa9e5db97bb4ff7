-- Entities: wallets the evidence ties together (members of one suspected sybil cluster, a payee
-- and its declared wallets, wallets sharing a first funder that is not an exchange, bridge, hub
-- or ecosystem wallet). The API counts unique paying entities as distinct `entity_id`.
--
-- entity_id: lowercase 0x-hex of the smallest wallet address in the entity (a wallet nobody is
-- tied to is its own entity). Existing rows (classified before entities existed) default to the
-- payer itself until the next classification.
alter table payer_classes add column if not exists entity_id text;
update payer_classes set entity_id = '0x' || encode(payer, 'hex') where entity_id is null;
alter table payer_classes alter column entity_id set not null;
-- Why wallets were merged: comma-separated reasons ('declared_wallets', 'shared_first_funder',
-- 'suspected_cluster'); null for a singleton entity.
alter table payer_classes add column if not exists entity_reason text;
create index if not exists payer_classes_entity_idx on payer_classes (chain_id, entity_id);
