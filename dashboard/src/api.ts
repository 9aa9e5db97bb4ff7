// The API's wire format (x402-api, JSON under /v1) and its mapping onto the view models.
// Amounts arrive as decimal strings of base units and leave here in token units.

import { getJson } from "./http";
import { units } from "./format";
import type { Cohort, Filters, PayeeRow, PayerProfile, PayerRow, SeriesBucket, Summary, Token } from "./model";

function filterQuery(f: Filters) {
  return { from: f.from, to: f.to, token: f.token };
}

export async function tokens(): Promise<Token[]> {
  const r = await getJson<{ tokens: { address: string; symbol?: string; decimals?: number }[] }>("/v1/tokens");
  return r.tokens.map((t) => ({ address: t.address, symbol: t.symbol ?? t.address.slice(0, 8), decimals: t.decimals ?? 0 }));
}

export async function summary(f: Filters, decimals: number): Promise<Summary> {
  const r = await getJson<Record<string, unknown>>("/v1/metrics/summary", filterQuery(f));
  void decimals;
  return r as unknown as Summary;
}

export async function series(f: Filters, decimals: number): Promise<SeriesBucket[]> {
  const r = await getJson<{ buckets: SeriesBucket[] }>(`/v1/metrics/${f.bucket === "week" ? "weekly" : "daily"}`, filterQuery(f));
  void decimals;
  return r.buckets;
}

export async function cohorts(f: Filters, decimals: number): Promise<Cohort[]> {
  const r = await getJson<{ cohorts: Cohort[] }>("/v1/metrics/cohorts", filterQuery(f));
  void decimals;
  return r.cohorts;
}

export async function topPayers(f: Filters, decimals: number): Promise<PayerRow[]> {
  const r = await getJson<{ items: (PayerRow & { volume: string })[] }>("/v1/payers", { ...filterQuery(f), limit: 15 });
  return r.items.map((p) => ({ ...p, volume: units(p.volume, decimals) }));
}

export async function topPayees(f: Filters, decimals: number): Promise<PayeeRow[]> {
  const r = await getJson<{ items: (PayeeRow & { volume: string })[] }>("/v1/payees", { ...filterQuery(f), limit: 15 });
  return r.items.map((p) => ({ ...p, volume: units(p.volume, decimals) }));
}

export async function payerProfile(address: string): Promise<PayerProfile> {
  return getJson<PayerProfile>(`/v1/payers/${address}`);
}
