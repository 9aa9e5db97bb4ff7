// A small, known x402 economy written straight into PostgreSQL for the dashboard's browser test:
// the indexer's tables (blocks, checkpoint, registry labels, token transfers, charges, and
// `payments` folded by the indexer's own recompute_payments()) and the classifier's output
// tables (labels, funding clusters, payment and payer classes with their evidence, state).
// The API then builds its read model from these exactly as it does in production.
//
// Five weeks of activity starting Monday 2026-10-05 (UTC), in two tokens:
//   - 8 external payers funded by an exchange hot wallet, in weekly cohorts, some churning;
//   - the project's treasury paying a provider (internal);
//   - 2 users funded by the project's faucet (project_funded);
//   - a provider funding a wallet that pays itself (self_dealing);
//   - a sybil farm of 6 wallets from one funder, identical amounts within minutes (suspected_sybil);
//   - a provider paying itself (self_payment) and a payer with no funding history (unattributed).
// `truth` says what the dashboard must show for each of them.

import { createHash } from "node:crypto";

export const CHAIN_ID = 31337;
const RULE_VERSION = "dashboard-fixture-1";
const LABEL_VERSION = "dashboard-fixture-labels-1";
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
const json = (v) => `${text(JSON.stringify(v))}::jsonb`;

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

export const TOKENS = {
  usdc: { address: addr("token:USDC"), symbol: "USDC", decimals: 6 },
  opg: { address: addr("token:OPG"), symbol: "OPG", decimals: 18 },
};
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
  const pay = (time, token, payer, payee, amount) => {
    const n = payments.length;
    const p = { id: hash(`payment:${n}`), payer, payee, token, amount, time, tx: hash(`tx:payment:${n}`) };
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
    { name: "dave", startWeek: 1, endWeek: 4, perWeek: 3, size: 2.5 },
    { name: "erin", startWeek: 1, endWeek: 2, perWeek: 2, size: 10 },
    { name: "frank", startWeek: 2, endWeek: 4, perWeek: 5, size: 1.5 },
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
        pay(Math.max(t, fundAt + HOUR), TOKENS.usdc.address, payer, payee, usdc(x.size * (0.6 + rand())));
        count++;
      }
    }
    expect(payer, "external", { fundingTx: funding.tx, funder: W.exchange, fundingAmount: funding.amount.toString(), payments: count });
  }
  // Two external OPG payers, so the token filter has a second token with its own picture.
  for (const name of ["ivan", "judy"]) {
    const payer = addr(`external:${name}`);
    const funding = transfer(START + DAY, TOKENS.opg.address, W.exchange, payer, opg(1000), `fund:${name}:opg`);
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
  const farm = [];
  for (let i = 0; i < 6; i++) {
    const payer = addr(`sybil-${i}`);
    const funding = transfer(farmStart + i * 100_000, TOKENS.usdc.address, W.sybilFunder, payer, usdc(20), `fund:sybil-${i}`);
    for (let k = 0; k < 3; k++) pay(farmStart + HOUR + i * 60_000 + k * DAY, TOKENS.usdc.address, payer, PROVIDERS[0], usdc(5));
    farm.push({ payer, funding });
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
    b.logs += e.kind === "charge" ? 2 : 1;
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
    } else {
      const p = e.payment;
      // The Permit2 transfer and the PaymentCharged event of the same settlement transaction.
      sql.push(`insert into token_transfers (${head}, token, from_address, to_address, amount) values (${headVals(e, p.tx, e.logIndex)}, ${bytea(p.token)}, ${bytea(p.payer)}, ${bytea(p.payee)}, ${p.amount});`);
      sql.push(`insert into charges (${head}, payment_id, payer, payee, token, facilitator, mode, amount, max_amount, facilitator_fee, protocol_fee, request_hash, evidence_hash, batch_id) values (${headVals(e, p.tx, e.logIndex + 1)}, ${bytea(p.id)}, ${bytea(p.payer)}, ${bytea(p.payee)}, ${bytea(p.token)}, ${bytea(W.facilitator)}, 0, ${p.amount}, ${p.amount}, 0, 0, ${bytea(hash(`request:${p.id}`))}, ${bytea(hash(`evidence:${p.id}`))}, 0);`);
    }
  }
  sql.push(`select recompute_payments(${CHAIN_ID}, array(select payment_id from charges where chain_id = ${CHAIN_ID}));`);

  // The classifier's output for this economy, in the shape x402-classifier writes it (evidence
  // objects as in classifier/src/engine.rs: hops, endpoints, labels, shares, cluster statistics).
  for (const e of labels) {
    sql.push(`insert into labels (chain_id, address, kind, role, source, valid_from_block, note, registry_tx) values (${CHAIN_ID}, ${bytea(e.wallet)}, 'ecosystem', ${text(e.roleName.toLowerCase())}, 'registry', ${e.block}, ${text(e.note)}, ${bytea(e.tx)});`);
  }
  sql.push(`insert into labels (chain_id, address, kind, role, source, valid_from_block, note) values (${CHAIN_ID}, ${bytea(W.exchange)}, 'exchange', null, 'file', 0, 'exchange hot wallet');`);
  const registryLabel = (e) => ({ address: e.wallet, kind: "ecosystem", role: e.roleName.toLowerCase(), source: "registry", valid_from_block: e.block, valid_to_block: null, note: e.note, registry_tx: e.tx, unlabel_tx: null });
  const exchangeLabel = { address: W.exchange, kind: "exchange", role: null, source: "file", valid_from_block: 0, valid_to_block: null, note: "exchange hot wallet", registry_tx: null, unlabel_tx: null };
  const hop = (t) => ({ from: t.from, to: t.to, token: t.token, amount: t.amount.toString(), tx: t.tx, block: t.block, log_index: t.logIndex, time: new Date(t.time).toISOString().slice(0, 19) + "Z" });
  const endpoint = (address) => {
    if (address === W.exchange) return { address, kind: "exchange", label: exchangeLabel };
    if (address === W.faucet) return { address, kind: "ecosystem", label: registryLabel(faucetLabel) };
    return { address, kind: "unlabelled_wallet", note: "no earlier funding recorded" };
  };

  const clusterStats = {
    members: 7,
    paying_members: 6,
    top_payee: PROVIDERS[0],
    group_size: 6,
    same_amount_share: 1.0,
    usual_amount: usdc(5).toString(),
    start_window_share: 1.0,
    payment_count_cv: 0.0,
    criteria: { same_amount: true, start_window: true, count_cv: true },
    criteria_met: 3,
    suspected: true,
  };
  sql.push(`insert into funding_clusters (chain_id, cluster_id, root_funder, members, stats) values (${CHAIN_ID}, 1, ${bytea(W.sybilFunder)}, 7, ${json(clusterStats)});`);
  for (const { payer, funding } of farm) {
    expect(payer, "suspected_sybil", { fundingTx: funding.tx, funder: W.sybilFunder, fundingAmount: funding.amount.toString(), clusterId: 1 });
  }

  const verdicts = new Map();
  for (const [payer, t] of Object.entries(truth.payers)) {
    const fundingEvent = events.find((e) => e.kind === "transfer" && e.tx === t.fundingTx);
    const first = fundingEvent ? hop(fundingEvent) : null;
    const share = t.class === "project_funded" ? 1 : 0;
    const rule = {};
    switch (t.class) {
      case "external":
        rule.external_funding = { first_funding: first, traced_to: endpoint(fundingEvent.from) };
        break;
      case "internal":
        rule.internal_wallet = { label: registryLabel(treasuryLabel), payment_block: null };
        break;
      case "project_funded":
        rule.ecosystem_first_funder = { funding: first, label: registryLabel(faucetLabel) };
        rule.ecosystem_funds = { fifo_share: 1, haircut_share: 1, threshold: 0.5, sources: [{ wallet: W.faucet, amount: fundingEvent.amount.toString(), labels: [registryLabel(faucetLabel)] }] };
        break;
      case "self_dealing":
        rule.funding_link = { hops: 1, path: [first] };
        rule.flow_back = { back_share: 0.36, within_secs: 7 * 86400, hops: [hop(events.find((e) => e.tx === t.backTx))] };
        break;
      case "suspected_sybil":
        rule.sybil_cluster = { cluster_id: 1, root_funder: W.sybilFunder, members: 7, group_size: 6, top_payee: PROVIDERS[0], criteria_met: 3, same_amount_share: 1, start_window_share: 1, payment_count_cv: 0 };
        break;
      case "self_payment":
        rule.self_payment = { payer, payee: payer };
        break;
      default:
        rule.no_history = { reason: "no incoming transfer of at least the dust threshold at or before the payment's block" };
    }
    const flags = Object.keys(rule);
    const paymentEvidence = { class_rule: flags[0], rules: rule, ...(share ? { project_share: { fifo: share, haircut: share } } : {}) };
    const mine = payments.filter((p) => p.payer === payer);
    const volume = mine.reduce((a, p) => a + p.amount, 0n);
    const payerEvidence = {
      class_basis: "class of the largest share of the payer's volume (then most payments, then rule order)",
      payments: mine.length,
      classes: { [t.class]: { payments: mine.length, volume: volume.toString() } },
      labels: payer === W.treasury ? [registryLabel(treasuryLabel)] : [],
      first_funding: first,
      funding_path: { hops: first ? [first] : [], traced_to: fundingEvent ? endpoint(fundingEvent.from) : { kind: "no_funding_history" } },
      project_share: { fifo: share, haircut: share, threshold: 0.5 },
    };
    if (t.class === "suspected_sybil") {
      // The farm's funder was itself funded from the exchange: a two-hop path.
      const upstream = events.find((e) => e.kind === "transfer" && e.tx === hash("tx:fund:sybil-funder"));
      payerEvidence.funding_path = { hops: [first, hop(upstream)], traced_to: endpoint(W.exchange) };
    }
    if (t.class === "suspected_sybil") payerEvidence.cluster = { ...clusterStats, cluster_id: 1, root_funder: W.sybilFunder, in_group: true };
    if (t.class === "project_funded") payerEvidence.ecosystem_first_funder = rule.ecosystem_first_funder;
    if (t.class === "self_dealing") payerEvidence.self_dealing_payees = { count: 1, payees: [{ payee: PROVIDERS[2], flags: ["flow_back", "funding_link"], payments: mine.length }] };
    verdicts.set(payer, {
      class: t.class,
      flags,
      paymentEvidence,
      payerEvidence,
      fifo: share,
      haircut: share,
      clusterId: t.class === "suspected_sybil" ? 1 : null,
      firstFunder: fundingEvent ? fundingEvent.from : null,
    });
  }
  for (const p of payments) {
    const v = verdicts.get(p.payer);
    const cls = p.payer === p.payee ? "self_payment" : v.class;
    truth.classCounts[cls] = (truth.classCounts[cls] ?? 0) + 1;
    const num = (x) => (x === null || x === undefined ? "null" : String(x));
    sql.push(`insert into payment_classes (chain_id, payment_id, class, flags, evidence, project_share, haircut_share, cluster_id, rule_version, label_version) values (${CHAIN_ID}, ${bytea(p.id)}, ${text(cls)}, ${text(`{${v.flags.join(",")}}`)}, ${json(v.paymentEvidence)}, ${num(v.fifo)}, ${num(v.haircut)}, ${num(v.clusterId)}, ${text(RULE_VERSION)}, ${text(LABEL_VERSION)});`);
  }
  for (const [payer, v] of verdicts) {
    sql.push(`insert into payer_classes (chain_id, payer, class, flags, evidence, first_funder, cluster_id, rule_version, label_version) values (${CHAIN_ID}, ${bytea(payer)}, ${text(v.class)}, ${text(`{${v.flags.join(",")}}`)}, ${json(v.payerEvidence)}, ${v.firstFunder ? bytea(v.firstFunder) : "null"}, ${v.clusterId ?? "null"}, ${text(RULE_VERSION)}, ${text(LABEL_VERSION)});`);
  }
  sql.push(`insert into classifier_state (chain_id, last_block, rule_version, label_version, payments_classified) values (${CHAIN_ID}, ${lastBlock.number}, ${text(RULE_VERSION)}, ${text(LABEL_VERSION)}, ${payments.length});`);
  sql.push("commit;");

  truth.paymentCount = payments.length;
  truth.lastBlock = lastBlock.number;
  truth.usdcPayments = payments.filter((p) => p.token === TOKENS.usdc.address).length;
  truth.firstDay = new Date(Math.min(...payments.map((p) => p.time))).toISOString().slice(0, 10);
  truth.lastDay = new Date(Math.max(...payments.map((p) => p.time))).toISOString().slice(0, 10);
  return { sql: sql.join("\n"), truth };
}

/**
 * One more external USDC payment, by a new payer, on the fixture's last day, classified, with the
 * indexer checkpoint and the classifier state moved on: what a live indexer and classifier write
 * when a payment settles. For the dashboard's live-refresh test.
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
    `insert into blocks (chain_id, number, hash, parent_hash, block_time, log_count) values (${CHAIN_ID}, ${block}, ${bytea(hash(`block:${block}`))}, ${bytea(hash(`block:${block - 1}`))}, ${ts(time)}, 3);`,
    `insert into token_transfers (${head}, token, from_address, to_address, amount) values (${vals(hash("tx:fund:late"), 0)}, ${bytea(TOKENS.usdc.address)}, ${bytea(W.exchange)}, ${bytea(payer)}, ${usdc(100)});`,
    `insert into token_transfers (${head}, token, from_address, to_address, amount) values (${vals(tx, 1)}, ${bytea(TOKENS.usdc.address)}, ${bytea(payer)}, ${bytea(PROVIDERS[0])}, ${amount});`,
    `insert into charges (${head}, payment_id, payer, payee, token, facilitator, mode, amount, max_amount, facilitator_fee, protocol_fee, request_hash, evidence_hash, batch_id) values (${vals(tx, 2)}, ${bytea(id)}, ${bytea(payer)}, ${bytea(PROVIDERS[0])}, ${bytea(TOKENS.usdc.address)}, ${bytea(W.facilitator)}, 0, ${amount}, ${amount}, 0, 0, ${bytea(hash("request:late"))}, ${bytea(hash("evidence:late"))}, 0);`,
    `select recompute_payments(${CHAIN_ID}, array[${bytea(id)}]);`,
    `update checkpoint set block_number = ${block}, block_hash = ${bytea(hash(`block:${block}`))} where chain_id = ${CHAIN_ID};`,
    `insert into payment_classes (chain_id, payment_id, class, flags, evidence, project_share, haircut_share, cluster_id, rule_version, label_version) values (${CHAIN_ID}, ${bytea(id)}, 'external', '{external_funding}', ${json({ class_rule: "external_funding", rules: { external_funding: { first_funding: null } } })}, 0, 0, null, ${text(RULE_VERSION)}, ${text(LABEL_VERSION)});`,
    `insert into payer_classes (chain_id, payer, class, flags, evidence, first_funder, cluster_id, rule_version, label_version) values (${CHAIN_ID}, ${bytea(payer)}, 'external', '{external_funding}', ${json({ payments: 1 })}, ${bytea(W.exchange)}, null, ${text(RULE_VERSION)}, ${text(LABEL_VERSION)});`,
    `update classifier_state set last_block = ${block}, payments_classified = payments_classified + 1, updated_at = now() where chain_id = ${CHAIN_ID};`,
    "commit;",
  ].join("\n");
}
