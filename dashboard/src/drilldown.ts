// The payer drill-down: its class, the plain-language reasons, the rules that fired, and the
// evidence behind them: labels with their registry transactions, funding-path hops (each with
// its transaction, amount and time), FIFO and haircut project shares, and cluster statistics.
// The classifier's evidence objects are also shown whole, so nothing it recorded is hidden.

import { classBadge, classInfo } from "./classes";
import { fmtAmount, fmtCount, fmtPct, fmtTime, shortHex, units } from "./format";
import type { Label, PayerProfile, Token } from "./model";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const HASH = /^0x[0-9a-fA-F]{64}$/;

/**
 * What the profile being drawn knows: the token amounts are shown in, and names for addresses
 * (this payer, its payees, the token) so a funding path reads "its payee → this payer".
 */
const context: { token: Token | null; names: Map<string, string> } = { token: null, names: new Map() };

/** An address or hash in monospace, shortened, with the full value as tooltip and data-full. */
function hexNode(v: string): HTMLElement {
  const code = el("code", "mono", shortHex(v, 6));
  code.title = v;
  code.dataset.full = v.toLowerCase();
  const name = context.names.get(v.toLowerCase());
  if (!name) return code;
  const span = el("span", "named");
  span.append(code, el("span", "name", ` (${name})`));
  return span;
}

const AMOUNT_KEY = /^(amount|volume|usual_amount|back_amount|revenue)$/;

/** A raw token amount in the profile's token, with the raw value as tooltip and data-raw. */
function amountNode(raw: string | number): HTMLElement {
  const t = context.token;
  const span = el("span", undefined, t ? fmtAmount(units(raw, t.decimals), t.symbol) : String(raw));
  span.title = `${raw} raw units`;
  span.dataset.raw = String(raw);
  return span;
}

function isObject(v: unknown): v is Obj {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** A value as text/element: addresses and hashes as hexNode, shares as percentages, times readable. */
function valueNode(v: Json, key = ""): Node {
  if (v === null) return document.createTextNode("–");
  if (typeof v === "string") {
    if (ADDRESS.test(v) || HASH.test(v)) return hexNode(v);
    if (AMOUNT_KEY.test(key) && /^\d+$/.test(v)) return amountNode(v);
    if (/(^|_)(at|time|timestamp)$/.test(key) && !Number.isNaN(Date.parse(v))) return document.createTextNode(fmtTime(v));
    return document.createTextNode(v);
  }
  if (typeof v === "number") {
    if (/(share|ratio|fraction|fifo|haircut)$/.test(key) && v >= 0 && v <= 1) return document.createTextNode(fmtPct(v));
    return document.createTextNode(String(v));
  }
  if (typeof v === "boolean") return document.createTextNode(v ? "yes" : "no");
  if (Array.isArray(v)) {
    if (v.length === 0) return document.createTextNode("none");
    if (v.every(isObject)) return objectTable(v as Obj[]);
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
function keyValues(o: Obj): HTMLElement {
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
function objectTable(rows: Obj[]): HTMLElement {
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

/** Every value in `v` (depth first) that satisfies `test`, with the key path leading to it. */
function collect(
  v: Json,
  test: (key: string, value: Json) => boolean,
  path: string[] = [],
  out: { path: string[]; value: Json; parent: Obj | null }[] = [],
) {
  if (Array.isArray(v)) {
    v.forEach((x, i) => {
      if (test(String(i), x)) out.push({ path: [...path, String(i)], value: x, parent: null });
      else collect(x, test, [...path, String(i)], out);
    });
  } else if (isObject(v)) {
    for (const [k, x] of Object.entries(v)) {
      if (test(k, x)) out.push({ path: [...path, k], value: x, parent: v });
      else collect(x, test, [...path, k], out);
    }
  }
  return out;
}

/** A label as the classifier writes it: an address with a kind and a source. */
function isLabel(v: Json): boolean {
  return isObject(v) && typeof v.address === "string" && typeof v.kind === "string" && typeof v.source === "string";
}

/** Where a funding path ends: an exchange, a bridge, an ecosystem wallet, the mint, a hub… */
function endpointBox(end: Obj): HTMLElement {
  const box = el("div", "hop end");
  box.dataset.end = String(end.kind ?? "");
  const line = el("div");
  line.append("traced to ");
  if (typeof end.address === "string") line.append(valueNode(end.address));
  line.append(el("strong", undefined, ` ${String(end.kind ?? "").replace(/_/g, " ")}`));
  box.append(line);
  const label = end.label;
  if (isObject(label)) {
    box.append(el("div", "k-note", `label: ${[label.kind, label.role, label.source].filter(Boolean).join(" / ")}${label.note ? ` (${label.note})` : ""}`));
  }
  if (typeof end.note === "string") box.append(el("div", "k-note", end.note));
  return box;
}

/** A funding hop: an object with a from and a to address. */
function isHop(h: Json): h is Obj {
  return isObject(h) && typeof h.from === "string" && typeof h.to === "string";
}

const TX_KEYS = ["tx_hash", "tx", "transaction", "transaction_hash"];
const AMOUNT_KEYS = ["amount", "value"];
const TIME_KEYS = ["time", "block_time", "timestamp", "at"];

/** The path drawn as wallet → wallet boxes, each hop with its transaction, amount and time. */
function hopChain(hops: Obj[]): HTMLElement {
  const token = context.token;
  const box = el("div", "hops");
  box.dataset.hops = String(hops.length);
  for (const h of hops) {
    const hop = el("div", "hop");
    hop.dataset.hop = "";
    const line = el("div");
    line.append(valueNode(h.from ?? null), el("span", "arrow", " → "), valueNode(h.to ?? null));
    hop.append(line);
    // The facts an analyst checks first, in that order; the rest (log index…) is in the raw evidence.
    const pick = (keys: string[]) => keys.find((k) => h[k] !== undefined && h[k] !== null);
    const tx = pick(TX_KEYS);
    const amount = pick(AMOUNT_KEYS);
    const time = pick(TIME_KEYS);
    if (amount) {
      const d = el("div", "amount");
      d.append(amountNode(h[amount] as string));
      if (h.token && typeof h.token === "string" && token && h.token.toLowerCase() !== token.address.toLowerCase()) {
        d.append(" of token ", hexNode(h.token));
      }
      hop.append(d);
    }
    if (tx) {
      const d = el("div", "k-note");
      d.append("tx ", valueNode(h[tx] ?? null));
      hop.append(d);
    }
    if (time || h.block !== undefined) {
      const d = el("div", "k-note");
      d.append([time ? fmtTime(String(h[time])) : null, h.block !== undefined ? `block ${h.block}` : null].filter(Boolean).join(" · "));
      hop.append(d);
    }
    box.append(hop);
  }
  return box;
}

function section(title: string, body: Node, kind: string): HTMLElement {
  const s = el("section");
  s.dataset.evidence = kind;
  s.append(el("h3", undefined, title), body);
  return s;
}

function labelTable(labels: (Label & { address?: string })[], withAddress = false): HTMLElement {
  const table = el("table", "list");
  const head = table.createTHead().insertRow();
  const cols = ["Kind", "Role", "Source", "Holds from block", "Until", "Registry tx", "Note"];
  for (const h of withAddress ? ["Wallet", ...cols] : cols) head.append(el("th", undefined, h));
  const body = table.createTBody();
  for (const l of labels) {
    const row = body.insertRow();
    row.dataset.label = l.kind;
    if (withAddress) row.insertCell().append(l.address ? hexNode(l.address) : document.createTextNode("–"));
    row.insertCell().textContent = l.kind;
    row.insertCell().textContent = l.role ?? "–";
    row.insertCell().textContent = l.source;
    row.insertCell().textContent = String(l.validFromBlock);
    row.insertCell().textContent = l.validToBlock === null ? "still holds" : String(l.validToBlock);
    row.insertCell().append(l.registryTx ? hexNode(l.registryTx) : document.createTextNode("–"));
    row.insertCell().textContent = l.note || "–";
  }
  return table;
}

/** Renders a payer profile into `root`; amounts are shown in `token`'s units. */
export function renderProfile(root: HTMLElement, p: PayerProfile, token: Token | null): void {
  root.textContent = "";
  // The evidence's amounts are raw units of their own tokens: scaled only in a one-token view.
  context.token = token?.usd ? null : token;
  context.names = new Map([[p.address.toLowerCase(), "this payer"]]);
  for (const payee of p.topPayees) if (payee.address.toLowerCase() !== p.address.toLowerCase()) context.names.set(payee.address.toLowerCase(), "its payee");
  if (token && !token.usd) context.names.set(token.address.toLowerCase(), token.symbol);
  const sym = token?.symbol ?? "";

  // The verdict.
  const verdict = el("div", "verdict");
  verdict.dataset.class = p.class ?? "unclassified";
  const info = classInfo(p.class ?? "unclassified");
  verdict.append(classBadge(p.class ?? "unclassified"), el("span", undefined, info.meaning));
  root.append(verdict);
  if (p.explanation.length) {
    const why = el("ul", "explanation");
    for (const line of p.explanation) why.append(el("li", undefined, line));
    root.append(section("Why", why, "explanation"));
  }
  const flags = el("div", "flags");
  flags.append(el("strong", undefined, "Rules that fired: "));
  if (p.flags.length === 0) flags.append("none");
  for (const f of p.flags) flags.append(el("code", undefined, f));
  if (p.paymentFlags.length) {
    flags.append(el("span", "k-note", ` · on its payments: ${p.paymentFlags.map((f) => `${f.flag} ×${f.payments}`).join(", ")}`));
  }
  root.append(flags);

  // Activity and classification facts, side by side.
  const cols = el("div", "cols");
  const activity = el("dl");
  const facts: [string, Node][] = [
    ["Payments", document.createTextNode(fmtCount(p.payments))],
    [`Volume${sym ? ` (${sym})` : ""}`, document.createTextNode(fmtAmount(p.volume, sym))],
    ["Active days", document.createTextNode(fmtCount(p.activeDays))],
    ["Payees", document.createTextNode(fmtCount(p.payees))],
    ["First / last day", document.createTextNode(`${p.firstDay ?? "–"} / ${p.lastDay ?? "–"}`)],
  ];
  for (const [k, v] of facts) {
    const dd = el("dd");
    dd.append(v);
    activity.append(el("dt", undefined, k), dd);
  }
  cols.append(section("Activity", activity, "activity"));

  const cls = el("dl");
  const classFacts: [string, Node][] = [
    ["First funder", p.firstFunder ? hexNode(p.firstFunder) : document.createTextNode("none found")],
    [
      "Entity",
      p.entity.toLowerCase() === p.address.toLowerCase()
        ? document.createTextNode("this wallet alone")
        : (() => {
            const span = el("span");
            span.dataset.entity = p.entity.toLowerCase();
            span.append(hexNode(p.entity), el("span", "k-note", p.entityReason ? ` (${p.entityReason})` : ""));
            return span;
          })(),
    ],
    ["Rule version", document.createTextNode(p.ruleVersion ?? "–")],
    ["Label version", document.createTextNode(p.labelVersion ?? "–")],
    ["Classified at", document.createTextNode(fmtTime(p.classifiedAt))],
  ];
  for (const [k, v] of classFacts) {
    const dd = el("dd");
    dd.append(v);
    cls.append(el("dt", undefined, k), dd);
  }
  cols.append(section("Classification", cls, "facts"));

  if (p.byClass.length) {
    const t = el("table", "list");
    const h = t.createTHead().insertRow();
    for (const x of ["Class", "Payments", "Volume"]) h.append(el("th", x === "Class" ? undefined : "num", x));
    const b = t.createTBody();
    for (const c of p.byClass) {
      const r = b.insertRow();
      r.insertCell().append(classBadge(c.class));
      r.append(el("td", "num", fmtCount(c.payments)), el("td", "num", fmtAmount(c.volume, sym)));
    }
    cols.append(section("Its payments by class", t, "by_class"));
  }
  if (p.topPayees.length) {
    const t = el("table", "list");
    const h = t.createTHead().insertRow();
    for (const x of ["Payee", "Payments", "Volume"]) h.append(el("th", x === "Payee" ? undefined : "num", x));
    const b = t.createTBody();
    for (const c of p.topPayees) {
      const r = b.insertRow();
      r.insertCell().append(hexNode(c.address));
      r.append(el("td", "num", fmtCount(c.payments)), el("td", "num", fmtAmount(c.volume, sym)));
    }
    cols.append(section("Largest payees", t, "top_payees"));
  }
  root.append(cols);

  const evidences: { name: string; value: Json }[] = [{ name: "payer", value: (p.evidence ?? null) as Json }];
  if (p.example) evidences.push({ name: "payment", value: (p.example.evidence ?? null) as Json });

  // Labels: the payer's own (from the API), then every label the evidence cites (its funder's,
  // the wallet a path was traced to, sources of its tokens), once each.
  if (p.labels.length) root.append(section("Labels on this wallet", labelTable(p.labels), "labels"));
  const cited = new Map<string, Label & { address: string }>();
  for (const ev of evidences) {
    for (const { value } of collect(ev.value, (_k, v) => isLabel(v))) {
      const l = value as Obj;
      const key = `${l.address}|${l.kind}|${l.source}|${l.valid_from_block}|${l.role}`;
      if (cited.has(key)) continue;
      cited.set(key, {
        address: String(l.address),
        kind: String(l.kind),
        role: typeof l.role === "string" ? l.role : null,
        source: String(l.source),
        validFromBlock: Number(l.valid_from_block ?? 0),
        validToBlock: typeof l.valid_to_block === "number" ? l.valid_to_block : null,
        note: typeof l.note === "string" ? l.note : "",
        registryTx: typeof l.registry_tx === "string" ? l.registry_tx : null,
      });
    }
  }
  if (cited.size) root.append(section("Labels the evidence relies on", labelTable([...cited.values()], true), "labels"));

  // Funding paths: every list of hops in the evidence, with what the path was traced to.
  const seenPaths = new Set<string>();
  for (const ev of evidences) {
    for (const { path, value, parent } of collect(ev.value, (_k, v) => Array.isArray(v) && v.length > 0 && v.every(isHop))) {
      const key = JSON.stringify(value);
      if (seenPaths.has(key)) continue;
      seenPaths.add(key);
      const chain = hopChain(value as Obj[]);
      const end = parent?.traced_to;
      if (isObject(end)) chain.append(endpointBox(end));
      const where = [ev.name, ...path.slice(0, -1)].join(" › ");
      root.append(section(`Funding path (${where})`, chain, "funding_path"));
    }
  }

  // Project shares: the example payment's FIFO and haircut shares, and the payer's over its volume.
  const shares: Obj = {};
  if (p.example) {
    shares.latest_payment_fifo_share = p.example.projectShare;
    shares.latest_payment_haircut_share = p.example.haircutShare;
  }
  const payerShare = isObject(p.evidence) ? (p.evidence as Obj).project_share : null;
  if (isObject(payerShare)) {
    for (const [k, v] of Object.entries(payerShare)) shares[`all_payments_${k}${k === "threshold" ? "" : "_share"}`] = v;
  }
  if (Object.keys(shares).length) {
    const s = section("Project shares (FIFO and haircut)", keyValues(shares), "shares");
    s.append(el("p", "k-note", "Share of the tokens spent that came from ecosystem wallets: FIFO follows the tokens in order, haircut pro rata."));
    root.append(s);
  }

  // That payment itself: what settled, and the provider's evidence commitment behind it.
  if (p.example) {
    const e = p.example;
    const facts = el("dl");
    const add = (k: string, v: Node) => {
      const dd = el("dd");
      dd.append(v);
      facts.append(el("dt", undefined, k), dd);
    };
    add("Payment", hexNode(e.paymentId));
    if (e.txHash) add("Transaction", hexNode(e.txHash));
    add("Settled", document.createTextNode(`${e.settledAmount === null ? "–" : amountNode(e.settledAmount).textContent} · ${e.status ?? "–"} · ${fmtTime(e.time)}`));
    add("Evidence hash", e.evidenceHash ? hexNode(e.evidenceHash) : document.createTextNode("none yet"));
    if (e.proof) {
      const proof = el("span", e.proof.verified ? "proof ok" : "proof bad");
      proof.dataset.verified = String(e.proof.verified);
      proof.append(
        e.proof.verified ? "✓ verifies" : "✗ does not verify",
        ` against root `,
        hexNode(e.proof.root),
        ` of batch ${e.proof.batchId} (leaf ${e.proof.leafIndex + 1} of ${e.proof.leafCount}, tx `,
        hexNode(e.proof.batchTx),
        ")",
      );
      add("Inclusion proof", proof);
    }
    root.append(section("Its latest payment of this class", facts, "payment"));
  }

  // The rules that fired on that payment, each with the evidence that made it fire.
  const rules = p.example && isObject(p.example.evidence) ? (p.example.evidence as Obj).rules : null;
  if (isObject(rules)) {
    const box = el("div");
    for (const [name, ev] of Object.entries(rules)) {
      const rule = el("div", "rule");
      rule.dataset.rule = name;
      rule.append(el("h4", undefined, name), valueNode(ev, name));
      box.append(rule);
    }
    root.append(section("Rules that fired on its latest payment", box, "rules"));
  }

  // The funding cluster.
  if (p.cluster) {
    const c: Obj = { cluster_id: p.cluster.id, root_funder: p.cluster.rootFunder, members: p.cluster.members, ...(p.cluster.stats as Obj) };
    root.append(section("Funding cluster", keyValues(c), "cluster"));
  }

  // Everything, as recorded.
  const all = el("details");
  all.append(el("summary", undefined, "The classifier's evidence, as recorded"));
  for (const ev of evidences) {
    all.append(el("h3", undefined, ev.name === "payer" ? "Payer verdict" : "Latest payment of its class"));
    all.append(ev.value === null ? document.createTextNode("none recorded") : valueNode(ev.value));
  }
  root.append(section("Evidence", all, "raw"));
}
