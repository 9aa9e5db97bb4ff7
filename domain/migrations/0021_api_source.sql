-- The payment source as a read-model dimension (issue 15): analysts filter every metric by where a
-- payment comes from (the indexer's `payments.source`, spelled as x402_domain::PaymentSource:
-- our settlement contract, standard EIP-3009 transfers, EIP-3009 through the settlement contract,
-- x402's Permit2 proxies). The value is copied from `payments.source`, never restated here.
--
-- The rollups gain `source` in their keys. The read model is derived data: it is emptied and the
-- refresh state forgotten, so the next refresh rebuilds every day with the source filled in.

delete from api_payment_facts;
delete from api_daily_stats;
delete from api_payer_days;
delete from api_payer_stats;
delete from api_refresh_state;

alter table api_payment_facts add column source text not null;
alter table api_daily_stats add column source text not null;
alter table api_payer_days add column source text not null;

alter table api_daily_stats drop constraint api_daily_stats_pkey;
alter table api_daily_stats add primary key (chain_id, day, token, payee, facilitator, class, source);
alter table api_payer_days drop constraint api_payer_days_pkey;
alter table api_payer_days add primary key (chain_id, day, payer, token, payee, facilitator, class, source);

create or replace function api_refresh_days(p_chain int8, p_days date[]) returns int8
language plpgsql as $$
declare
    n int8;
begin
    delete from api_payment_facts where chain_id = p_chain and day = any (p_days);
    insert into api_payment_facts
        (chain_id, payment_id, ts, day, payer, payee, token, facilitator, class, amount, project_share,
         refunded, source)
    select p.chain_id, p.payment_id, p.first_block_time, d.day, p.payer, p.payee, p.token,
           p.facilitator, coalesce(pc.class, 'unclassified'), p.net_settled_amount,
           least(greatest(coalesce(pc.project_share, 0), 0), 1),
           p.refunded_amount, p.source
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
