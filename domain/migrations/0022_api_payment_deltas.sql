-- The read model maintained per payment (issue 14, freshness): a refresh re-reads the payments
-- that may have changed and applies their deltas (subtract the old contribution, add the new) to
-- the facts, the daily cells and the payer-days, instead of rebuilding whole days.
--
-- * `api_payment_facts.block`: the payment's `updated_block_number` when its fact was written. A
--   reorg that removes a payment, or removes a later event of it (a refund), touches a payment
--   whose fact was written at a block at or above the fork; the refresh re-reads the facts of the
--   blocks it re-reads in `payments`, so it finds payments the reorg deleted too.
-- * `payer_classes (chain_id, classified_at)`: a payer's class (its profile's example payment)
--   and entity (distinct entities) change when a label is added later; the refresh finds the
--   payers the classifier rewrote since it last looked.
--
-- * `api_refresh_state.checkpoint_hash`: the hash of the checkpoint block the model was built
--   from. While `blocks` still holds that block with that hash, no reorg reached it, and a refresh
--   re-reads only the blocks after it (else it re-reads from 128 blocks below).
-- * `api_refresh_payer_stats` reads the payers' classes by key, so recomputing the profiles of the
--   few payers of a refresh costs milliseconds rather than a scan of `payer_classes`.
--
-- The read model is derived data: it is emptied and the refresh state forgotten, so the next
-- refresh rebuilds every day with `block` filled in.

delete from api_payment_facts;
delete from api_daily_stats;
delete from api_payer_days;
delete from api_payer_stats;
delete from api_refresh_state;

alter table api_payment_facts add column block int8 not null;
alter table api_refresh_state add column checkpoint_hash bytea;
create index if not exists api_payment_facts_block on api_payment_facts (chain_id, block);
create index if not exists api_src_payer_classes_classified_at on payer_classes (chain_id, classified_at);

create or replace function api_refresh_days(p_chain int8, p_days date[]) returns int8
language plpgsql as $$
declare
    n int8;
begin
    delete from api_payment_facts where chain_id = p_chain and day = any (p_days);
    insert into api_payment_facts
        (chain_id, payment_id, ts, day, payer, payee, token, facilitator, class, amount, project_share,
         refunded, source, block)
    select p.chain_id, p.payment_id, p.first_block_time, d.day, p.payer, p.payee, p.token,
           p.facilitator, coalesce(pc.class, 'unclassified'), p.net_settled_amount,
           least(greatest(coalesce(pc.project_share, 0), 0), 1),
           p.refunded_amount, p.source, p.updated_block_number
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
        (chain_id, day, token, payee, facilitator, class, source, payments, volume, taint_adjusted)
    select chain_id, day, token, payee, facilitator, class, source, count(*), sum(amount),
           -- Exact numeric arithmetic: no rounding, so the sum never exceeds the volume it adjusts.
           sum(case when class in ('external', 'project_funded')
                    then amount * (1 - project_share) else 0 end)
    from api_payment_facts
    where chain_id = p_chain and day = any (p_days)
    group by chain_id, day, token, payee, facilitator, class, source;

    delete from api_payer_days where chain_id = p_chain and day = any (p_days);
    insert into api_payer_days
        (chain_id, day, payer, token, payee, facilitator, class, source, payments, volume, refunded)
    select chain_id, day, payer, token, payee, facilitator, class, source, count(*), sum(amount),
           sum(refunded)
    from api_payment_facts
    where chain_id = p_chain and day = any (p_days)
    group by chain_id, day, payer, token, payee, facilitator, class, source;

    return n;
end
$$;

-- Recomputes the stats of `p_payers` from the read model (rows of payers without payments go).
create or replace function api_refresh_payer_stats(p_chain int8, p_payers bytea[]) returns int8
language plpgsql as $$
declare
    v_rows int8;
begin
    delete from api_payer_stats s
    using (select distinct unnest(p_payers) as payer) ps
    where s.chain_id = p_chain and s.payer = ps.payer;
    with ps as (select distinct unnest(p_payers) as payer),
    d as (
        select d.payer, d.day, d.payee, d.class, d.payments, d.volume
        from api_payer_days d join ps on ps.payer = d.payer
        where d.chain_id = p_chain
    ),
    s as (
        select payer, sum(payments)::int8 as payments, sum(volume) as volume,
               count(distinct day)::int8 as active_days, count(distinct payee)::int8 as payees,
               min(day) as first_day, max(day) as last_day
        from d group by payer
    ),
    bc as (
        select payer, array_agg(class order by v desc, class) as keys,
               array_agg(n order by v desc, class) as n, array_agg(v::text order by v desc, class) as v
        from (select payer, class, sum(payments)::int8 as n, sum(volume) as v from d group by payer, class) x
        group by payer
    ),
    tp as (
        select payer, array_agg(payee order by v desc, payee) as keys,
               array_agg(n order by v desc, payee) as n, array_agg(v::text order by v desc, payee) as v
        from (select payer, payee, sum(payments)::int8 as n, sum(volume) as v,
                     row_number() over (partition by payer order by sum(volume) desc, payee) as rank
              from d group by payer, payee) x
        where rank <= 10
        group by payer
    ),
    f as (
        select f.payer, f.payment_id, f.ts, f.class
        from api_payment_facts f join ps on ps.payer = f.payer
        where f.chain_id = p_chain
    ),
    fl as (
        select payer, array_agg(flag order by n desc, flag) as keys, array_agg(n order by n desc, flag) as n
        from (select f.payer, flag, count(*)::int8 as n
              from f
              join payment_classes pc on pc.chain_id = p_chain and pc.payment_id = f.payment_id
              cross join unnest(pc.flags) as flag
              group by f.payer, flag) x
        group by payer
    ),
    -- The payers' own classes, read by key (a join of `f` with all of payer_classes made the
    -- planner hash the whole table even for the few payers of an incremental refresh).
    pcl as (
        select pcl.payer, pcl.class
        from payer_classes pcl join ps on ps.payer = pcl.payer
        where pcl.chain_id = p_chain
    ),
    ex as (
        select distinct on (f.payer) f.payer, f.payment_id
        from f left join pcl on pcl.payer = f.payer
        order by f.payer, (f.class = pcl.class) desc nulls last, f.ts desc, f.payment_id desc
    )
    insert into api_payer_stats
    select p_chain, s.payer, s.payments, s.volume, s.active_days, s.payees, s.first_day, s.last_day,
           bc.keys, bc.n, bc.v, tp.keys, tp.n, tp.v,
           coalesce(fl.keys, '{}'), coalesce(fl.n, '{}'), ex.payment_id
    from s
    join bc on bc.payer = s.payer
    join tp on tp.payer = s.payer
    left join fl on fl.payer = s.payer
    left join ex on ex.payer = s.payer;
    get diagnostics v_rows = row_count;
    return v_rows;
end
$$;
