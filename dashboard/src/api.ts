// The API's wire format (x402-api, JSON under /v1) and the mapping onto the dashboard's view
// models. The wire types are not written here: they are generated from the API's OpenAPI document
// (dashboard/openapi.json, kept equal to x402-api's by its tests) into generated/openapi.ts at
// build time, so reading a field the API does not send fails the type check. Amounts arrive as
// money objects (exact raw units per token, with symbol and decimals, plus USD over the priced
// tokens) and leave here as numbers in the view's unit: the selected token's units, or USD when
// the view spans every token.

import type { components, paths } from "../generated/openapi";
import type { ClassName } from "./classes";
import { units } from "./format";
import { getJson, withQuery, type Query } from "./http";
import { USD_VIEW, type ClassTotals, type Cohort, type Concentration, type Filters, type PayeeRow, type Source, type PayerProfile, type PayerRow, type SeriesBucket, type Summary, type Token } from "./model";

/** How many rows the top-payer and top-payee tables show. */
export const TOP_N = 15;

// ---- wire types (generated from the API's OpenAPI document) ----

type Schemas = components["schemas"];
/** An amount with its units: per token exact raw units, and USD over the priced tokens. */
type WireMoney = Schemas["Money"];

/** A path the API serves, and the JSON body of its successful GET. */
type ApiPath = keyof paths;
type Answer<P extends ApiPath> = paths[P]["get"]["responses"][200]["content"]["application/json"];

/** GETs a documented path of the API; its `{name}` segments are filled from `at`. */
function get<P extends ApiPath>(path: P, query: Query = {}, at: Record<string, string> = {}): Promise<Answer<P>> {
  const url = path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(at[name] ?? ""));
  return getJson<Answer<P>>(url, query);
}

/** A money in the view's unit: USD for the all-token view, else the token's units. */
export function amount(m: WireMoney | null | undefined, token: Token | null): number {
  if (!m) return 0;
  if (!token || token.usd) return m.usd === null ? 0 : Number(m.usd);
  const t = m.tokens.find((x) => x.token.toLowerCase() === token.address.toLowerCase());
  return t ? units(t.raw, token.decimals) : 0;
}

/** Names of the tokens in scope that have no USD price (left out of the USD figures). */
function unpriced(p: Schemas["PriceNote"], tokens: Token[]): string[] {
  return p.unpriced_tokens.map((a) => tokens.find((t) => t.address.toLowerCase() === a.toLowerCase())?.symbol ?? a);
}

// ---- mapping ----

/** The API's filters: the all-token view sends no `token` (the API answers per token and in USD). */
function filterQuery(f: Filters) {
  return { from: f.from, to: f.to, token: f.token === USD_VIEW.address ? undefined : f.token, payee: f.payee, source: f.source };
}

function concentration(c: Schemas["Concentration"]): Concentration {
  return {
    holders: c.holders,
    top1: c.top1_share,
    top5: c.top5_share,
    top10: c.top10_share,
    hhi: c.hhi,
    effective: c.effective_holders,
    gini: c.gini,
  };
}

/** Where the API serves the CSV of what a part of the page shows, under the same filters. */
export function csvUrl(kind: "series" | "retention" | "payers" | "payees", f: Filters): string {
  const csvPaths: Record<typeof kind, ApiPath> = { series: "/v1/metrics/series", retention: "/v1/metrics/retention", payers: "/v1/payers", payees: "/v1/payees" };
  const path = csvPaths[kind];
  const extra = kind === "series" ? { interval: f.bucket } : kind === "payers" || kind === "payees" ? { limit: 1000 } : {};
  return withQuery(path, { ...filterQuery(f), ...extra, format: "csv" });
}

export async function summary(f: Filters, token: Token | null, known: Token[]): Promise<Summary> {
  const r = await get("/v1/metrics/summary", filterQuery(f));
  const byClass: ClassTotals[] = Object.entries(r.by_class).map(([name, c]) => ({
    class: name as ClassName,
    volume: amount(c.volume, token),
    count: c.count,
    payers: c.unique_payers,
    entities: c.unique_entities,
  }));
  const size = token && !token.usd ? r.payment_size.by_token.find((t) => t.token.toLowerCase() === token.address.toLowerCase()) : undefined;
  const usd = !token || token.usd;
  const a = r.payer_activity;
  const cov = r.coverage;
  const detail: string[] = [];
  if (cov.classified_through_block !== null) detail.push(`classified through block ${cov.classified_through_block}`);
  if (cov.read_model_refreshed_at) detail.push(`refreshed ${cov.read_model_refreshed_at.slice(0, 19).replace("T", " ")} UTC`);
  return {
    unit: r.unit,
    unpriced: unpriced(r.prices, known),
    grossVolume: amount(r.gross.volume, token),
    grossCount: r.gross.count,
    organicVolume: amount(r.organic.volume, token),
    organicShare: r.gross.count > 0 ? r.organic.volume_share : null,
    organicShareByCount: r.gross.count > 0 ? r.organic.count_share : null,
    taintAdjustedOrganic: amount(r.organic.taint_adjusted_volume, token),
    byClass,
    uniquePayers: r.unique_payers,
    uniqueEntities: r.unique_entities,
    externalPayers: a.payers,
    externalEntities: a.entities,
    repeatRate: a.payers > 0 ? a.repeat_rate : null,
    stickiness: a.payers > 0 ? a.stickiness : null,
    // A median does not add across tokens: the all-token view shows the USD mean only.
    meanPayment: usd
      ? r.payment_size.average_usd === null || r.gross.count === 0
        ? null
        : Number(r.payment_size.average_usd)
      : size && token
        ? units(size.average, token.decimals)
        : null,
    medianPayment: !usd && size && token ? units(size.median, token.decimals) : null,
    payeesPerExternalPayer: a.payers > 0 ? a.payees_per_payer : null,
    newExternalPayers: a.new_payers,
    returningExternalPayers: a.returning_payers,
    payerConcentration: concentration(r.concentration.payers),
    payeeConcentration: concentration(r.concentration.payees),
    coverage: {
      unattributedShare: r.gross.count > 0 ? cov.unattributed_volume_share : null,
      unclassifiedShare: cov.unclassified_count > 0 ? cov.unclassified_volume_share : null,
      ruleVersion: cov.rule_version,
      labelVersion: cov.label_version,
      detail,
    },
  };
}

export async function series(f: Filters, token: Token | null): Promise<SeriesBucket[]> {
  const r = await get("/v1/metrics/series", { ...filterQuery(f), interval: f.bucket });
  return r.points.map((p) => {
    const volumeByClass: Partial<Record<ClassName, number>> = {};
    for (const [name, c] of Object.entries(p.by_class)) volumeByClass[name as ClassName] = amount(c.volume, token);
    const gross = amount(p.gross_volume, token);
    return {
      start: p.period,
      volumeByClass,
      grossVolume: gross,
      organicShare: gross > 0 ? p.organic_share_volume : null,
      activePayers: p.active_payers,
      newPayers: p.new_payers,
      returningPayers: p.returning_payers,
    };
  });
}

export async function cohorts(f: Filters): Promise<Cohort[]> {
  const r = await get("/v1/metrics/retention", filterQuery(f));
  const byStart = new Map<string, Cohort>();
  for (const c of r.cells) {
    let row = byStart.get(c.cohort);
    if (!row) {
      row = { start: c.cohort, size: c.cohort_size, retention: [], revenueRetention: [] };
      byStart.set(c.cohort, row);
    }
    row.retention[c.week] = c.retention;
    row.revenueRetention[c.week] = c.revenue_retention;
  }
  const rows = [...byStart.values()].sort((a, b) => a.start.localeCompare(b.start));
  // Weeks not yet observable for a cohort stay null (blank cells), not 0%.
  for (const row of rows) {
    row.retention = Array.from(row.retention, (v) => v ?? null);
    row.revenueRetention = Array.from(row.revenueRetention, (v) => v ?? null);
  }
  return rows;
}

export async function topPayers(f: Filters, token: Token | null): Promise<PayerRow[]> {
  const r = await get("/v1/payers", { ...filterQuery(f), limit: TOP_N });
  return r.items.map((p) => ({
    address: p.payer,
    entity: p.entity_id,
    class: p.class ?? "unclassified",
    volume: amount(p.volume, token),
    count: p.payments,
    payees: p.payees,
    firstSeen: p.first_day,
    lastSeen: p.last_day,
  }));
}

export async function topPayees(f: Filters, token: Token | null): Promise<PayeeRow[]> {
  const r = await get("/v1/payees", { ...filterQuery(f), limit: TOP_N });
  return r.items.map((p) => ({
    address: p.payee,
    volume: amount(p.volume, token),
    count: p.payments,
    payers: p.payers,
    entities: p.entities,
    organicShare: p.payments > 0 ? p.organic_share : null,
    label: null,
  }));
}

/** The API read model's generation: it moves whenever new payments or classifications landed. */
export async function generation(): Promise<number> {
  return (await get("/v1/status")).generation;
}

/**
 * The tokens the API knows (with symbol and decimals when its deployment file names them), the
 * days with data, and the token to show first: the one with the most payments (a token of the
 * deployment that nobody paid in yet would show an empty page). A token without decimals is shown
 * in raw units.
 */
export async function tokens(): Promise<{ tokens: Token[]; window: { from: string; to: string } | null; busiest: string | null }> {
  const [list, status] = await Promise.all([get("/v1/tokens"), get("/v1/status")]);
  const out: Token[] = list.tokens.map((t) => ({
    address: t.address,
    symbol: t.symbol ?? `${t.address.slice(0, 8)}… (raw units)`,
    decimals: t.decimals ?? 0,
  }));
  let busiest: string | null = null;
  if (out.length > 1) {
    const counts = await Promise.all(
      out.map((t) => get("/v1/metrics/summary", { token: t.address }).then((r) => r.gross.count)),
    );
    busiest = out[counts.indexOf(Math.max(...counts))]?.address ?? null;
  } else {
    busiest = out[0]?.address ?? null;
  }
  return { tokens: out, window: status.data_window, busiest };
}

/** Where payments come from: the valid values of the `source` filter, with their payments. */
export async function sources(): Promise<Source[]> {
  const r = await get("/v1/sources");
  return r.sources;
}

/**
 * A payer's profile, with the FIFO/haircut shares of its example payment (a second call). Its
 * totals are asked for in `token` alone (shown in that token's units), or for every token in the
 * all-token view (shown in USD).
 */
export async function payerProfile(address: string, token: Token | null): Promise<PayerProfile> {
  const r = await get("/v1/payers/{address}", { token: token && !token.usd ? token.address : undefined }, { address });
  const v = r.verdict;
  let example: PayerProfile["example"] = null;
  if (r.example_payment) {
    const e = r.example_payment;
    const detail = await get("/v1/payments/{payment_id}", {}, { payment_id: e.payment_id });
    example = {
      paymentId: e.payment_id,
      txHash: detail.tx_hash,
      class: e.class,
      flags: e.flags,
      evidence: e.evidence,
      projectShare: detail.classification?.project_share ?? null,
      haircutShare: detail.classification?.haircut_share ?? null,
      evidenceHash: detail.evidence_hash,
      status: detail.status,
      settledAmount: detail.settled_amount,
      time: detail.time,
      proof: detail.inclusion_proof
        ? {
            batchId: detail.inclusion_proof.batch_id,
            batchTx: detail.inclusion_proof.batch_tx_hash,
            root: detail.inclusion_proof.evidence_root,
            leafIndex: detail.inclusion_proof.leaf_index,
            leafCount: detail.inclusion_proof.leaf_count,
            verified: detail.inclusion_proof.verified,
          }
        : null,
    };
  }
  return {
    address: r.payer,
    class: v?.class ?? null,
    flags: v?.flags ?? [],
    explanation: r.explanation,
    evidence: v?.evidence ?? null,
    firstFunder: v?.first_funder ?? null,
    entity: r.entity_id,
    entityReason: v?.entity_reason ?? null,
    ruleVersion: v?.rule_version ?? null,
    labelVersion: v?.label_version ?? null,
    classifiedAt: v?.classified_at ?? null,
    labels: r.labels.map((l) => ({
      kind: l.kind,
      role: l.role,
      source: l.source,
      validFromBlock: l.valid_from_block,
      validToBlock: l.valid_to_block,
      note: l.note,
      registryTx: l.registry_tx,
    })),
    cluster: r.cluster ? { id: r.cluster.cluster_id, rootFunder: r.cluster.root_funder, members: r.cluster.members, stats: r.cluster.stats } : null,
    payments: r.payments,
    volume: amount(r.volume, token),
    activeDays: r.active_days,
    payees: r.payees,
    firstDay: r.first_day,
    lastDay: r.last_day,
    byClass: r.by_class.map((c) => ({ class: c.key, payments: c.payments, volume: amount(c.volume, token) })),
    topPayees: r.top_payees.map((c) => ({ address: c.key, payments: c.payments, volume: amount(c.volume, token) })),
    paymentFlags: r.payment_flags,
    example,
  };
}
