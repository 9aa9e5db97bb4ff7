// The overview: headline figures, charts and the top-payer/payee tables. Each function takes
// view models (model.ts) and draws one part of the page.

import { CLASSES, classBadge, classInfo, type ClassName } from "./classes";
import { ChartSlot } from "./chart";
import { fmtAmount, fmtCount, fmtDate, fmtNum, fmtPct, shortHex } from "./format";
import type { Cohort, Concentration, PayeeRow, PayerRow, SeriesBucket, Summary, Token } from "./model";

const axisLabel = { color: "#5f6b7a" };
const gridLines = { lineStyle: { color: "#eceff2" } };

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** The headline cards. */
export function renderKpis(root: HTMLElement, s: Summary, token: Token | null): void {
  const sym = token?.symbol ?? "";
  const cards: [string, string, string, string?][] = [
    ["Gross volume", fmtAmount(s.grossVolume, sym), `${fmtCount(s.grossCount)} payments`],
    ["Organic volume", fmtAmount(s.organicVolume, sym), "external payers only", "organic"],
    ["Organic share", fmtPct(s.organicShare), `by count ${fmtPct(s.organicShareByCount)}`, "organic"],
    ["Taint-adjusted organic", s.taintAdjustedOrganic === null ? "–" : fmtAmount(s.taintAdjustedOrganic, sym), "amount × (1 − project share)"],
    ["External payers", s.externalPayers === null ? "–" : fmtCount(s.externalPayers), s.uniquePayers === null ? "" : `of ${fmtCount(s.uniquePayers)} paying wallets`],
    [
      "Paying entities",
      s.externalEntities === null ? "–" : fmtCount(s.externalEntities),
      s.uniqueEntities === null ? "" : `external, of ${fmtCount(s.uniqueEntities)} entities (tied wallets count once)`,
    ],
    ["New external payers", s.newExternalPayers === null ? "–" : fmtCount(s.newExternalPayers), `${s.returningExternalPayers === null ? "–" : fmtCount(s.returningExternalPayers)} returning · ${fmtNum(s.payeesPerExternalPayer, 1)} payees each`],
    ["Repeat-payer rate", fmtPct(s.repeatRate), "paid on ≥ 2 distinct days"],
    ["Stickiness", fmtPct(s.stickiness), "mean daily / monthly active"],
    s.medianPayment === null && token?.usd
      ? ["Mean payment", s.meanPayment === null ? "–" : fmtAmount(s.meanPayment, sym), "priced tokens; medians are per token"]
      : ["Median payment", s.medianPayment === null ? "–" : fmtAmount(s.medianPayment, sym), s.meanPayment === null ? "" : `mean ${fmtAmount(s.meanPayment, sym)}`],
  ];
  root.textContent = "";
  for (const [label, value, note, cls] of cards) {
    const card = el("div", `kpi${cls ? ` ${cls}` : ""}`);
    card.dataset.kpi = label;
    const v = el("div", "k-value", value);
    // The token symbol in a smaller font, so large amounts fit the card.
    if (sym && value.endsWith(` ${sym}`)) {
      v.textContent = value.slice(0, -sym.length - 1);
      v.append(el("span", "k-unit", ` ${sym}`));
    }
    card.append(el("div", "k-label", label), v, el("div", "k-note", note));
    root.appendChild(card);
  }
}

/** Stacked volume by class per bucket, with the organic share as a line on a second axis. */
export function renderVolume(slot: ChartSlot, buckets: SeriesBucket[], token: Token | null): void {
  const x = buckets.map((b) => fmtDate(b.start));
  const present = CLASSES.filter((c) => buckets.some((b) => (b.volumeByClass[c.name] ?? 0) > 0));
  const bars = present.map((c) => ({
    name: c.label,
    type: "bar",
    stack: "volume",
    itemStyle: { color: c.colour },
    emphasis: { focus: "series" },
    data: buckets.map((b) => round(b.volumeByClass[c.name] ?? 0)),
  }));
  const share = {
    name: "Organic share",
    type: "line",
    yAxisIndex: 1,
    smooth: false,
    symbolSize: 5,
    lineStyle: { width: 2.5, color: "#0f5132" },
    itemStyle: { color: "#0f5132" },
    data: buckets.map((b) => (b.organicShare === null ? null : round(b.organicShare * 100, 1))),
  };
  slot.render(
    {
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { top: 0, type: "scroll" },
      grid: { left: 60, right: 56, top: 36, bottom: 28 },
      xAxis: { type: "category", data: x, axisLabel },
      yAxis: [
        { type: "value", name: token ? token.symbol : "volume", axisLabel, splitLine: gridLines },
        { type: "value", name: "organic %", min: 0, max: 100, axisLabel: { ...axisLabel, formatter: "{value}%" }, splitLine: { show: false } },
      ],
      series: [...bars, share],
    },
    buckets.length > 0 && present.length > 0,
  );
}

/** Active external payers per bucket, split into first-time and returning. */
export function renderPayers(slot: ChartSlot, buckets: SeriesBucket[]): void {
  const x = buckets.map((b) => fmtDate(b.start));
  const has = buckets.some((b) => (b.activePayers ?? 0) > 0);
  slot.render(
    {
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 44, right: 16, top: 36, bottom: 28 },
      xAxis: { type: "category", data: x, axisLabel },
      yAxis: { type: "value", minInterval: 1, axisLabel, splitLine: gridLines },
      series: [
        { name: "New", type: "bar", stack: "payers", itemStyle: { color: "#7cc79a" }, data: buckets.map((b) => b.newPayers ?? 0) },
        { name: "Returning", type: "bar", stack: "payers", itemStyle: { color: "#2e9e5b" }, data: buckets.map((b) => b.returningPayers ?? 0) },
        { name: "Active", type: "line", symbolSize: 5, itemStyle: { color: "#14202e" }, data: buckets.map((b) => b.activePayers ?? 0) },
      ],
    },
    has,
    "No external payers in this window",
  );
}

/** Cohort retention heatmap: rows are first-payment weeks, columns weeks since. */
export function renderCohorts(slot: ChartSlot, cohorts: Cohort[]): void {
  const width = Math.max(0, ...cohorts.map((c) => c.retention.length));
  const rows = cohorts.map((c) => `${fmtDate(c.start)} (${c.size})`);
  const cols = Array.from({ length: width }, (_, k) => `+${k}`);
  const data: [number, number, number][] = [];
  cohorts.forEach((c, row) => {
    c.retention.forEach((r, k) => {
      if (r !== null) data.push([k, row, round(r * 100, 1)]);
    });
  });
  slot.render(
    {
      tooltip: {
        formatter: (p: { value: [number, number, number] }) => {
          const [k, row, pct] = p.value;
          const revenue = cohorts[row]?.revenueRetention[k];
          const rev = revenue === null || revenue === undefined ? "" : `<br>revenue: ${fmtPct(revenue)} of week 0`;
          return `cohort of ${rows[row]}<br>week +${k}: ${pct}% still paying${rev}`;
        },
      },
      grid: { left: 124, right: 16, top: 12, bottom: 64 },
      xAxis: { type: "category", data: cols, name: "weeks since first payment", nameLocation: "middle", nameGap: 24, axisLabel },
      yAxis: { type: "category", data: rows, inverse: true, axisLabel },
      visualMap: {
        min: 0,
        max: 100,
        calculable: false,
        orient: "horizontal",
        left: "center",
        bottom: 0,
        itemHeight: 120,
        itemWidth: 10,
        text: ["100%", "0%"],
        inRange: { color: ["#f3f6f4", "#9fd7b4", "#2e9e5b", "#0f5132"] },
      },
      series: [
        {
          name: "Retention",
          type: "heatmap",
          data,
          label: { show: width <= 12, formatter: (p: { value: [number, number, number] }) => `${Math.round(p.value[2])}`, fontSize: 10 },
        },
      ],
    },
    data.length > 0,
    "No cohorts in this window",
  );
}

/** Top-1/5/10 shares of payers and payees as grouped bars, and the other figures as a table. */
export function renderConcentration(slot: ChartSlot, table: HTMLTableElement, payers: Concentration | null, payees: Concentration | null): void {
  const cats = ["Top 1", "Top 5", "Top 10"];
  const pick = (c: Concentration | null) => [c?.top1, c?.top5, c?.top10].map((v) => (v === null || v === undefined ? null : round(v * 100, 1)));
  const has = [payers, payees].some((c) => c && c.holders > 0);
  slot.render(
    {
      tooltip: { trigger: "axis", valueFormatter: (v: number) => `${v}%` },
      legend: { top: 0 },
      grid: { left: 44, right: 16, top: 30, bottom: 24 },
      xAxis: { type: "category", data: cats, axisLabel },
      yAxis: { type: "value", max: 100, axisLabel: { ...axisLabel, formatter: "{value}%" }, splitLine: gridLines },
      series: [
        { name: "Payers", type: "bar", itemStyle: { color: "#4a78c2" }, data: pick(payers), label: { show: true, position: "top", formatter: "{c}%", fontSize: 10 } },
        { name: "Payees", type: "bar", itemStyle: { color: "#f2a93b" }, data: pick(payees), label: { show: true, position: "top", formatter: "{c}%", fontSize: 10 } },
      ],
    },
    has,
  );
  table.textContent = "";
  const head = table.createTHead().insertRow();
  for (const h of ["", "Holders", "HHI", "Effective", "Gini"]) head.appendChild(el("th", h ? "num" : undefined, h));
  const body = table.createTBody();
  for (const [name, c] of [["Payers", payers], ["Payees", payees]] as const) {
    const row = body.insertRow();
    row.appendChild(el("th", undefined, name));
    for (const v of [c ? fmtCount(c.holders) : "–", fmtNum(c?.hhi, 3), fmtNum(c?.effective, 1), fmtNum(c?.gini, 2)]) {
      row.appendChild(el("td", "num", v));
    }
  }
}

/** Volume per class over the window (horizontal bars), with counts and payers in a table. */
export function renderClasses(slot: ChartSlot, table: HTMLTableElement, s: Summary, token: Token | null): void {
  const order = CLASSES.map((c) => c.name as string);
  const rows = [...s.byClass].sort((a, b) => order.indexOf(a.class) - order.indexOf(b.class));
  const shown = rows.filter((r) => r.volume > 0 || r.count > 0);
  slot.render(
    {
      tooltip: { trigger: "item" },
      grid: { left: 120, right: 64, top: 8, bottom: 20 },
      xAxis: { type: "value", axisLabel, splitLine: gridLines },
      yAxis: { type: "category", inverse: true, data: shown.map((r) => classInfo(r.class).label), axisLabel },
      series: [
        {
          name: token ? `Volume (${token.symbol})` : "Volume",
          type: "bar",
          data: shown.map((r) => ({ value: round(r.volume), itemStyle: { color: classInfo(r.class).colour } })),
          label: { show: true, position: "right", formatter: (p: { value: number }) => fmtAmount(p.value), fontSize: 10 },
        },
      ],
    },
    shown.length > 0,
  );
  table.textContent = "";
  const head = table.createTHead().insertRow();
  for (const h of ["Class", `Volume${token ? ` (${token.symbol})` : ""}`, "Share", "Payments", "Payers", "Entities"]) {
    head.appendChild(el("th", h === "Class" ? undefined : "num", h));
  }
  const body = table.createTBody();
  for (const r of shown) {
    const row = body.insertRow();
    row.insertCell().appendChild(classBadge(r.class));
    const cells = [fmtAmount(r.volume), fmtPct(s.grossVolume > 0 ? r.volume / s.grossVolume : null), fmtCount(r.count), fmtCount(r.payers), fmtCount(r.entities)];
    for (const v of cells) {
      row.appendChild(el("td", "num", v));
    }
  }
}

/** The top payers; a click on a row calls `onPick` with its address. */
export function renderPayerTable(table: HTMLTableElement, rows: PayerRow[], token: Token | null, onPick: (address: string) => void): void {
  table.textContent = "";
  const head = table.createTHead().insertRow();
  for (const h of ["Payer", "Class", `Volume${token ? ` (${token.symbol})` : ""}`, "Payments", "Payees"]) {
    head.appendChild(el("th", h === "Payer" || h === "Class" ? undefined : "num", h));
  }
  const body = table.createTBody();
  if (rows.length === 0) {
    const cell = body.insertRow().insertCell();
    cell.colSpan = 5;
    cell.textContent = "No payers in this window";
    return;
  }
  for (const r of rows) {
    const row = body.insertRow();
    row.className = "clickable";
    row.dataset.payer = r.address;
    row.title = `${r.address}: click for the evidence behind its class`;
    row.appendChild(el("td", "mono", shortHex(r.address, 6)));
    row.insertCell().appendChild(classBadge(r.class));
    row.appendChild(el("td", "num", fmtAmount(r.volume)));
    row.appendChild(el("td", "num", fmtCount(r.count)));
    row.appendChild(el("td", "num", r.payees === null ? "–" : fmtCount(r.payees)));
    row.addEventListener("click", () => {
      table.querySelectorAll("tr.selected").forEach((t) => t.classList.remove("selected"));
      row.classList.add("selected");
      onPick(r.address);
    });
  }
}

/**
 * The top payees with the organic share of what they received; a click on a row calls `onPick`
 * (the page then shows only that payee's payments), a click on the selected one clears it.
 */
export function renderPayeeTable(
  table: HTMLTableElement,
  rows: PayeeRow[],
  token: Token | null,
  selected: string | null,
  onPick: (payee: string | undefined) => void,
): void {
  table.textContent = "";
  const head = table.createTHead().insertRow();
  for (const h of ["Payee", `Volume${token ? ` (${token.symbol})` : ""}`, "Organic share", "Payments", "Payers", "Entities"]) {
    head.appendChild(el("th", h === "Payee" || h === "Organic share" ? undefined : "num", h));
  }
  const body = table.createTBody();
  if (rows.length === 0) {
    const cell = body.insertRow().insertCell();
    cell.colSpan = 6;
    cell.textContent = "No payees in this window";
    return;
  }
  for (const r of rows) {
    const row = body.insertRow();
    row.dataset.payee = r.address;
    row.className = "payee-row";
    const isSelected = selected !== null && selected.toLowerCase() === r.address.toLowerCase();
    if (isSelected) row.classList.add("selected");
    row.title = isSelected ? "Click to show every payee again" : `${r.address}: click to see only its payments`;
    row.addEventListener("click", () => onPick(isSelected ? undefined : r.address));
    const who = el("td", "mono", shortHex(r.address, 6));
    if (r.label) who.append(el("span", "k-note", ` ${r.label}`));
    row.appendChild(who);
    row.appendChild(el("td", "num", fmtAmount(r.volume)));
    const share = row.insertCell();
    const bar = el("span", "share-bar");
    const fill = el("i");
    fill.style.width = `${Math.round((r.organicShare ?? 0) * 100)}%`;
    bar.appendChild(fill);
    share.append(bar, fmtPct(r.organicShare));
    row.appendChild(el("td", "num", fmtCount(r.count)));
    row.appendChild(el("td", "num", r.payers === null ? "–" : fmtCount(r.payers)));
    row.appendChild(el("td", "num", r.entities === null ? "–" : fmtCount(r.entities)));
  }
}

/** The footer: rule and label versions and how much is unattributed. */
export function renderCoverage(root: HTMLElement, s: Summary): void {
  const c = s.coverage;
  const parts = [
    `Unattributed: ${fmtPct(c.unattributedShare)} of volume`,
    `shares in ${s.unit}`,
    c.unclassifiedShare ? `not yet classified: ${fmtPct(c.unclassifiedShare)}` : null,
    c.ruleVersion ? `rules ${c.ruleVersion}` : null,
    c.labelVersion ? `labels ${c.labelVersion}` : null,
    ...c.detail,
  ].filter(Boolean);
  root.textContent = parts.join(" · ");
}

function round(v: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

export type { ClassName };
