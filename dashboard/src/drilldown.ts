// The payer drill-down: its class, the rules that fired, and the evidence behind them as the
// classifier recorded it. Known parts of the evidence get their own layout (labels with their
// registry transactions, funding-path hops, FIFO/haircut shares, cluster statistics); anything
// else is shown as a generic key/value tree, so no evidence is ever hidden from the analyst.

import { classBadge, classInfo } from "./classes";
import { fmtPct, fmtTime, shortHex } from "./format";
import type { PayerProfile } from "./model";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const HASH = /^0x[0-9a-fA-F]{64}$/;

/** A value as text/element: addresses and hashes in monospace with the full value as a tooltip. */
function valueNode(v: Json, key = ""): Node {
  if (v === null) return document.createTextNode("–");
  if (typeof v === "string") {
    if (ADDRESS.test(v) || HASH.test(v)) {
      const code = el("code", "mono", shortHex(v, 6));
      code.title = v;
      code.dataset.full = v;
      return code;
    }
    if (/(^|_)(at|time)$/.test(key) && !Number.isNaN(Date.parse(v))) return document.createTextNode(fmtTime(v));
    return document.createTextNode(v);
  }
  if (typeof v === "number") {
    if (/(share|ratio|fraction|pct)$/.test(key) && v >= 0 && v <= 1) return document.createTextNode(fmtPct(v));
    return document.createTextNode(String(v));
  }
  if (typeof v === "boolean") return document.createTextNode(v ? "yes" : "no");
  if (Array.isArray(v)) {
    if (v.length === 0) return document.createTextNode("none");
    if (v.every((x) => x !== null && typeof x === "object" && !Array.isArray(x))) return objectTable(v as { [k: string]: Json }[]);
    const span = el("span");
    v.forEach((x, i) => {
      if (i) span.append(", ");
      span.append(valueNode(x, key));
    });
    return span;
  }
  return keyValues(v);
}

/** An object as a definition list. */
function keyValues(o: { [k: string]: Json }): HTMLElement {
  const dl = el("dl");
  for (const [k, v] of Object.entries(o)) {
    dl.append(el("dt", undefined, humanize(k)));
    const dd = el("dd");
    dd.append(valueNode(v, k));
    dl.append(dd);
  }
  return dl;
}

/** An array of objects as a table whose columns are the union of their keys. */
function objectTable(rows: { [k: string]: Json }[]): HTMLElement {
  const keys: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!keys.includes(k)) keys.push(k);
  const table = el("table", "list");
  const head = table.createTHead().insertRow();
  for (const k of keys) head.append(el("th", undefined, humanize(k)));
  const body = table.createTBody();
  for (const r of rows) {
    const row = body.insertRow();
    for (const k of keys) row.insertCell().append(valueNode(r[k] ?? null, k));
  }
  return table;
}

function humanize(key: string): string {
  const s = key.replace(/_/g, " ");
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function isObject(v: unknown): v is { [k: string]: Json } {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Finds every value under a key matching `pattern`, anywhere in the evidence. */
function findAll(v: Json, pattern: RegExp, path: string[] = [], out: { path: string[]; value: Json }[] = []) {
  if (Array.isArray(v)) {
    v.forEach((x, i) => findAll(x, pattern, [...path, String(i)], out));
  } else if (isObject(v)) {
    for (const [k, x] of Object.entries(v)) {
      if (pattern.test(k)) out.push({ path: [...path, k], value: x });
      else findAll(x, pattern, [...path, k], out);
    }
  }
  return out;
}

/** Hops of a funding path: an array of objects that each have a from and a to. */
function isHopList(v: Json): v is { [k: string]: Json }[] {
  return Array.isArray(v) && v.length > 0 && v.every((h) => isObject(h) && "from" in h && "to" in h);
}

/** The path drawn as wallet → wallet boxes, each hop with its transaction, amount and time. */
function hopChain(hops: { [k: string]: Json }[]): HTMLElement {
  const box = el("div", "hops");
  box.dataset.hops = String(hops.length);
  hops.forEach((h) => {
    const hop = el("div", "hop");
    hop.dataset.hop = "";
    const line = el("div");
    line.append(valueNode(h.from ?? null), el("span", "arrow", " → "), valueNode(h.to ?? null));
    hop.append(line);
    const details: [string, Json][] = Object.entries(h).filter(([k]) => k !== "from" && k !== "to");
    for (const [k, v] of details) {
      const d = el("div", "k-note");
      d.append(`${humanize(k)}: `, valueNode(v, k));
      hop.append(d);
    }
    box.append(hop);
  });
  return box;
}

function section(title: string, body: Node, kind: string): HTMLElement {
  const s = el("section");
  s.dataset.evidence = kind;
  s.append(el("h3", undefined, title), body);
  return s;
}

/** Renders a payer profile into `root`. */
export function renderProfile(root: HTMLElement, p: PayerProfile): void {
  root.textContent = "";
  const info = classInfo(p.class);

  const verdict = el("div", "verdict");
  verdict.dataset.class = p.class;
  verdict.append(classBadge(p.class), el("span", undefined, info.meaning));
  root.append(verdict);

  const flags = el("div", "flags");
  flags.append(el("strong", undefined, "Rules that fired: "));
  if (p.flags.length === 0) flags.append("none");
  for (const f of p.flags) flags.append(el("code", undefined, f));
  root.append(flags);

  const facts: { [k: string]: Json } = {
    first_funder: p.firstFunder,
    cluster_id: p.clusterId,
    rule_version: p.ruleVersion,
    label_version: p.labelVersion,
  };
  const cols = el("div", "cols");
  cols.append(section("Classification", keyValues(facts), "facts"));
  for (const [k, v] of Object.entries(p.extra)) {
    if (v !== null && v !== undefined) cols.append(section(humanize(k), valueNode(v as Json, k), k));
  }
  root.append(cols);

  const evidence = (p.evidence ?? null) as Json;
  const shown = new Set<Json>();

  // Funding paths: every hop list, wherever the classifier put it.
  const paths = findAll(evidence, /(path|hops|funding_chain|route)$/i).filter((x) => isHopList(x.value));
  for (const { path, value } of paths) {
    shown.add(value);
    cols.parentElement?.append(section(`Funding path (${path.join(" › ")})`, hopChain(value as { [k: string]: Json }[]), "funding_path"));
  }

  // Labels with the registry transaction behind them.
  const labels = findAll(evidence, /labels?$/i);
  for (const { path, value } of labels) {
    if (shown.has(value)) continue;
    shown.add(value);
    root.append(section(`Labels (${path.join(" › ")})`, valueNode(value), "labels"));
  }

  // Project shares (FIFO and haircut).
  const shares = findAll(evidence, /(fifo|haircut|project_share|share)/i).filter((x) => typeof x.value === "number");
  if (shares.length) {
    const o: { [k: string]: Json } = {};
    for (const { path, value } of shares) o[`${path.join("_")}_share`.replace(/_share_share$/, "_share")] = value;
    root.append(section("Project shares (FIFO and haircut)", keyValues(o), "shares"));
  }

  // Cluster statistics.
  const clusters = findAll(evidence, /cluster/i).filter((x) => isObject(x.value));
  for (const { path, value } of clusters) {
    if (shown.has(value)) continue;
    shown.add(value);
    root.append(section(`Cluster (${path.join(" › ")})`, valueNode(value), "cluster"));
  }

  // Everything, as recorded, so nothing the classifier said is hidden.
  const all = el("details");
  all.append(el("summary", undefined, "All evidence as recorded"));
  all.append(evidence === null ? document.createTextNode("none recorded") : valueNode(evidence));
  root.append(section("Evidence", all, "raw"));
}
