-- Per-payer profile aggregates, precomputed by the refresh so a payer profile is a handful of
-- primary-key lookups (a profile must answer in milliseconds under load).
create table if not exists api_payer_stats (
    chain_id         int8     not null,
    payer            bytea    not null,
    payments         int8     not null,
    volume           numeric(78,0) not null,
    active_days      int8     not null,
    payees           int8     not null,
    first_day        date     not null,
    last_day         date     not null,
    -- Payments by class, largest volume first.
    class_keys       text[]   not null,
    class_payments   int8[]   not null,
    class_volumes    text[]   not null,
    -- The 10 largest payees.
    payee_keys       bytea[]  not null,
    payee_payments   int8[]   not null,
    payee_volumes    text[]   not null,
    -- How often each rule fired on the payer's payments, most frequent first.
    flag_keys        text[]   not null,
    flag_payments    int8[]   not null,
    -- The most recent payment of the payer's class (or the most recent at all).
    example_payment  bytea,
    primary key (chain_id, payer)
);

-- Recomputes the stats of `p_payers` from the read model (rows of payers without payments go).
create or replace function api_refresh_payer_stats(p_chain int8, p_payers bytea[]) returns int8
language plpgsql as $$
declare
    v_rows int8;
begin
    delete from api_payer_stats where chain_id = p_chain and payer = any (p_payers);
    insert into api_payer_stats
    select p_chain, s.payer, s.payments, s.volume, s.active_days, s.payees, s.first_day, s.last_day,
           bc.keys, bc.n, bc.v, tp.keys, tp.n, tp.v,
           coalesce(fl.keys, '{}'), coalesce(fl.n, '{}'), ex.payment_id
    from (
        select d.payer, sum(d.payments)::int8 as payments, sum(d.volume) as volume,
               count(distinct d.day)::int8 as active_days, count(distinct d.payee)::int8 as payees,
               min(d.day) as first_day, max(d.day) as last_day
        from api_payer_days d
        where d.chain_id = p_chain and d.payer = any (p_payers)
        group by d.payer
    ) s
    cross join lateral (
        select array_agg(class order by v desc, class) as keys, array_agg(n order by v desc, class) as n,
               array_agg(v::text order by v desc, class) as v
        from (select class, sum(payments)::int8 as n, sum(volume) as v
              from api_payer_days where chain_id = p_chain and payer = s.payer group by class) x
    ) bc
    cross join lateral (
        select array_agg(payee order by v desc, payee) as keys, array_agg(n order by v desc, payee) as n,
               array_agg(v::text order by v desc, payee) as v
        from (select payee, sum(payments)::int8 as n, sum(volume) as v
              from api_payer_days where chain_id = p_chain and payer = s.payer
              group by payee order by sum(volume) desc, payee limit 10) x
    ) tp
    cross join lateral (
        select array_agg(flag order by n desc, flag) as keys, array_agg(n order by n desc, flag) as n
        from (select flag, count(*)::int8 as n
              from api_payment_facts f
              join payment_classes pc on pc.chain_id = f.chain_id and pc.payment_id = f.payment_id
              cross join unnest(pc.flags) as flag
              where f.chain_id = p_chain and f.payer = s.payer
              group by flag) x
    ) fl
    left join lateral (
        select f.payment_id
        from api_payment_facts f
        where f.chain_id = p_chain and f.payer = s.payer
        order by (f.class = (select pcl.class from payer_classes pcl
                             where pcl.chain_id = p_chain and pcl.payer = s.payer)) desc nulls last,
                 f.ts desc, f.payment_id desc
        limit 1
    ) ex on true;
    get diagnostics v_rows = row_count;
    return v_rows;
end
$$;
