// A small, known x402 economy written straight into the indexer's PostgreSQL tables (blocks,
// checkpoint, registry labels, token transfers, charges, and `payments` folded by the indexer's own
// recompute_payments()), for the dashboard's browser test. The real x402-classifier then
// classifies it (with the exchange's label from `labelsToml`) and x402-api serves it.
//
// Five weeks of activity starting Monday 2026-10-05 (UTC), in two tokens:
//   - 8 external payers funded by an exchange hot wallet, in weekly cohorts, some churning,
//     and 2 more paying in OPG;
//   - the project's treasury paying a provider (internal);
//   - 2 users funded by the project's faucet (project_funded);
//   - a provider funding a wallet that pays it, with money flowing back (self_dealing);
//   - a sybil farm of 6 wallets from one funder, identical amounts within minutes (suspected_sybil);
//   - a provider paying itself (self_payment) and a payer with no funding history (unattributed).
// Payments move through the settlement contract (payer -> settlement -> payee), as on chain,
// except those of two external payers (dave, frank), who pay by standard x402 EIP-3009
// `transferWithAuthorization` (payer -> payee, AuthorizationUsed, the facilitator sending the
// transaction), folded by the indexer's own fold_eip3009(): the source filter has two sources.
// `truth` holds each payer's class by construction, and the transactions its evidence must cite.

import { createHash } from "node:crypto";

export const CHAIN_ID = 31337;
const START = Date.UTC(2026, 9, 5); // Monday 2026-10-05
const HOUR = 3600_000;
const DAY = 24 * HOUR;

const hex = (tag, bytes) => createHash("sha256").update(tag).digest("hex").slice(0, bytes * 2);
/** A deterministic address for a name. */
export const addr = (name) => `0x${hex(`address:${name}`, 20)}`;
const hash = (tag) => `0x${hex(`hash:${tag}`, 32)}`;
const bytea = (h) => `'\\x${h.slice(2)}'::bytea`;
const text = (s) => `'${String(s).replace(/'/g, "''")}'`;
const ts = (ms) => `'${new Date(ms).toISOString()}'::timestamptz`;

/** A small deterministic PRNG (mulberry32), so the dataset never changes between runs. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// As the deployment file names them: USDC is a stablecoin (priced at par); OPG gets its USD price
// from the API's `--price` flag (OPG_USD below).
export const TOKENS = {
  usdc: { address: addr("token:USDC"), symbol: "USDC", decimals: 6, stablecoin: true },
  opg: { address: addr("token:OPG"), symbol: "OPG", decimals: 18 },
};
/** The USD price the API is given for OPG (`--price OPG=0.25`). */
export const OPG_USD = "0.25";
const usdc = (x) => BigInt(Math.round(x * 1e6));
const opg = (x) => BigInt(Math.round(x * 1e6)) * 10n ** 12n;

const W = {
  exchange: addr("exchange-hot-wallet"),
  treasury: addr("treasury"),
  faucet: addr("faucet"),
  facilitator: addr("facilitator"),
  sybilFunder: addr("sybil-funder"),
  settlement: addr("settlement"),
  registry: addr("registry"),
};
const PROVIDERS = [addr("provider-1"), addr("provider-2"), addr("provider-3")];
const ROLE = { treasury: 0, faucet: 3, facilitator: 4 };

export function buildFixture() {
  const rand = rng(402);
  const events = []; // { time, kind, ... } in any order; sorted into blocks below
  const transfer = (time, token, from, to, amount, tag) => {
    const e = { time, kind: "transfer", token, from, to, amount, tx: hash(`tx:${tag}`) };
    events.push(e);
    return e;
  };
  const payments = []; // { id, payer, payee, token, amount, time }
  const pay = (time, token, payer, payee, amount, source = "settlement") => {
    const n = payments.length;
    const p = { id: hash(`payment:${n}`), payer, payee, token, amount, time, tx: hash(`tx:payment:${n}`), source };
    payments.push(p);
    events.push({ time, kind: "charge", payment: p });
    return p;
  };
  const labels = [];
  const label = (time, wallet, role, roleName, note) => {
    const e = { time, kind: "label", wallet, role, roleName, note, tx: hash(`tx:label:${roleName}:${wallet}`) };
    events.push(e);
    labels.push(e);
    return e;
  };

  const truth = { payers: {}, tokens: TOKENS, providers: PROVIDERS, wallets: W, classCounts: {} };
  const expect = (payer, cls, extra = {}) => {
    truth.payers[payer] = { class: cls, ...extra };
  };

  // Registry labels, before any payment.
  const treasuryLabel = label(START - 2 * DAY, W.treasury, ROLE.treasury, "Treasury", "project treasury");
  const faucetLabel = label(START - 2 * DAY + HOUR, W.faucet, ROLE.faucet, "Faucet", "testnet faucet");
  label(START - 2 * DAY + 2 * HOUR, W.facilitator, ROLE.facilitator, "Facilitator", "x402 facilitator");
  transfer(START - 3 * DAY, TOKENS.usdc.address, "0x0000000000000000000000000000000000000000", W.exchange, usdc(1_000_000), "mint:exchange");
  transfer(START - 3 * DAY, TOKENS.usdc.address, "0x0000000000000000000000000000000000000000", W.treasury, usdc(1_000_000), "mint:treasury");
  transfer(START - 3 * DAY, TOKENS.opg.address, "0x0000000000000000000000000000000000000000", W.exchange, opg(1_000_000), "mint:exchange:opg");

  // External payers: weekly cohorts; each pays on random days from its start to its end week.
  const external = [
    { name: "alice", startWeek: 0, endWeek: 4, perWeek: 4, size: 7.5 },
    { name: "bob", startWeek: 0, endWeek: 1, perWeek: 3, size: 4 }, // churns after week 1
    { name: "carol", startWeek: 0, endWeek: 4, perWeek: 2, size: 15 },
    { name: "dave", startWeek: 1, endWeek: 4, perWeek: 3, size: 2.5, source: "eip3009" },
    { name: "erin", startWeek: 1, endWeek: 2, perWeek: 2, size: 10 },
    { name: "frank", startWeek: 2, endWeek: 4, perWeek: 5, size: 1.5, source: "eip3009" },
    { name: "grace", startWeek: 3, endWeek: 4, perWeek: 3, size: 6 },
    { name: "heidi", startWeek: 4, endWeek: 4, perWeek: 2, size: 20 },
  ];
  for (const x of external) {
    const payer = addr(`external:${x.name}`);
    const fundAt = START + x.startWeek * 7 * DAY + 2 * HOUR;
    const funding = transfer(fundAt, TOKENS.usdc.address, W.exchange, payer, usdc(500), `fund:${x.name}`);
    let count = 0;
    for (let week = x.startWeek; week <= x.endWeek; week++) {
      for (let i = 0; i < x.perWeek; i++) {
        const t = START + week * 7 * DAY + Math.floor(rand() * 6.5 * DAY) + 3 * HOUR;
        const payee = PROVIDERS[Math.floor(rand() * PROVIDERS.length)];
        pay(Math.max(t, fundAt + HOUR), TOKENS.usdc.address, payer, payee, usdc(x.size * (0.6 + rand())), x.source);
        count++;
      }
    }
    expect(payer, "external", { fundingTx: funding.tx, funder: W.exchange, fundingAmount: funding.amount.toString(), payments: count, source: x.source ?? "settlement" });
  }
  // Two external OPG payers, so the token filter has a second token with its own picture.
  for (const name of ["ivan", "judy"]) {
    const payer = addr(`external:${name}`);
    const funding = transfer(START + HOUR, TOKENS.opg.address, W.exchange, payer, opg(1000), `fund:${name}:opg`);
    for (let d = 0; d < 20; d += 3) pay(START + d * DAY + 5 * HOUR, TOKENS.opg.address, payer, PROVIDERS[d % 3], opg(2 + rand() * 5));
    expect(payer, "external", { fundingTx: funding.tx, funder: W.exchange, fundingAmount: funding.amount.toString(), token: "opg" });
  }

  // Internal: the treasury pays provider 1 twice a week.
  for (let week = 0; week < 5; week++) {
    for (const d of [1, 4]) pay(START + (week * 7 + d) * DAY + 9 * HOUR, TOKENS.usdc.address, W.treasury, PROVIDERS[0], usdc(25));
  }
  expect(W.treasury, "internal", { labelTx: treasuryLabel.tx, role: "treasury" });

  // Project-funded: two users funded by the faucet.
  transfer(START - DAY, TOKENS.usdc.address, W.treasury, W.faucet, usdc(10_000), "fund:faucet");
  for (const name of ["faucet-user-1", "faucet-user-2"]) {
    const payer = addr(name);
    const funding = transfer(START + 8 * DAY, TOKENS.usdc.address, W.faucet, payer, usdc(50), `fund:${name}`);
    for (let d = 9; d < 30; d += 4) pay(START + d * DAY + 7 * HOUR, TOKENS.usdc.address, payer, PROVIDERS[1], usdc(3 + rand() * 3));
    expect(payer, "project_funded", { fundingTx: funding.tx, funder: W.faucet, labelTx: faucetLabel.tx, fundingAmount: funding.amount.toString() });
  }

  // Self-dealing: provider 3 funds a fresh wallet that pays provider 3, and money flows back.
  const washer = addr("wash-wallet");
  const washFunding = transfer(START + 3 * DAY, TOKENS.usdc.address, PROVIDERS[2], washer, usdc(2_000), "fund:wash");
  for (let d = 3; d < 24; d++) pay(START + d * DAY + 11 * HOUR, TOKENS.usdc.address, washer, PROVIDERS[2], usdc(40));
  const washBack = transfer(START + 10 * DAY, TOKENS.usdc.address, PROVIDERS[2], washer, usdc(300), "wash:back");
  expect(washer, "self_dealing", { fundingTx: washFunding.tx, funder: PROVIDERS[2], fundingAmount: washFunding.amount.toString(), backTx: washBack.tx });

  // Sybil farm: one funder, 6 wallets, identical amounts, all funded within 10 minutes.
  const farmStart = START + 21 * DAY + 10 * HOUR;
  transfer(farmStart - DAY, TOKENS.usdc.address, W.exchange, W.sybilFunder, usdc(1_000), "fund:sybil-funder");
  for (let i = 0; i < 6; i++) {
    const payer = addr(`sybil-${i}`);
    const funding = transfer(farmStart + i * 100_000, TOKENS.usdc.address, W.sybilFunder, payer, usdc(20), `fund:sybil-${i}`);
    for (let k = 0; k < 3; k++) pay(farmStart + HOUR + i * 60_000 + k * DAY, TOKENS.usdc.address, payer, PROVIDERS[0], usdc(5));
    expect(payer, "suspected_sybil", { fundingTx: funding.tx, funder: W.sybilFunder, fundingAmount: funding.amount.toString() });
  }

  // Self-payment: provider 2 pays itself; unattributed: a wallet with no funding history.
  pay(START + 12 * DAY + HOUR, TOKENS.usdc.address, PROVIDERS[1], PROVIDERS[1], usdc(60));
  expect(PROVIDERS[1], "self_payment", {});
  const stranger = addr("stranger");
  pay(START + 30 * DAY + HOUR, TOKENS.usdc.address, stranger, PROVIDERS[2], usdc(2));
  expect(stranger, "unattributed", {});

  // Blocks: one per event time, in time order; a transfer and the charge of a payment share one.
  events.sort((a, b) => a.time - b.time || (a.kind === "charge") - (b.kind === "charge"));
  let block = 100;
  let lastTime = -1;
  const blocks = [];
  for (const e of events) {
    if (e.time !== lastTime) {
      block++;
      blocks.push({ number: block, time: e.time, hash: hash(`block:${block}`), parent: hash(`block:${block - 1}`), logs: 0 });
      lastTime = e.time;
    }
    const b = blocks[blocks.length - 1];
    e.block = block;
    e.blockTime = e.time;
    e.logIndex = b.logs;
    b.logs += e.kind === "charge" ? 3 : 1;
  }
  const lastBlock = blocks[blocks.length - 1];

  const sql = [];
  const head = "chain_id, block_number, block_hash, block_time, tx_hash, log_index";
  const headVals = (e, tx, logIndex) =>
    `${CHAIN_ID}, ${e.block}, ${bytea(hash(`block:${e.block}`))}, ${ts(e.blockTime)}, ${bytea(tx)}, ${logIndex}`;
  sql.push("begin;");
  for (const b of blocks) {
    sql.push(`insert into blocks (chain_id, number, hash, parent_hash, block_time, log_count) values (${CHAIN_ID}, ${b.number}, ${bytea(b.hash)}, ${bytea(b.parent)}, ${ts(b.time)}, ${b.logs});`);
  }
  sql.push(`insert into checkpoint (chain_id, block_number, block_hash, settlement_address, registry_address, start_block) values (${CHAIN_ID}, ${lastBlock.number}, ${bytea(lastBlock.hash)}, ${bytea(W.settlement)}, ${bytea(W.registry)}, 100);`);
  for (const e of events) {
    if (e.kind === "label") {
      sql.push(`insert into registry_labels (${head}, wallet, role, role_name, labeled, note) values (${headVals(e, e.tx, e.logIndex)}, ${bytea(e.wallet)}, ${e.role}, ${text(e.roleName)}, true, ${text(e.note)});`);
    } else if (e.kind === "transfer") {
      sql.push(`insert into token_transfers (${head}, token, from_address, to_address, amount) values (${headVals(e, e.tx, e.logIndex)}, ${bytea(e.token)}, ${bytea(e.from)}, ${bytea(e.to)}, ${e.amount});`);
    } else if (e.payment.source === "eip3009") {
      // One EIP-3009 transaction sent by the facilitator: AuthorizationUsed, then the Transfer it
      // authorized, straight from the payer to the payee.
      const p = e.payment;
      sql.push(`insert into eip3009_authorizations (${head}, token, authorizer, nonce, tx_from, tx_to, transfer_log_index, payee, amount, facilitator_listed, payment_id) values (${headVals(e, p.tx, e.logIndex)}, ${bytea(p.token)}, ${bytea(p.payer)}, ${bytea(hash(`nonce:${p.id}`))}, ${bytea(W.facilitator)}, ${bytea(p.token)}, ${e.logIndex + 1}, ${bytea(p.payee)}, ${p.amount}, true, ${bytea(p.id)});`);
      sql.push(`insert into token_transfers (${head}, token, from_address, to_address, amount) values (${headVals(e, p.tx, e.logIndex + 1)}, ${bytea(p.token)}, ${bytea(p.payer)}, ${bytea(p.payee)}, ${p.amount});`);
    } else {
      const p = e.payment;
      // One settlement transaction: Permit2 pulls the payment into the settlement contract, the
      // contract pays the payee, and emits PaymentCharged.
      sql.push(`insert into token_transfers (${head}, token, from_address, to_address, amount) values (${headVals(e, p.tx, e.logIndex)}, ${bytea(p.token)}, ${bytea(p.payer)}, ${bytea(W.settlement)}, ${p.amount});`);
      sql.push(`insert into token_transfers (${head}, token, from_address, to_address, amount) values (${headVals(e, p.tx, e.logIndex + 1)}, ${bytea(p.token)}, ${bytea(W.settlement)}, ${bytea(p.payee)}, ${p.amount});`);
      sql.push(`insert into charges (${head}, payment_id, payer, payee, token, facilitator, mode, amount, max_amount, facilitator_fee, protocol_fee, request_hash, evidence_hash, batch_id) values (${headVals(e, p.tx, e.logIndex + 2)}, ${bytea(p.id)}, ${bytea(p.payer)}, ${bytea(p.payee)}, ${bytea(p.token)}, ${bytea(W.facilitator)}, 0, ${p.amount}, ${p.amount}, 0, 0, ${bytea(hash(`request:${p.id}`))}, ${bytea(hash(`evidence:${p.id}`))}, 0);`);
    }
  }
  sql.push(`select recompute_payments(${CHAIN_ID}, array(select payment_id from charges where chain_id = ${CHAIN_ID}));`);
  sql.push(`select fold_eip3009(${CHAIN_ID}, ${blocks[0].number}, ${lastBlock.number});`);
  sql.push("commit;");

  truth.paymentCount = payments.length;
  truth.lastBlock = lastBlock.number;
  truth.usdcPayments = payments.filter((p) => p.token === TOKENS.usdc.address).length;
  truth.paymentsBySource = {};
  for (const p of payments) truth.paymentsBySource[p.source] = (truth.paymentsBySource[p.source] ?? 0) + 1;
  truth.firstDay = new Date(Math.min(...payments.map((p) => p.time))).toISOString().slice(0, 10);
  truth.lastDay = new Date(Math.max(...payments.map((p) => p.time))).toISOString().slice(0, 10);
  // The exchange's label, as a labels file for `x402-classifier labels import`.
  const labelsToml = `[[label]]\naddress = "${W.exchange}"\nkind = "exchange"\nnote = "exchange hot wallet"\nchain_id = ${CHAIN_ID}\n`;
  return { sql: sql.join("\n"), labelsToml, truth };
}

/**
 * One more USDC payment, by a new exchange-funded payer, on the fixture's last day, with the
 * indexer checkpoint moved on: what a live indexer writes when a payment settles (the classifier
 * then classifies it). For the dashboard's live-refresh test.
 */
export function latePaymentSql(truth) {
  const block = truth.lastBlock + 1;
  const time = Date.parse(`${truth.lastDay}T20:00:00Z`);
  const payer = addr("external:late");
  const id = hash("payment:late");
  const tx = hash("tx:payment:late");
  const amount = usdc(12);
  const vals = (t, li) => `${CHAIN_ID}, ${block}, ${bytea(hash(`block:${block}`))}, ${ts(time)}, ${bytea(t)}, ${li}`;
  const head = "chain_id, block_number, block_hash, block_time, tx_hash, log_index";
  return [
    "begin;",
    `insert into blocks (chain_id, number, hash, parent_hash, block_time, log_count) values (${CHAIN_ID}, ${block}, ${bytea(hash(`block:${block}`))}, ${bytea(hash(`block:${block - 1}`))}, ${ts(time)}, 4);`,
    `insert into token_transfers (${head}, token, from_address, to_address, amount) values (${vals(hash("tx:fund:late"), 0)}, ${bytea(TOKENS.usdc.address)}, ${bytea(W.exchange)}, ${bytea(payer)}, ${usdc(100)});`,
    `insert into token_transfers (${head}, token, from_address, to_address, amount) values (${vals(tx, 1)}, ${bytea(TOKENS.usdc.address)}, ${bytea(payer)}, ${bytea(W.settlement)}, ${amount});`,
    `insert into token_transfers (${head}, token, from_address, to_address, amount) values (${vals(tx, 2)}, ${bytea(TOKENS.usdc.address)}, ${bytea(W.settlement)}, ${bytea(PROVIDERS[0])}, ${amount});`,
    `insert into charges (${head}, payment_id, payer, payee, token, facilitator, mode, amount, max_amount, facilitator_fee, protocol_fee, request_hash, evidence_hash, batch_id) values (${vals(tx, 3)}, ${bytea(id)}, ${bytea(payer)}, ${bytea(PROVIDERS[0])}, ${bytea(TOKENS.usdc.address)}, ${bytea(W.facilitator)}, 0, ${amount}, ${amount}, 0, 0, ${bytea(hash("request:late"))}, ${bytea(hash("evidence:late"))}, 0);`,
    `select recompute_payments(${CHAIN_ID}, array[${bytea(id)}]);`,
    `update checkpoint set block_number = ${block}, block_hash = ${bytea(hash(`block:${block}`))} where chain_id = ${CHAIN_ID};`,
    "commit;",
  ].join("\n");
}
