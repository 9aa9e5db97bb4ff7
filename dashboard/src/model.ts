// What the dashboard draws, independent of the API's wire format (api.ts maps one to the
// other). Volumes are in the view's unit: the selected token's units (already scaled by its
// decimals), or USD when the view spans every token.

import type { ClassName } from "./classes";

/** The analyst's filters, as they appear in the page's URL. */
export interface Filters {
  from?: string;
  to?: string;
  token?: string;
  /** Only payments to this payee (a click on a row of the payee table). */
  payee?: string;
  /** Only payments from this source (`settlement`, `eip3009`, ...; the API's `/v1/sources`). */
  source?: string;
  bucket: "day" | "week";
}

/** A payment source the API knows (a value of the `source` filter). */
export interface Source {
  name: string;
  description: string;
  payments: number;
}

/** A token payments were made in, or the all-token view in USD (`usd` set). */
export interface Token {
  address: string;
  symbol: string;
  decimals: number;
  usd?: boolean;
}

/** The all-token view: every token, amounts in USD over the priced tokens (`token=usd` in the URL). */
export const USD_VIEW: Token = { address: "usd", symbol: "USD", decimals: 0, usd: true };

/** Volume, payments and payers of one class. */
export interface ClassTotals {
  class: ClassName;
  volume: number;
  count: number;
  payers: number;
  entities: number;
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
  /** The unit shares and concentration are computed in, as the API names it. */
  unit: string;
  /** Tokens in scope without a USD price (left out of the USD figures). */
  unpriced: string[];
  grossVolume: number;
  grossCount: number;
  organicVolume: number;
  organicShare: number | null;
  organicShareByCount: number | null;
  taintAdjustedOrganic: number | null;
  byClass: ClassTotals[];
  uniquePayers: number | null;
  /** Paying entities: wallets the evidence ties together count once. */
  uniqueEntities: number | null;
  externalPayers: number | null;
  externalEntities: number | null;
  repeatRate: number | null;
  stickiness: number | null;
  meanPayment: number | null;
  medianPayment: number | null;
  payeesPerExternalPayer: number | null;
  /** External payers whose first payment falls in the window, and those who paid before it. */
  newExternalPayers: number | null;
  returningExternalPayers: number | null;
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
  /** The paying entity it belongs to (its smallest wallet). */
  entity: string;
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
  entities: number | null;
  organicShare: number | null;
  label: string | null;
}

/** A label on a wallet, and the registry transaction behind it. */
export interface Label {
  kind: string;
  role: string | null;
  source: string;
  validFromBlock: number;
  validToBlock: number | null;
  note: string;
  registryTx: string | null;
}

/** A payer's funding cluster and its statistics. */
export interface Cluster {
  id: number | string;
  rootFunder: string;
  members: number;
  stats: Record<string, unknown>;
}

/** The classification of one payment, with its FIFO and haircut project shares. */
export interface PaymentVerdict {
  paymentId: string;
  txHash: string | null;
  class: string;
  flags: string[];
  evidence: unknown;
  projectShare: number | null;
  haircutShare: number | null;
  /** The evidence hash the provider committed for this payment (null before any capture). */
  evidenceHash: string | null;
  status: string | null;
  settledAmount: string | null;
  time: string | null;
  /** For batched evidence: the batch, its Merkle root and whether the inclusion proof verifies. */
  proof: { batchId: string; batchTx: string; root: string; leafIndex: number; leafCount: number; verified: boolean } | null;
}

/** A payer's profile: its class and everything behind it. */
export interface PayerProfile {
  address: string;
  /** null until the classifier reached the payer. */
  class: string | null;
  flags: string[];
  /** Plain-language reasons. */
  explanation: string[];
  /** The classifier's evidence object for the payer. */
  evidence: unknown;
  firstFunder: string | null;
  /** The paying entity (its smallest wallet) and why its wallets are one (null: one wallet). */
  entity: string;
  entityReason: string | null;
  ruleVersion: string | null;
  labelVersion: string | null;
  classifiedAt: string | null;
  labels: Label[];
  cluster: Cluster | null;
  payments: number;
  volume: number;
  activeDays: number;
  payees: number;
  firstDay: string | null;
  lastDay: string | null;
  byClass: { class: string; payments: number; volume: number }[];
  topPayees: { address: string; payments: number; volume: number }[];
  paymentFlags: { flag: string; payments: number }[];
  /** The payer's most recent payment of its class, with the shares the classifier computed. */
  example: PaymentVerdict | null;
}
