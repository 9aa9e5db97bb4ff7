-- x402-api read model: narrow facts and daily rollups derived from the indexer's `payments` and
-- the classifier's `payment_classes`, so metric queries never scan the wide source tables.
-- Versions of this crate's migrations are distinct from the indexer's and the classifier's; all
-- share `_sqlx_migrations`, so each migrator runs with `ignore_missing`.
--
-- Conventions: a payment counts once something settled (settled_amount > 0); its amount is
-- net_settled_amount (settled minus refunds) in raw token units; its time is first_block_time
-- (the charge, or the authorization of an escrow) and its day the UTC date of that time. A payment
-- the classifier has not reached yet has class 'unclassified'.

-- One row per counted payment.
create table if not exists api_payment_facts (
    chain_id       int8          not null,
    payment_id     bytea         not null,
    ts             timestamptz   not null,
    day            date          not null,
    payer          bytea         not null,
    payee          bytea         not null,
    token          bytea         not null,
    facilitator    bytea         not null,
    class          text          not null,
    amount         numeric(78,0) not null,
    -- FIFO share of the spent tokens that came from ecosystem wallets (0 when unknown).
    project_share  float8        not null,
    primary key (chain_id, payment_id)
);
-- Keyset pagination of the payment list, newest first, optionally by class / payer / payee.
create index if not exists api_payment_facts_ts on api_payment_facts (chain_id, ts desc, payment_id desc);
create index if not exists api_payment_facts_class_ts on api_payment_facts (chain_id, class, ts desc, payment_id desc);
create index if not exists api_payment_facts_payer_ts on api_payment_facts (chain_id, payer, ts desc, payment_id desc);
create index if not exists api_payment_facts_payee_ts on api_payment_facts (chain_id, payee, ts desc, payment_id desc);
create index if not exists api_payment_facts_day on api_payment_facts (chain_id, day);

-- Volume and counts by day x token x payee x facilitator x class.
create table if not exists api_daily_stats (
    chain_id        int8          not null,
    day             date          not null,
    token           bytea         not null,
    payee           bytea         not null,
    facilitator     bytea         not null,
    class           text          not null,
    payments        int8          not null,
    volume          numeric(78,0) not null,
    -- sum(amount * (1 - project_share)) over external and project_funded payments, else 0.
    taint_adjusted  numeric       not null,
    primary key (chain_id, day, token, payee, facilitator, class)
);

-- Per-payer activity by day x token x payee x facilitator x class: active payers, new vs
-- returning, repeat rate, cohorts and concentration are computed from this.
create table if not exists api_payer_days (
    chain_id     int8          not null,
    day          date          not null,
    payer        bytea         not null,
    token        bytea         not null,
    payee        bytea         not null,
    facilitator  bytea         not null,
    class        text          not null,
    payments     int8          not null,
    volume       numeric(78,0) not null,
    primary key (chain_id, day, payer, token, payee, facilitator, class)
);
create index if not exists api_payer_days_payer on api_payer_days (chain_id, payer, day);

-- What the read model reflects: the classifier state and indexer checkpoint it was built from.
-- `generation` increases with every refresh; API processes drop their response caches when it
-- changes.
create table if not exists api_refresh_state (
    chain_id               int8        primary key,
    classifier_updated_at  timestamptz,
    checkpoint_block       int8,
    refreshed_at           timestamptz not null default now(),
    days_refreshed         int8        not null default 0,
    generation             int8        not null default 0
);

-- Lookups the incremental refresh needs on the source tables.
create index if not exists api_src_payment_classes_classified_at on payment_classes (chain_id, classified_at);
create index if not exists api_src_payments_updated_block on payments (chain_id, updated_block_number);

-- Rebuilds facts and rollups of the given days from payments + payment_classes. Called inside
-- one transaction by the API's refresher, so readers see either the old or the new days.
create or replace function api_refresh_days(p_chain int8, p_days date[]) returns int8
language plpgsql as $$
declare
    n int8;
begin
    delete from api_payment_facts where chain_id = p_chain and day = any (p_days);
    insert into api_payment_facts
        (chain_id, payment_id, ts, day, payer, payee, token, facilitator, class, amount, project_share)
    select p.chain_id, p.payment_id, p.first_block_time, d.day, p.payer, p.payee, p.token,
           p.facilitator, coalesce(pc.class, 'unclassified'), p.net_settled_amount,
           least(greatest(coalesce(pc.project_share, 0), 0), 1)::float8
    from unnest(p_days) as d(day)
    join payments p
      on p.chain_id = p_chain
     and p.first_block_time >= (d.day::timestamp at time zone 'UTC')
     and p.first_block_time < ((d.day + 1)::timestamp at time zone 'UTC')
    left join payment_classes pc on pc.chain_id = p.chain_id and pc.payment_id = p.payment_id
    where p.settled_amount > 0;
    get diagnostics n = row_count;

    delete from api_daily_stats where chain_id = p_chain and day = any (p_days);
    insert into api_daily_stats
        (chain_id, day, token, payee, facilitator, class, payments, volume, taint_adjusted)
    select chain_id, day, token, payee, facilitator, class, count(*), sum(amount),
           sum(case when class in ('external', 'project_funded')
                    then amount * (1 - project_share::numeric) else 0 end)
    from api_payment_facts
    where chain_id = p_chain and day = any (p_days)
    group by chain_id, day, token, payee, facilitator, class;

    delete from api_payer_days where chain_id = p_chain and day = any (p_days);
    insert into api_payer_days
        (chain_id, day, payer, token, payee, facilitator, class, payments, volume)
    select chain_id, day, payer, token, payee, facilitator, class, count(*), sum(amount)
    from api_payment_facts
    where chain_id = p_chain and day = any (p_days)
    group by chain_id, day, payer, token, payee, facilitator, class;

    return n;
end
$$;

-- Days whose facts may be stale: payments (re)classified since `p_classified_since`, payments
-- whose state changed at or after block `p_block_since`, and the days of blocks from
-- `p_block_since` on (a reorg there may have deleted payments).
create or replace function api_changed_days(p_chain int8, p_classified_since timestamptz, p_block_since int8)
returns setof date
language sql stable as $$
    select (p.first_block_time at time zone 'UTC')::date
    from payment_classes pc
    join payments p on p.chain_id = pc.chain_id and p.payment_id = pc.payment_id
    where pc.chain_id = p_chain and pc.classified_at >= p_classified_since
    union
    select (p.first_block_time at time zone 'UTC')::date
    from payments p
    where p.chain_id = p_chain and p.updated_block_number >= p_block_since
    union
    select (b.block_time at time zone 'UTC')::date
    from blocks b
    where b.chain_id = p_chain and b.number >= p_block_since
$$;
