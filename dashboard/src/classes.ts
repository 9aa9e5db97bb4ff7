// The classifier's payment classes, in rule order, with the colour and wording the dashboard
// uses for each everywhere (charts, badges, drill-down).

/** A class name as the API writes it. */
export type ClassName =
  | "self_payment"
  | "internal"
  | "self_dealing"
  | "project_funded"
  | "suspected_sybil"
  | "external"
  | "unattributed"
  | "unclassified";

export interface ClassInfo {
  name: ClassName;
  label: string;
  colour: string;
  /** One line an analyst reads in a tooltip or the drill-down header. */
  meaning: string;
}

// Organic demand is green; the kinds of non-organic demand are warm colours, so a stacked
// chart reads as "green versus the rest" at a glance.
export const CLASSES: readonly ClassInfo[] = [
  { name: "external", label: "External (organic)", colour: "#2e9e5b", meaning: "Organic demand: funded from exchanges, bridges or unrelated wallets" },
  { name: "project_funded", label: "Project-funded", colour: "#f2a93b", meaning: "Most of the tokens spent came from ecosystem wallets (faucet, airdrop, treasury)" },
  { name: "internal", label: "Internal", colour: "#4a78c2", meaning: "The payer is a labelled ecosystem wallet" },
  { name: "self_dealing", label: "Self-dealing", colour: "#d9534f", meaning: "Payer and payee are linked: declared wallet, funding hops, shared funder or money flowing back" },
  { name: "suspected_sybil", label: "Suspected sybil", colour: "#8e5ac8", meaning: "The payer sits in a funding cluster that pays like a farm" },
  { name: "self_payment", label: "Self-payment", colour: "#a33b3b", meaning: "Payer and payee are the same wallet" },
  { name: "unattributed", label: "Unattributed", colour: "#9aa3ad", meaning: "Not enough history to decide" },
  { name: "unclassified", label: "Not classified yet", colour: "#d4d8dd", meaning: "The classifier has not reached this payment yet" },
];

const BY_NAME = new Map(CLASSES.map((c) => [c.name, c]));

/** The class's display info; an unknown name (a newer API) still renders, in grey. */
export function classInfo(name: string): ClassInfo {
  return BY_NAME.get(name as ClassName) ?? { name: name as ClassName, label: name, colour: "#777", meaning: name };
}

/** A coloured badge for a class, as an element (never HTML text, so names cannot inject). */
export function classBadge(name: string): HTMLElement {
  const info = classInfo(name);
  const badge = document.createElement("span");
  badge.className = "badge";
  badge.dataset.class = info.name;
  badge.style.background = info.colour;
  badge.textContent = info.label;
  badge.title = info.meaning;
  return badge;
}
