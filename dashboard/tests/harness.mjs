// What the dashboard's browser test runs against, all real: a fresh PostgreSQL database migrated
// by the classifier and API binaries, holding the known economy of fixture.mjs in the indexer's
// tables and classified by the real `x402-classifier`; the `x402-api` binary serving the built
// dashboard over it; and Debian's Chromium driven by playwright-core. Everything started here is
// stopped (and the databases dropped) by `stopAll()`.

import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

import { buildFixture, CHAIN_ID, OPG_USD } from "./fixture.mjs";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const RUN_DIR = process.env.RUN_DIR ?? join(ROOT, ".run");
const TARGET = process.env.CARGO_TARGET_DIR ?? join(ROOT, "target");
const BIN = (name) => process.env[`X402_${name.replace(/-/g, "_").toUpperCase()}_BIN`] ?? join(TARGET, "debug", name);
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

/** The PostgreSQL server (no database part) the throwaway database lives on. */
function serverUrl() {
  const url = process.env.X402_TEST_PG_URL ?? process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/x402_settle";
  const m = url.match(/^(postgres(?:ql)?:\/\/[^/?]+)/);
  if (!m) throw new Error(`DATABASE_URL=${url} is not a postgres:// URL`);
  return m[1];
}

const cleanups = [];
let databases = 0;

// Interrupted (Ctrl-C, a CI time-out): stop what was started and drop the databases before leaving.
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    stopAll().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  });
}

/** Runs every cleanup registered so far, newest first; never throws. */
export async function stopAll() {
  while (cleanups.length) {
    const c = cleanups.pop();
    try {
      await c();
    } catch (e) {
      console.error(`cleanup failed: ${e.message}`);
    }
  }
}

function psql(url, args, input) {
  const r = spawnSync("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", url, ...args], { input, encoding: "utf8" });
  if (r.error) throw new Error(`running psql: ${r.error.message} (install the PostgreSQL client)`);
  if (r.status !== 0) throw new Error(`psql ${args.join(" ")} failed: ${r.stderr.trim()}`);
  return r.stdout;
}

function run(bin, args, env = {}) {
  const r = spawnSync(bin, args, { encoding: "utf8", env: { ...process.env, ...env } });
  if (r.error) throw new Error(`running ${bin}: ${r.error.message} (build it with cargo build)`);
  if (r.status !== 0) throw new Error(`${bin} ${args.join(" ")} failed (exit ${r.status}):\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** Runs SQL against a database of this test (e.g. a payment landing while the page is open). */
export function runSql(url, sql) {
  psql(url, [], sql);
}

/** Runs `x402-classifier classify` (incremental: from its last classified block) on `url`. */
export function classify(url) {
  run(BIN("x402-classifier"), ["--database-url", url, "--chain-id", String(CHAIN_ID), "classify"]);
}

/**
 * A fresh database holding the fixture's economy, classified by the real classifier (with the
 * fixture's labels file imported first). Returns its URL and the fixture's truth.
 */
export function createPopulatedDatabase() {
  const { url } = createMigratedDatabase();
  const { sql, labelsToml, truth } = buildFixture();
  psql(url, [], sql);
  const work = mkdtempSync(join(tmpdir(), "x402-dashboard-labels-"));
  cleanups.push(() => rmSync(work, { recursive: true, force: true }));
  const labels = join(work, "labels.toml");
  writeFileSync(labels, labelsToml);
  run(BIN("x402-classifier"), ["--database-url", url, "--chain-id", String(CHAIN_ID), "labels", "import", labels]);
  classify(url);
  return { url, truth };
}

/**
 * Drops the databases of earlier runs of this test that were killed before cleaning up: their
 * names carry the pid of the process that made them, and that process is gone.
 */
function dropStaleDatabases(server) {
  const names = psql(`${server}/postgres`, ["-tAc", "select datname from pg_database where datname like 'x402\\_dashboard\\_%'"])
    .split("\n")
    .filter(Boolean);
  for (const name of names) {
    const pid = Number(name.split("_")[2]);
    if (!Number.isInteger(pid) || pid === process.pid || alive(pid)) continue;
    psql(`${server}/postgres`, ["-c", `drop database if exists "${name}" with (force)`]);
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === "EPERM";
  }
}

/**
 * Creates a fresh database (dropped by stopAll) and migrates it as production does: a service
 * applies the schema's one migration history (`x402-classifier migrate`), and the API's own
 * `x402-api migrate` then finds nothing left to apply.
 */
export function createMigratedDatabase() {
  const server = serverUrl();
  dropStaleDatabases(server);
  const name = `x402_dashboard_${process.pid}_${Date.now().toString(36)}_${++databases}`;
  psql(`${server}/postgres`, ["-c", `create database "${name}"`]);
  cleanups.push(() => psql(`${server}/postgres`, ["-c", `drop database if exists "${name}" with (force)`]));
  const url = `${server}/${name}`;
  run(BIN("x402-classifier"), ["--database-url", url, "migrate"]);
  run(BIN("x402-api"), ["migrate", "--database-url", url, "--chain-id", String(CHAIN_ID)]);
  return { url };
}

/** A TCP port nobody listens on right now. */
export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

/**
 * Starts `x402-api serve` over `databaseUrl`, serving the built dashboard, with a deployment file
 * naming the fixture's tokens (symbols and decimals). Resolves once /v1/status answers with the
 * read model built. Its log goes to .run/dashboard-api.log.
 */
export async function startApi(databaseUrl, truth, { expectData = true } = {}) {
  const dist = join(ROOT, "dashboard", "dist");
  readFileSync(join(dist, "index.html")); // a clear ENOENT if the dashboard was not built
  const work = mkdtempSync(join(tmpdir(), "x402-dashboard-"));
  cleanups.push(() => rmSync(work, { recursive: true, force: true }));
  const deployment = join(work, "deployment.json");
  // The shape script/Deploy.s.sol writes (x402_domain::Deployment); the API reads only the tokens,
  // and no contract of this fixture is deployed, so the contract addresses are zero.
  const zero = "0x0000000000000000000000000000000000000000";
  writeFileSync(deployment, JSON.stringify({
    chainId: CHAIN_ID, permit2: zero, settlement: zero, registry: zero, tokens: Object.values(truth.tokens),
  }, null, 2));
  const port = await freePort();
  mkdirSync(RUN_DIR, { recursive: true });
  const logPath = join(RUN_DIR, `dashboard-api${expectData ? "" : "-empty"}.log`);
  const log = openSync(logPath, "w");
  const child = spawn(
    BIN("x402-api"),
    [
      "serve", "--database-url", databaseUrl, "--chain-id", String(CHAIN_ID), "--listen", `127.0.0.1:${port}`,
      "--static-dir", dist, "--deployment", deployment, "--price", `OPG=${OPG_USD}`, "--poll-ms", "200",
    ],
    { stdio: ["ignore", log, log], env: { ...process.env, RUST_LOG: "info,sqlx=warn" } },
  );
  let exited = null;
  child.on("exit", (code, signal) => (exited = { code, signal }));
  cleanups.push(async () => {
    if (exited) return;
    child.kill("SIGTERM");
    const t0 = Date.now();
    while (!exited && Date.now() - t0 < 5000) await sleep(50);
    if (!exited) child.kill("SIGKILL");
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(`x402-api exited (${JSON.stringify(exited)}) before answering; see ${logPath}:\n${readFileSync(logPath, "utf8").slice(-2000)}`);
    try {
      const r = await fetch(`${base}/v1/status`);
      if (r.ok) {
        const status = await r.json();
        // Ready once the first refresh of the read model is done (and, with data, has a window).
        if (status.generation > 0 && (status.data_window || !expectData)) return { base, status, logPath };
      }
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`x402-api did not become ready within 60 s; see ${logPath}`);
    await sleep(200);
  }
}

/**
 * Launches Debian's Chromium headless with a fresh profile directory (playwright-core takes the
 * profile as launchPersistentContext's first argument rather than --user-data-dir). Returns the
 * browser context.
 */
export async function launchBrowser() {
  const profile = mkdtempSync(join(tmpdir(), "x402-chromium-"));
  cleanups.push(() => rmSync(profile, { recursive: true, force: true }));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 1000 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  cleanups.push(() => context.close());
  return context;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

