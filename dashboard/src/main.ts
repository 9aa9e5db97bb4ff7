// The dashboard's entry point: reads the filters from the URL, loads everything the page shows
// from the API in parallel, and draws it. A payer picked in the table (or named in the URL's
// `payer` parameter) opens its drill-down.

import * as api from "./api";
import { ChartSlot } from "./chart";
import { renderProfile } from "./drilldown";
import { shortHex } from "./format";
import { ApiCallError } from "./http";
import { USD_VIEW, type Filters, type Token } from "./model";
import {
  renderClasses,
  renderCohorts,
  renderConcentration,
  renderCoverage,
  renderKpis,
  renderPayeeTable,
  renderPayerTable,
  renderPayers,
  renderVolume,
} from "./views";

function byId<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`the page has no #${id}`);
  return e as T;
}

const slots = {
  volume: new ChartSlot(byId("chart-volume")),
  payers: new ChartSlot(byId("chart-payers")),
  cohorts: new ChartSlot(byId("chart-cohorts")),
  concentration: new ChartSlot(byId("chart-concentration")),
  classes: new ChartSlot(byId("chart-classes")),
};

const status = byId("status");
const form = byId<HTMLFormElement>("filters");
const tokenSelect = byId<HTMLSelectElement>("f-token");
const sourceSelect = byId<HTMLSelectElement>("f-source");
let tokens: Token[] = [];
// First and last day with data: the date inputs' bounds and what "All time" means.
let dataWindow: { from: string; to: string } | null = null;
let defaultToken: string | null = null;
// Each load gets a number; answers of an older load (filters changed meanwhile) are dropped.
let generation = 0;

function setStatus(text: string, kind: "loading" | "error" | "note" | "" = ""): void {
  status.textContent = text;
  status.className = `status ${kind}`;
  document.body.dataset.status = kind === "loading" || kind === "error" ? kind : "ready";
}

function readFilters(): Filters {
  const q = new URLSearchParams(location.search);
  const bucket = q.get("bucket") === "week" ? "week" : "day";
  return {
    from: q.get("from") || undefined,
    to: q.get("to") || undefined,
    token: q.get("token") || undefined,
    payee: q.get("payee") || undefined,
    source: q.get("source") || undefined,
    bucket,
  };
}

function writeFilters(f: Filters, payer?: string | null): void {
  const q = new URLSearchParams();
  const live = new URLSearchParams(location.search).get("live");
  if (f.from) q.set("from", f.from);
  if (f.to) q.set("to", f.to);
  if (f.token) q.set("token", f.token);
  if (f.payee) q.set("payee", f.payee);
  if (f.source) q.set("source", f.source);
  if (f.bucket !== "day") q.set("bucket", f.bucket);
  if (payer) q.set("payer", payer);
  if (live !== null) q.set("live", live);
  const qs = q.toString();
  history.replaceState(null, "", qs ? `?${qs}` : location.pathname);
}

/** Shows the filters in the form; an open end shows the data's first or last day. */
function fillForm(f: Filters): void {
  (form.elements.namedItem("from") as HTMLInputElement).value = f.from ?? dataWindow?.from ?? "";
  (form.elements.namedItem("to") as HTMLInputElement).value = f.to ?? dataWindow?.to ?? "";
  (form.elements.namedItem("bucket") as HTMLSelectElement).value = f.bucket;
  tokenSelect.value = f.token ?? "";
  sourceSelect.value = f.source ?? "";
  (form.elements.namedItem("payee") as HTMLInputElement).value = f.payee ?? "";
  byId("payee-chip").hidden = !f.payee;
  byId("payee-chip-address").textContent = f.payee ? shortHex(f.payee, 6) : "";
  byId("payee-chip-address").title = f.payee ?? "";
}

/** The form's filters; a date equal to the data's first or last day is left open, so a saved
 * link keeps meaning "up to the latest day" as data arrives. */
function formFilters(): Filters {
  const data = new FormData(form);
  const get = (k: string) => (data.get(k) as string | null) || undefined;
  const from = get("from");
  const to = get("to");
  return {
    from: from === dataWindow?.from ? undefined : from,
    to: to === dataWindow?.to ? undefined : to,
    token: get("token"),
    payee: get("payee"),
    source: get("source"),
    bucket: get("bucket") === "week" ? "week" : "day",
  };
}

/** Applies new filters: into the URL, then a redraw. */
function apply(f: Filters): void {
  writeFilters(f);
  void load(f);
}

async function loadTokens(): Promise<void> {
  const [status, sources] = await Promise.all([api.tokens(), api.sources()]);
  sourceSelect.textContent = "";
  const every = document.createElement("option");
  every.value = "";
  every.textContent = "All sources";
  sourceSelect.append(every);
  for (const s of sources) {
    const o = document.createElement("option");
    o.value = s.name;
    o.textContent = `${s.name} (${s.payments})`;
    o.title = s.description;
    sourceSelect.append(o);
  }
  tokens = status.tokens;
  dataWindow = status.window;
  defaultToken = status.busiest;
  for (const name of ["from", "to"]) {
    const input = form.elements.namedItem(name) as HTMLInputElement;
    input.min = dataWindow?.from ?? "";
    input.max = dataWindow?.to ?? "";
  }
  byId("f-reset").title = dataWindow ? `${dataWindow.from} to ${dataWindow.to}` : "";
  tokenSelect.textContent = "";
  // Every token at once, in USD (stablecoins at par, configured prices; unpriced tokens left out).
  const all = document.createElement("option");
  all.value = USD_VIEW.address;
  all.textContent = "All tokens (USD)";
  all.title = "Every token, in USD from the API's price source";
  tokenSelect.append(all);
  for (const t of tokens) {
    const o = document.createElement("option");
    o.value = t.address;
    o.textContent = t.symbol;
    o.title = t.address;
    tokenSelect.append(o);
  }
}

/**
 * Raw units of different tokens do not add up: a view shows one token in its units, or every
 * token in USD (`token=usd`). Without a choice, the busiest token.
 */
function resolveToken(f: Filters): Token | null {
  const wanted = f.token ?? defaultToken;
  if (wanted?.toLowerCase() === USD_VIEW.address) return USD_VIEW;
  return tokens.find((t) => t.address.toLowerCase() === wanted?.toLowerCase()) ?? tokens[0] ?? null;
}

async function load(f: Filters): Promise<void> {
  const mine = ++generation;
  const token = resolveToken(f);
  const filters: Filters = { ...f, token: token?.address };
  fillForm(filters);
  setStatus("Loading…", "loading");
  document.querySelectorAll<HTMLAnchorElement>("a[data-csv]").forEach((a) => {
    a.href = api.csvUrl(a.dataset.csv as "series" | "retention" | "payers" | "payees", filters);
    a.title = "Download these figures as CSV (exact raw units per token, and USD)";
  });
  const results = await Promise.allSettled([
    api.summary(filters, token, tokens),
    api.series(filters, token),
    api.cohorts(filters),
    api.topPayers(filters, token),
    api.topPayees(filters, token),
  ]);
  if (mine !== generation) return;
  const [summary, series, cohorts, payers, payees] = results;
  const errors: string[] = [];
  const warnings: string[] = [];
  if (f.token && token && token.address.toLowerCase() !== f.token.toLowerCase()) {
    warnings.push(`Token ${f.token} is not one the API knows; showing ${token.symbol}.`);
  }
  // Several calls usually fail for one reason (a bad parameter): say it once.
  const failed = (r: PromiseSettledResult<unknown>): r is PromiseRejectedResult => {
    if (r.status === "rejected") {
      const why = r.reason instanceof ApiCallError ? r.reason.detail : (r.reason as Error).message;
      if (!errors.includes(why)) errors.push(why);
    }
    return r.status === "rejected";
  };

  const notes: string[] = [];
  if (!failed(summary)) {
    if (token?.usd && summary.value.unpriced.length) {
      notes.push(`Not in the USD figures (no price): ${summary.value.unpriced.join(", ")}.`);
    }
    renderKpis(byId("kpis"), summary.value, token);
    renderConcentration(slots.concentration, byId("concentration-figures"), summary.value.payerConcentration, summary.value.payeeConcentration);
    renderClasses(slots.classes, byId("class-figures"), summary.value, token);
    renderCoverage(byId("coverage"), summary.value);
  } else {
    byId("kpis").textContent = "";
    byId("concentration-figures").textContent = "";
    byId("class-figures").textContent = "";
    slots.concentration.showText("Could not load the summary", "error");
    slots.classes.showText("Could not load the summary", "error");
  }
  if (!failed(series)) {
    renderVolume(slots.volume, series.value, token);
    renderPayers(slots.payers, series.value);
  } else {
    slots.volume.showText("Could not load the series", "error");
    slots.payers.showText("Could not load the series", "error");
  }
  if (!failed(cohorts)) renderCohorts(slots.cohorts, cohorts.value);
  else slots.cohorts.showText("Could not load the cohorts", "error");
  if (!failed(payers)) renderPayerTable(byId("top-payers"), payers.value, token, (a) => void openPayer(a));
  else tableText(byId("top-payers"), "Could not load the payers");
  if (!failed(payees)) {
    renderPayeeTable(byId("top-payees"), payees.value, token, filters.payee ?? null, (payee) => apply({ ...formFilters(), payee }));
  } else {
    tableText(byId("top-payees"), "Could not load the payees");
  }

  if (errors.length) warnings.push(`Some parts could not be loaded: ${errors.join("; ")}`);
  setStatus([...warnings, ...notes].join(" "), warnings.length ? "error" : notes.length ? "note" : "");
  document.body.dataset.loaded = String(mine);
}

// Each drill-down gets a number too: a slow profile must not overwrite a later click's.
let drillGeneration = 0;

/** Replaces a table's content with one line of text. */
function tableText(table: HTMLElement, text: string): void {
  table.textContent = "";
  const cell = (table as HTMLTableElement).createTBody().insertRow().insertCell();
  cell.textContent = text;
}

async function openPayer(address: string): Promise<void> {
  const mine = ++drillGeneration;
  const panel = byId("drilldown");
  const body = byId("drill-body");
  panel.hidden = false;
  panel.dataset.state = "loading";
  byId("drill-address").textContent = address;
  body.textContent = "Loading the evidence…";
  writeFilters(formFilters(), address);
  try {
    const token = resolveToken(formFilters());
    const profile = await api.payerProfile(address, token);
    if (mine !== drillGeneration) return;
    renderProfile(body, profile, token);
    panel.dataset.state = "ready";
    panel.dataset.payer = address;
    panel.scrollIntoView({ behavior: "smooth", block: "start" });
  } catch (e) {
    if (mine !== drillGeneration) return;
    body.textContent = `Could not load this payer: ${(e as Error).message}`;
    panel.dataset.state = "error";
  }
}

function closePayer(): void {
  byId("drilldown").hidden = true;
  document.querySelectorAll("#top-payers tr.selected").forEach((t) => t.classList.remove("selected"));
  writeFilters(formFilters());
}

/**
 * Live mode: the page polls the API's read-model generation (every `live` seconds from the URL,
 * default 15; 0 turns it off) and redraws the overview with the same filters when it moved, so a
 * running indexer and classifier (the devnet demo) fill the charts in as payments settle.
 */
function startLive(): void {
  const raw = new URLSearchParams(location.search).get("live");
  const seconds = raw === null ? 15 : Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0) return;
  let known: number | null = null;
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const g = await api.generation();
      if (known !== null && g !== known) {
        const f = formFilters();
        await loadTokens();
        if (tokens.length > 0) await load(f);
      }
      known = g;
    } catch {
      // The API is restarting or unreachable; the next tick tries again.
    } finally {
      busy = false;
    }
  };
  void tick();
  setInterval(() => void tick(), seconds * 1000);
}

async function start(): Promise<void> {
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    apply(formFilters());
  });
  byId("f-reset").addEventListener("click", () => apply({ ...formFilters(), from: undefined, to: undefined }));
  byId("payee-chip-clear").addEventListener("click", () => apply({ ...formFilters(), payee: undefined }));
  byId("drill-close").addEventListener("click", closePayer);
  try {
    await loadTokens();
  } catch (e) {
    setStatus(`Could not reach the API: ${(e as Error).message}`, "error");
    return;
  }
  if (tokens.length === 0) {
    setStatus("No payments indexed yet: the charts fill in once the indexer and classifier have run.", "note");
    for (const s of Object.values(slots)) s.showText("No data yet", "empty");
    startLive();
    return;
  }
  await load(readFilters());
  const payer = new URLSearchParams(location.search).get("payer");
  if (payer) await openPayer(payer);
  startLive();
}

void start();
