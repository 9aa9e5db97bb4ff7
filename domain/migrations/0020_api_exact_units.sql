-- Exact taint-adjusted volume and refunds beside net amounts (issue 13, "metrics in honest units").
--
-- * `api_payment_facts.project_share` becomes numeric: the classifier's share is numeric, and a
--   float8 copy made taint-adjusted volume inexact on large amounts (amount x (1 - share) off by
--   up to amount x 1e-16). The share stays clamped to [0, 1], so the adjusted amount never exceeds
--   the amount it adjusts.
-- * `refunded` (raw units) is kept beside the net amount in the facts and the per-payer rollup, so
--   the payer profile can show net = settled - refunded and reconcile with the classifier's
--   evidence, which counts settled amounts.
--
-- Forgetting the refresh state makes the next refresh rebuild every day under the new function.

alter table api_payment_facts alter column project_share type numeric using project_share::numeric;
alter table api_payment_facts add column if not exists refunded numeric(78,0) not null default 0;
alter table api_payer_days add column if not exists refunded numeric(78,0) not null default 0;

create or replace function api_refresh_days(p_chain int8, p_days date[]) returns int8
language plpgsql as $$
declare
    n int8;
begin
    delete from api_payment_facts where chain_id = p_chain and day = any (p_days);
    insert into api_payment_facts
        (chain_id, payment_id, ts, day, payer, payee, token, facilitator, class, amount, project_share, refunded)
    select p.chain_id, p.payment_id, p.first_block_time, d.day, p.payer, p.payee, p.token,
           p.facilitator, coalesce(pc.class, 'unclassified'), p.net_settled_amount,
           least(greatest(coalesce(pc.project_share, 0), 0), 1),
           p.refunded_amount
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
           -- Exact numeric arithmetic: no rounding, so the sum never exceeds the volume it adjusts.
           sum(case when class in ('external', 'project_funded')
                    then amount * (1 - project_share) else 0 end)
    from api_payment_facts
    where chain_id = p_chain and day = any (p_days)
    group by chain_id, day, token, payee, facilitator, class;

    delete from api_payer_days where chain_id = p_chain and day = any (p_days);
    insert into api_payer_days
        (chain_id, day, payer, token, payee, facilitator, class, payments, volume, refunded)
    select chain_id, day, payer, token, payee, facilitator, class, count(*), sum(amount), sum(refunded)
    from api_payment_facts
    where chain_id = p_chain and day = any (p_days)
    group by chain_id, day, payer, token, payee, facilitator, class;

    return n;
end
$$;

delete from api_refresh_state;
