// Browser test of the analyst dashboard: Debian's Chromium (driven by playwright-core) loads the
// page from the real x402-api binary over a real PostgreSQL database holding the known economy of
// fixture.mjs as classified by the real x402-classifier, and checks what an analyst would: every chart drawn with data, the tables' classes,
// the payer drill-down's evidence, the token and window filters, and an API error shown plainly.
// Saves a screenshot of the page with a drill-down open to .run/dashboard.png.
//
// Run with script/test-dashboard.sh (builds what it needs first).

import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { latePaymentSql } from "./fixture.mjs";
import { RUN_DIR, classify, createMigratedDatabase, createPopulatedDatabase, launchBrowser, runSql, startApi, stopAll } from "./harness.mjs";

const CHARTS = ["volume", "payers", "cohorts", "concentration", "classes"];

let api; // { base, status }
let databaseUrl;
let truth;
let context;
let page;
const pageErrors = [];

const lower = (s) => s.toLowerCase();

async function apiJson(path) {
  const r = await fetch(`${api.base}${path}`);
  assert.equal(r.status, 200, `${path} answered ${r.status}`);
  return r.json();
}

/** Waits until the page finished a load (no "Loading…" and a new data-loaded generation). */
async function waitLoaded(previous = "") {
  await page.waitForFunction(
    (prev) => document.body.dataset.loaded && document.body.dataset.loaded !== prev && document.body.dataset.status !== "loading",
    previous,
    { timeout: 30_000 },
  );
}

async function chartState(name) {
  return page.$eval(`[data-chart="${name}"]`, (e) => ({
    state: e.dataset.state,
    points: Number(e.dataset.points),
    series: Number(e.dataset.series),
    categories: Number(e.dataset.categories),
  }));
}

async function openFromTable(address) {
  const shown = await checksummed(address);
  const target = page.locator(`#top-payers tr[data-payer="${shown}"]`);
  assert.equal(await target.count(), 1, `payer ${address} is not in the top-payers table`);
  await target.click();
  await page.waitForSelector(`#drilldown[data-state="ready"][data-payer="${shown}"]`, { timeout: 15_000 });
}

/** The address as the API writes it (EIP-55), read from the payer list. */
const checksumCache = new Map();
async function checksummed(address) {
  if (!checksumCache.has(lower(address))) {
    const list = await apiJson(`/v1/payers?limit=1000`);
    for (const p of list.items) checksumCache.set(lower(p.payer), p.payer);
  }
  const found = checksumCache.get(lower(address));
  assert.ok(found, `the API lists no payer ${address}`);
  return found;
}

async function drill() {
  return page.$eval("#drilldown", (d) => ({
    class: d.querySelector(".verdict")?.getAttribute("data-class"),
    hexes: [...d.querySelectorAll("[data-full]")].map((e) => e.getAttribute("data-full")),
    sections: [...d.querySelectorAll("section[data-evidence]")].map((s) => s.getAttribute("data-evidence")),
    hopRaw: [...d.querySelectorAll("[data-evidence='funding_path'] [data-raw]")].map((e) => e.getAttribute("data-raw")),
    text: d.textContent,
  }));
}

before(async () => {
  const db = createPopulatedDatabase();
  databaseUrl = db.url;
  truth = db.truth;
  api = await startApi(db.url, truth);
  context = await launchBrowser();
  page = await context.newPage();
  page.on("pageerror", (e) => pageErrors.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") pageErrors.push(`console error: ${m.text()}`);
  });
  await page.goto(`${api.base}/`);
  await waitLoaded();
});

after(async () => {
  await stopAll();
});

describe("dashboard", () => {
  test("the API serves the dashboard and knows the fixture's window", () => {
    assert.deepEqual(api.status.data_window, { from: truth.firstDay, to: truth.lastDay });
  });

  test("the classifier gave every payer the class the fixture was built for", async () => {
    // The premise of the checks below: if the rules change, this names the payers that moved.
    const list = await apiJson("/v1/payers?limit=1000");
    const got = Object.fromEntries(list.items.map((p) => [lower(p.payer), p.class]));
    const want = Object.fromEntries(Object.entries(truth.payers).map(([a, t]) => [a, t.class]));
    assert.deepEqual(got, want);
  });

  test("every chart is drawn with data, matching the API", async () => {
    for (const name of CHARTS) {
      const c = await chartState(name);
      assert.equal(c.state, "ready", `chart ${name} is ${c.state}`);
      assert.ok(c.points > 0, `chart ${name} holds no data points`);
    }
    const usdc = truth.tokens.usdc.address;
    const summary = await apiJson(`/v1/metrics/summary?token=${usdc}`);
    const classesWithVolume = Object.values(summary.by_class).filter((c) => c.count > 0).length;
    assert.equal(classesWithVolume, 7, "the fixture pays in all seven classes");
    const volume = await chartState("volume");
    assert.equal(volume.series, classesWithVolume + 1, "one stacked series per class present, plus the organic share line");
    const days = (Date.parse(truth.lastDay) - Date.parse(truth.firstDay)) / 86_400_000 + 1;
    assert.equal(volume.categories, days, "one bucket per day of the data window");
    const cohorts = await chartState("cohorts");
    assert.equal(cohorts.categories, 5, "five weekly cohorts of external payers");
    // The headline organic share is the API's, formatted.
    const share = await page.$eval('[data-kpi="Organic share"] .k-value', (e) => e.textContent);
    assert.equal(share, `${(summary.organic.volume_share * 100).toFixed(1)}%`);
    const gross = await page.$eval('[data-kpi="Gross volume"] .k-value', (e) => e.textContent);
    assert.match(gross, /USDC$/, "amounts are shown in the token's units");
    assert.deepEqual(pageErrors, []);
  });

  test("top payers carry the classifier's class and top payees their organic share", async () => {
    const rows = await page.$$eval("#top-payers tr[data-payer]", (rs) =>
      rs.map((r) => ({ payer: r.getAttribute("data-payer"), class: r.querySelector(".badge")?.getAttribute("data-class") })),
    );
    assert.equal(rows.length, 15, "the table shows the top 15 of the 20 USDC payers");
    for (const r of rows) {
      const expected = truth.payers[lower(r.payer)];
      assert.ok(expected, `unexpected payer ${r.payer}`);
      assert.equal(r.class, expected.class, `class of ${r.payer}`);
    }
    const classes = new Set(rows.map((r) => r.class));
    for (const c of ["external", "internal", "self_dealing", "project_funded"]) assert.ok(classes.has(c), `no ${c} payer among the top payers`);
    const payees = await page.$$eval("#top-payees tr[data-payee]", (rs) => rs.map((r) => r.getAttribute("data-payee")));
    assert.deepEqual(new Set(payees.map(lower)), new Set(truth.providers.map(lower)));
  });

  test("clicking a self-dealing payer shows the funding path back to its payee", async () => {
    const washer = Object.entries(truth.payers).find(([, t]) => t.class === "self_dealing");
    await openFromTable(washer[0]);
    const d = await drill();
    assert.equal(d.class, "self_dealing");
    assert.ok(d.sections.includes("funding_path"), `no funding path section (${d.sections})`);
    assert.ok(d.hexes.includes(lower(washer[1].fundingTx)), "the funding hop's transaction is shown");
    assert.ok(d.hexes.includes(lower(washer[1].funder)), "the funder (the payee itself) is shown");
    assert.ok(d.hopRaw.includes(washer[1].fundingAmount), "the funding hop's amount is shown");
  });

  test("clicking the treasury shows its registry label and the transaction behind it", async () => {
    await openFromTable(truth.wallets.treasury);
    const d = await drill();
    assert.equal(d.class, "internal");
    assert.ok(d.sections.includes("labels"), `no labels section (${d.sections})`);
    assert.ok(d.hexes.includes(lower(truth.payers[lower(truth.wallets.treasury)].labelTx)), "the registry transaction is shown");
  });

  test("clicking a faucet-funded payer shows its FIFO and haircut project shares", async () => {
    const user = Object.entries(truth.payers).find(([, t]) => t.class === "project_funded");
    await openFromTable(user[0]);
    const d = await drill();
    assert.equal(d.class, "project_funded");
    assert.ok(d.sections.includes("shares"), `no shares section (${d.sections})`);
    assert.match(d.text, /Latest payment fifo share100\.0%/);
    assert.match(d.text, /Latest payment haircut share100\.0%/);
    assert.ok(d.hexes.includes(lower(user[1].fundingTx)));
  });

  test("a payer named in the URL opens directly, with its cluster statistics", async () => {
    const sybil = Object.entries(truth.payers).find(([, t]) => t.class === "suspected_sybil");
    await page.goto(`${api.base}/?payer=${sybil[0]}`);
    await waitLoaded();
    await page.waitForSelector(`#drilldown[data-state="ready"]`, { timeout: 15_000 });
    const d = await drill();
    assert.equal(d.class, "suspected_sybil");
    assert.ok(d.sections.includes("cluster"), `no cluster section (${d.sections})`);
    assert.match(d.text, /Members7/);
    assert.match(d.text, /Same amount share100\.0%/);
    // Its funding path runs two hops, through the farm's funder, back to the exchange.
    const path = await page.$eval("#drilldown [data-evidence='funding_path']", (s) => ({
      hops: s.querySelector(".hops")?.getAttribute("data-hops"),
      end: s.querySelector("[data-end]")?.getAttribute("data-end"),
    }));
    assert.deepEqual(path, { hops: "2", end: "exchange" });
    assert.ok(d.hexes.includes(lower(sybil[1].fundingTx)));
    // Cluster ids are 63-bit: the API sends them as strings and the page shows the exact digits.
    const raw = await (await fetch(`${api.base}/v1/payers/${sybil[0]}`)).text();
    const clusterId = raw.match(/"cluster_id":"(\d+)"/)[1];
    assert.match(d.text, new RegExp(`Cluster id${clusterId}`));
    mkdirSync(RUN_DIR, { recursive: true });
    await page.screenshot({ path: join(RUN_DIR, "dashboard.png"), fullPage: true });
  });

  test("the token filter redraws the page for the other token", async () => {
    await page.goto(`${api.base}/`);
    await waitLoaded();
    const before = await page.evaluate(() => document.body.dataset.loaded);
    await page.selectOption("#f-token", { label: "OPG" });
    await page.click("#filters button[type=submit]");
    await waitLoaded(before);
    const payers = await page.$$eval("#top-payers tr[data-payer]", (rs) => rs.map((r) => r.getAttribute("data-payer").toLowerCase()));
    const opgPayers = Object.entries(truth.payers).filter(([, t]) => t.token === "opg").map(([a]) => a);
    assert.deepEqual(new Set(payers), new Set(opgPayers));
    const volume = await chartState("volume");
    assert.equal(volume.series, 2, "only external volume, plus the share line");
    assert.equal(await page.$eval('[data-kpi="Organic share"] .k-value', (e) => e.textContent), "100.0%");
    assert.match(page.url(), new RegExp(`token=${truth.tokens.opg.address}`, "i"));
  });

  test("the source filter narrows the page to one source's payments", async () => {
    await page.goto(`${api.base}/`);
    await waitLoaded();
    // The options are the API's sources, each with its payments.
    const { sources } = await apiJson("/v1/sources");
    const options = await page.$$eval("#f-source option", (os) => os.map((o) => o.value));
    assert.deepEqual(options, ["", ...sources.map((s) => s.name)]);
    for (const [name, n] of Object.entries(truth.paymentsBySource)) {
      assert.equal(sources.find((s) => s.name === name)?.payments, n, `payments from ${name}`);
    }
    const before = await page.evaluate(() => document.body.dataset.loaded);
    await page.selectOption("#f-source", "eip3009");
    await page.click("#filters button[type=submit]");
    await waitLoaded(before);
    assert.match(page.url(), /source=eip3009/);
    const payers = await page.$$eval("#top-payers tr[data-payer]", (rs) => rs.map((r) => r.getAttribute("data-payer").toLowerCase()));
    const eip3009Payers = Object.entries(truth.payers).filter(([, t]) => t.source === "eip3009").map(([a]) => a);
    assert.equal(eip3009Payers.length, 2);
    assert.deepEqual(new Set(payers), new Set(eip3009Payers));
    const usdc = truth.tokens.usdc.address;
    const summary = await apiJson(`/v1/metrics/summary?token=${usdc}&source=eip3009`);
    assert.equal(summary.gross.count, truth.paymentsBySource.eip3009);
    const note = await page.$eval('[data-kpi="Gross volume"] .k-note', (e) => e.textContent);
    assert.equal(note, `${truth.paymentsBySource.eip3009} payments`);
    assert.equal(await page.$eval('[data-kpi="Organic share"] .k-value', (e) => e.textContent), "100.0%", "both pay as external payers");
    // The source survives a reload from the URL, and the sources partition the totals.
    await page.reload();
    await waitLoaded();
    assert.equal(await page.$eval("#f-source", (e) => e.value), "eip3009");
    const all = await apiJson(`/v1/metrics/summary?token=${usdc}`);
    const settlement = await apiJson(`/v1/metrics/summary?token=${usdc}&source=settlement`);
    assert.equal(settlement.gross.count + summary.gross.count, all.gross.count);
    // A source the API does not know is a 400 naming the parameter and the valid values.
    const bad = await fetch(`${api.base}/v1/metrics/summary?source=permit2`);
    assert.equal(bad.status, 400);
    const problem = await bad.json();
    assert.equal(problem.param, "source");
    for (const s of sources) assert.ok(problem.detail.includes(s.name), problem.detail);
    assert.deepEqual(pageErrors, []);
  });

  test("with every token the page shows USD, and paying entities beside wallets", async () => {
    await page.goto(`${api.base}/?token=usd`);
    await waitLoaded();
    const summary = await apiJson("/v1/metrics/summary");
    // Both tokens are priced (USDC at par, OPG by --price): nothing is left out of USD.
    assert.deepEqual(summary.prices.unpriced_tokens, []);
    const usdc = await apiJson(`/v1/metrics/summary?token=${truth.tokens.usdc.address}`);
    const opg = await apiJson(`/v1/metrics/summary?token=${truth.tokens.opg.address}`);
    const usd = (m) => Number(m.usd);
    // The USD total is the tokens' USD, not their raw units added across 6 and 18 decimals.
    assert.ok(Math.abs(usd(summary.gross.volume) - usd(usdc.gross.volume) - usd(opg.gross.volume)) < 1e-9);
    assert.equal(await page.$eval("#f-token option:checked", (o) => o.textContent), "All tokens (USD)");
    assert.equal(await page.$eval('[data-kpi="Gross volume"] .k-unit', (e) => e.textContent), " USD", "the unit is labelled");
    const shown = await page.$eval('[data-kpi="Gross volume"] .k-value', (e) => e.firstChild.textContent);
    const scale = { K: 1e3, M: 1e6, B: 1e9 }[shown.slice(-1)] ?? 1;
    const value = Number(shown.replace(/[,KMB]/g, "")) * scale;
    assert.ok(Math.abs(value - usd(summary.gross.volume)) <= 0.01 * usd(summary.gross.volume) + 0.01, `${shown} vs ${summary.gross.volume.usd}`);
    const share = await page.$eval('[data-kpi="Organic share"] .k-value', (e) => e.textContent);
    assert.equal(share, `${(summary.organic.volume_share * 100).toFixed(1)}%`);
    // Entities beside wallets: the card, the class table and the payee table.
    const entities = await page.$eval('[data-kpi="Paying entities"] .k-value', (e) => e.textContent);
    assert.equal(entities, String(summary.payer_activity.entities));
    const note = await page.$eval('[data-kpi="Paying entities"] .k-note', (e) => e.textContent);
    assert.match(note, new RegExp(`of ${summary.unique_entities} entities`));
    assert.ok(summary.unique_entities <= summary.unique_payers);
    const headers = await page.$$eval("#class-figures th", (hs) => hs.map((h) => h.textContent));
    assert.ok(headers.includes("Entities") && headers.includes("Payers"), headers.join(","));
    const payeeHeaders = await page.$$eval("#top-payees th", (hs) => hs.map((h) => h.textContent));
    assert.ok(payeeHeaders.includes("Entities") && payeeHeaders.includes("Volume (USD)"), payeeHeaders.join(","));
    // The top payers rank by USD across tokens: OPG payers appear beside USDC payers.
    const rows = await page.$$eval("#top-payers tr[data-payer]", (rs) => rs.map((r) => r.getAttribute("data-payer").toLowerCase()));
    const expected = (await apiJson("/v1/payers?limit=15")).items.map((p) => lower(p.payer));
    assert.deepEqual(rows, expected);
    assert.match(page.url(), /token=usd/);
    assert.deepEqual(pageErrors, []);
  });

  test("the time window narrows every chart to the chosen days", async () => {
    await page.goto(`${api.base}/?from=2026-10-05&to=2026-10-11`);
    await waitLoaded();
    for (const name of CHARTS) assert.equal((await chartState(name)).state, "ready", `chart ${name}`);
    assert.equal((await chartState("volume")).categories, 7);
    assert.equal((await chartState("cohorts")).categories, 1, "only the first week's cohort");
    const payers = await page.$$eval("#top-payers tr[data-payer]", (rs) => rs.map((r) => r.getAttribute("data-payer").toLowerCase()));
    const late = Object.entries(truth.payers).filter(([, t]) => t.class === "suspected_sybil").map(([a]) => a);
    for (const a of late) assert.ok(!payers.includes(a), "the sybil farm starts in week 4 and is outside the window");
  });

  test("clicking a payee shows only its payments, and the chip clears it", async () => {
    await page.goto(`${api.base}/`);
    await waitLoaded();
    const usdc = truth.tokens.usdc.address;
    const washer = Object.entries(truth.payers).find(([, t]) => t.class === "self_dealing");
    const provider = truth.providers[2]; // the one the wash wallet pays
    const shown = (await apiJson(`/v1/payees?token=${usdc}`)).items.find((p) => lower(p.payee) === lower(provider));
    let before = await page.evaluate(() => document.body.dataset.loaded);
    await page.click(`#top-payees tr[data-payee="${shown.payee}"]`);
    await waitLoaded(before);
    assert.match(page.url(), new RegExp(`payee=${shown.payee}`));
    assert.equal(await page.$eval("#payee-chip", (e) => e.hidden), false);
    const payers = await page.$$eval("#top-payers tr[data-payer]", (rs) => rs.map((r) => r.getAttribute("data-payer").toLowerCase()));
    const expected = (await apiJson(`/v1/payers?token=${usdc}&payee=${shown.payee}&limit=15`)).items.map((p) => lower(p.payer));
    assert.deepEqual(payers, expected);
    assert.ok(payers.includes(washer[0]), "the wash wallet pays this provider");
    assert.ok(!payers.includes(lower(truth.wallets.treasury)), "the treasury pays another provider");
    const share = await page.$eval('[data-kpi="Organic share"] .k-value', (e) => e.textContent);
    assert.equal(share, `${(shown.organic_share * 100).toFixed(1)}%`, "the headline share is the payee's organic share");
    before = await page.evaluate(() => document.body.dataset.loaded);
    await page.click("#payee-chip-clear");
    await waitLoaded(before);
    assert.equal(await page.$eval("#payee-chip", (e) => e.hidden), true);
    assert.doesNotMatch(page.url(), /payee=/);
    assert.equal(await page.$$eval("#top-payers tr[data-payer]", (rs) => rs.length), 15);
  });

  test("CSV links download what the page shows, under its filters", async () => {
    await page.goto(`${api.base}/?from=2026-10-05&to=2026-10-18&bucket=week`);
    await waitLoaded();
    const links = await page.$$eval("a[data-csv]", (as) => as.map((a) => ({ kind: a.dataset.csv, href: a.getAttribute("href") })));
    assert.deepEqual(new Set(links.map((l) => l.kind)), new Set(["series", "retention", "payers", "payees"]));
    for (const { kind, href } of links) {
      const url = new URL(href, api.base);
      assert.equal(url.searchParams.get("format"), "csv", kind);
      assert.equal(url.searchParams.get("from"), "2026-10-05", kind);
      assert.equal(url.searchParams.get("to"), "2026-10-18", kind);
      assert.equal(lower(url.searchParams.get("token")), lower(truth.tokens.usdc.address), kind);
      const r = await fetch(url);
      assert.equal(r.status, 200, `${kind}: ${href}`);
      assert.match(r.headers.get("content-type"), /^text\/csv/);
      const lines = (await r.text()).trim().split("\n");
      if (kind === "series") {
        assert.equal(url.searchParams.get("interval"), "week");
        assert.equal(lines.length, 1 + 2, "a header and two weeks");
      }
      if (kind === "payers") {
        const json = await apiJson(`/v1/payers?token=${truth.tokens.usdc.address}&from=2026-10-05&to=2026-10-18&limit=1000`);
        assert.equal(lines.length, 1 + json.items.length, "a header and one line per payer");
      }
    }
  });

  test("weekly buckets group the series by ISO week", async () => {
    await page.goto(`${api.base}/?bucket=week`);
    await waitLoaded();
    assert.equal(await page.$eval("#f-bucket", (e) => e.value), "week");
    const volume = await chartState("volume");
    assert.equal(volume.state, "ready");
    assert.equal(volume.categories, 5, "2026-10-05 to 2026-11-07 spans five ISO weeks");
    assert.equal((await chartState("payers")).categories, 5);
  });

  test("an inverted window shows the API's error naming the parameter", async () => {
    await page.goto(`${api.base}/?from=2026-11-01&to=2026-10-01`);
    await page.waitForSelector("#status.error", { timeout: 15_000 });
    const text = await page.$eval("#status", (e) => e.textContent);
    assert.match(text, /`to`/);
    assert.equal(text.split("must not be before").length - 1, 1, `said once: ${text}`);
    for (const name of CHARTS) assert.equal((await chartState(name)).state, "error", `chart ${name}`);
    assert.equal(await page.$$eval("#top-payers tr[data-payer]", (rs) => rs.length), 0);
  });

  test("a token the API does not know is named, and the busiest token shown instead", async () => {
    const unknown = "0x00000000000000000000000000000000000000aa";
    await page.goto(`${api.base}/?token=${unknown}`);
    await waitLoaded();
    const text = await page.$eval("#status.error", (e) => e.textContent);
    assert.match(text, new RegExp(`${unknown} is not one the API knows; showing USDC`));
    assert.equal((await chartState("volume")).state, "ready");
    assert.equal(await page.$eval("#f-token option:checked", (o) => o.textContent), "USDC");
  });

  test("live mode redraws the page when a new payment is indexed and classified", async () => {
    await page.goto(`${api.base}/?live=1`);
    await waitLoaded();
    const count = async () => page.$eval('[data-kpi="Gross volume"] .k-note', (e) => e.textContent);
    assert.equal(await count(), `${truth.usdcPayments} payments`);
    const before = await page.evaluate(() => document.body.dataset.loaded);
    runSql(databaseUrl, latePaymentSql(truth));
    classify(databaseUrl);
    await waitLoaded(before);
    assert.equal(await count(), `${truth.usdcPayments + 1} payments`);
    assert.match(page.url(), /live=1/, "live mode survives the redraw");
  });

  test("an empty database shows empty charts, not errors", async () => {
    const { url } = createMigratedDatabase();
    const empty = await startApi(url, truth, { expectData: false });
    const p = await context.newPage();
    const errors = [];
    p.on("pageerror", (e) => errors.push(e.message));
    await p.goto(`${empty.base}/`);
    await p.waitForFunction(() => document.body.dataset.status && document.body.dataset.status !== "loading", null, { timeout: 30_000 });
    assert.equal(await p.$eval("body", (b) => b.dataset.status), "ready", await p.$eval("#status", (e) => e.textContent));
    for (const name of CHARTS) {
      const state = await p.$eval(`[data-chart="${name}"]`, (e) => e.dataset.state);
      assert.equal(state, "empty", `chart ${name}`);
    }
    assert.equal(await p.$eval('[data-kpi="Gross volume"] .k-value', (e) => e.textContent), "0 USDC");
    assert.deepEqual(errors, []);
    await p.close();
  });
});
