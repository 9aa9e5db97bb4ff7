-- Classifier output: the contract read by the API (crate `api/`).
-- Versions of this crate's migrations are distinct from the indexer's; both share
-- `_sqlx_migrations`, so each migrator runs with `ignore_missing`.

-- The effective label set the classifier used: registry labels (from the indexer's
-- registry history) merged with the local labels file. Rewritten on every label change.
create table if not exists labels (
    chain_id          int8    not null,
    address           bytea   not null check (length(address) = 20),
    -- 'exchange' | 'bridge' | 'ecosystem' | 'other'
    kind              text    not null check (kind in ('exchange', 'bridge', 'ecosystem', 'other')),
    -- ecosystem role ('treasury','team','operations','faucet','facilitator','provider','market_maker','test')
    -- for kind = 'ecosystem'; free text (or null) otherwise
    role              text,
    source            text    not null check (source in ('registry', 'file')),
    valid_from_block  int8    not null default 0,
    -- exclusive end (the block of the unlabel); null = still holds
    valid_to_block    int8,
    note              text    not null default '',
    -- registry labels: the transaction that labelled the wallet (and the one that unlabelled it)
    registry_tx       bytea,
    unlabel_tx        bytea,
    primary key (chain_id, address, kind, source, valid_from_block, role_key),
    role_key          text    generated always as (coalesce(role, '')) stored
);
create index if not exists labels_address_idx on labels (address);

-- Local labels imported with `x402-classifier labels import <file>` (source = 'file').
create table if not exists label_file_entries (
    chain_id          int8    not null,
    address           bytea   not null check (length(address) = 20),
    kind              text    not null check (kind in ('exchange', 'bridge', 'ecosystem', 'other')),
    role              text,
    role_key          text    generated always as (coalesce(role, '')) stored,
    valid_from_block  int8    not null default 0,
    note              text    not null default '',
    imported_at       timestamptz not null default now(),
    primary key (chain_id, address, kind, role_key)
);

-- Funding clusters (connected components of the funding graph after removing exchanges,
-- bridges, the mint address and hub funders) that contain at least one payer.
create table if not exists funding_clusters (
    chain_id     int8  not null,
    cluster_id   int8  not null,
    root_funder  bytea not null,
    members      int4  not null,
    -- {"paying_members", "shared_payees", "same_amount_share", "start_window_share",
    --  "payment_count_cv", "criteria_met", "suspected", ...}
    stats        jsonb not null,
    primary key (chain_id, cluster_id)
);

-- One verdict per payment: the first rule that matched, every rule that fired, and why.
create table if not exists payment_classes (
    chain_id       int8  not null,
    payment_id     bytea not null,
    class          text  not null check (class in ('self_payment', 'internal', 'self_dealing',
                        'project_funded', 'suspected_sybil', 'external', 'unattributed')),
    flags          text[] not null,
    evidence       jsonb not null,
    -- FIFO share of the spent tokens that came from ecosystem wallets, 0..1
    project_share  numeric,
    -- haircut (pro-rata) share of the same, 0..1
    haircut_share  numeric,
    cluster_id     int8,
    rule_version   text  not null,
    label_version  text  not null,
    classified_at  timestamptz not null default now(),
    primary key (chain_id, payment_id)
);
create index if not exists payment_classes_class_idx on payment_classes (chain_id, class);

-- One verdict per payer: its class (the class of most of its volume), every flag, and the
-- full explanation shown on the payer profile.
create table if not exists payer_classes (
    chain_id       int8  not null,
    payer          bytea not null,
    class          text  not null check (class in ('self_payment', 'internal', 'self_dealing',
                        'project_funded', 'suspected_sybil', 'external', 'unattributed')),
    flags          text[] not null,
    evidence       jsonb not null,
    first_funder   bytea,
    cluster_id     int8,
    rule_version   text  not null,
    label_version  text  not null,
    classified_at  timestamptz not null default now(),
    primary key (chain_id, payer)
);
create index if not exists payer_classes_class_idx on payer_classes (chain_id, class);

-- Where the classifier is: the last indexed block it classified and the versions it used.
create table if not exists classifier_state (
    chain_id              int8 primary key,
    last_block            int8 not null,
    rule_version          text not null,
    label_version         text not null,
    payments_classified   int8 not null default 0,
    updated_at            timestamptz not null default now()
);
