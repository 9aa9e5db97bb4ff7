-- api_refresh_payer_stats, set-based: the first version (20261121700001) probed indexes and
-- aggregated once per payer, which made a full rebuild of 50,000 payers take minutes.
-- Recomputes the stats of `p_payers` from the read model (rows of payers without payments go).
-- Set-based (joins against the payer list, aggregates once), so a full rebuild of every payer
-- costs a few scans rather than one index probe per payer and aggregate.
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
    ex as (
        select distinct on (f.payer) f.payer, f.payment_id
        from f left join payer_classes pcl on pcl.chain_id = p_chain and pcl.payer = f.payer
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
