// What the dashboard draws, independent of the API's wire format (api.ts maps one to the
// other). Volumes are in token units (already scaled by the token's decimals).

import type { ClassName } from "./classes";

/** The analyst's filters, as they appear in the page's URL. */
export interface Filters {
  from?: string;
  to?: string;
  token?: string;
  bucket: "day" | "week";
}

/** A token payments were made in. */
export interface Token {
  address: string;
  symbol: string;
  decimals: number;
}

/** Volume, payments and payers of one class. */
export interface ClassTotals {
  class: ClassName;
  volume: number;
  count: number;
  payers: number;
}

/** Concentration of volume over a set of holders (payers or payees). */
export interface Concentration {
  holders: number;
  top1: number | null;
  top5: number | null;
  top10: number | null;
  hhi: number | null;
  effective: number | null;
  gini: number | null;
}

/** Headline figures for the window. */
export interface Summary {
  grossVolume: number;
  grossCount: number;
  organicVolume: number;
  organicShare: number | null;
  organicShareByCount: number | null;
  taintAdjustedOrganic: number | null;
  byClass: ClassTotals[];
  uniquePayers: number | null;
  externalPayers: number | null;
  repeatRate: number | null;
  stickiness: number | null;
  meanPayment: number | null;
  medianPayment: number | null;
  payeesPerExternalPayer: number | null;
  payerConcentration: Concentration | null;
  payeeConcentration: Concentration | null;
  coverage: Coverage;
}

/** How much of the data the classifier covers, and with which rules and labels. */
export interface Coverage {
  unattributedShare: number | null;
  unclassifiedShare: number | null;
  ruleVersion: string | null;
  labelVersion: string | null;
  detail: string[];
}

/** One bucket (day or week) of the series. */
export interface SeriesBucket {
  start: string;
  volumeByClass: Partial<Record<ClassName, number>>;
  grossVolume: number;
  organicShare: number | null;
  activePayers: number | null;
  newPayers: number | null;
  returningPayers: number | null;
}

/** A first-payment cohort and the share of it (and of its revenue) still paying k periods on. */
export interface Cohort {
  start: string;
  size: number;
  retention: (number | null)[];
  revenueRetention: (number | null)[];
}

export interface PayerRow {
  address: string;
  class: string;
  volume: number;
  count: number;
  payees: number | null;
  firstSeen: string | null;
  lastSeen: string | null;
}

export interface PayeeRow {
  address: string;
  volume: number;
  count: number;
  payers: number | null;
  organicShare: number | null;
  label: string | null;
}

/** A payer's profile: its class and the evidence behind it, as the classifier recorded it. */
export interface PayerProfile {
  address: string;
  class: string;
  flags: string[];
  /** The classifier's evidence object, rendered section by section. */
  evidence: unknown;
  firstFunder: string | null;
  clusterId: number | null;
  ruleVersion: string | null;
  labelVersion: string | null;
  /** Further facts the API gives (stats, labels, cluster…), rendered generically. */
  extra: Record<string, unknown>;
}
