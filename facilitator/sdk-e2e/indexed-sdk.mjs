// Every scheme through the unmodified x402 SDK (npm @x402/* 2.27.0) and the package of `sdk/`,
// each response's evidence hash recorded by its handler: an @x402/express server whose facilitator
// is x402-facilitator (the package's `X402SettleFacilitatorClient`, wrapped in
// `EvidenceFacilitatorClient`), and an @x402/fetch agent set up with `registerX402SettleClient`,
// pay stock EIP-3009 `exact`, our `exact` and `upto`, an `escrow` whose handler used part of the
// maximum (captured with evidence, the rest voided) and an `escrow` whose handler failed (voided).
// Driven by facilitator/tests/sdk_indexer.rs, which runs the indexer afterwards and checks its
// database against the JSON printed last. Needs `npm run build --prefix sdk`.
import assert from "node:assert/strict";
import express from "express";
import { keccak256, toHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { paymentMiddleware, setSettlementOverrides, x402ResourceServer } from "@x402/express";
import { ExactEvmScheme as ExactEvmServer } from "@x402/evm/exact/server";
import { ExactEvmScheme as ExactEvmClient } from "@x402/evm/exact/client";
import { wrapFetchWithPayment, x402Client, decodePaymentResponseHeader } from "@x402/fetch";
import { EvidenceFacilitatorClient, registerX402SettleClient, registerX402SettleServer, X402SettleFacilitatorClient } from "../../sdk/dist/src/index.js";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`environment variable ${name} is required (set by facilitator/tests/sdk_indexer.rs)`);
  return v;
};
const NETWORK = `eip155:${env("CHAIN_ID")}`;
const USDC = env("USDC");
const PAYEE = env("PAYEE");
const PRICE = env("EXACT_PRICE");
const MAX = env("MAX");
const USED = env("USED");
const log = (...args) => console.error("[indexed-sdk]", ...args);

// The package's set-up lines (sdk/README.md): one facilitator client for every scheme.
const facilitator = new EvidenceFacilitatorClient(new X402SettleFacilitatorClient({ url: env("FACILITATOR_URL") }));
const resourceServer = registerX402SettleServer(new x402ResourceServer(facilitator), { network: NETWORK, authorizationSeconds: 600 });

const evidence = {};
/** Sends `body` and records its hash as the payment's evidence. */
function answer(route, req, res, body) {
  const text = JSON.stringify(body);
  evidence[route] = keccak256(toHex(text));
  facilitator.record(req.get("PAYMENT-SIGNATURE"), evidence[route]);
  res.type("application/json").send(text);
}
const ours = (scheme, amount) => ({ accepts: { scheme, network: NETWORK, payTo: PAYEE, price: { amount, asset: USDC }, maxTimeoutSeconds: 300 } });
const routes = {
  "GET /exact": ours("exact", PRICE),
  "GET /upto": ours("upto", MAX),
  "GET /escrow": ours("escrow", MAX),
  "GET /escrow-failed": ours("escrow", MAX),
};
const app = express();
app.use(paymentMiddleware(routes, resourceServer));
app.get("/exact", (req, res) => answer("exact", req, res, { output: "exact answer" }));
app.get("/upto", (req, res) => {
  setSettlementOverrides(res, { amount: USED });
  answer("upto", req, res, { output: "metered answer" });
});
app.get("/escrow", (req, res) => {
  // The work used part of the held maximum: that part is captured with this evidence.
  setSettlementOverrides(res, { amount: USED });
  answer("escrow", req, res, { output: "escrowed answer" });
});
app.get("/escrow-failed", (_req, res) => res.status(503).json({ error: "model unavailable" }));

// The stock EIP-3009 provider: the SDK's own server scheme, our facilitator and evidence.
const stockFacilitator = new EvidenceFacilitatorClient(new X402SettleFacilitatorClient({ url: env("FACILITATOR_URL") }));
const stockServer = new x402ResourceServer(stockFacilitator).register(NETWORK, new ExactEvmServer());
const stockApp = express();
const stockPrice = { amount: PRICE, asset: USDC, extra: { name: "USD Coin", version: "2" } };
stockApp.use(paymentMiddleware({ "GET /eip3009": { accepts: { scheme: "exact", network: NETWORK, payTo: PAYEE, price: stockPrice, maxTimeoutSeconds: 300 } } }, stockServer));
stockApp.get("/eip3009", (req, res) => {
  const text = JSON.stringify({ output: "stock answer" });
  evidence.eip3009 = keccak256(toHex(text));
  stockFacilitator.record(req.get("PAYMENT-SIGNATURE"), evidence.eip3009);
  res.type("application/json").send(text);
});

const listen = (a) => new Promise((resolve) => {
  const s = a.listen(0, "127.0.0.1", () => resolve(s));
});
const server = await listen(app);
const stock = await listen(stockApp);
const base = `http://127.0.0.1:${server.address().port}`;

// The agent.
const signer = privateKeyToAccount(env("PAYER_KEY"));
const client = registerX402SettleClient(new x402Client(), { signer, fallbacks: { exact: new ExactEvmClient(signer) } });
client.setSpendControls({ allowedAssets: [{ network: NETWORK, asset: USDC }] });
const pay = wrapFetchWithPayment(fetch, client);

const results = {};
const urls = {
  eip3009: `http://127.0.0.1:${stock.address().port}/eip3009`,
  exact: `${base}/exact`,
  upto: `${base}/upto`,
  escrow: `${base}/escrow`,
  escrowFailed: `${base}/escrow-failed`,
};
for (const [route, url] of Object.entries(urls)) {
  const res = await pay(url);
  const body = await res.text();
  const header = res.headers.get("PAYMENT-RESPONSE");
  assert.ok(header, `${route} answered ${res.status} without PAYMENT-RESPONSE: ${body} ${res.headers.get("PAYMENT-REQUIRED") ?? ""}`);
  const settle = decodePaymentResponseHeader(header);
  log(route, res.status, JSON.stringify(settle));
  assert.equal(res.status, route === "escrowFailed" ? 503 : 200, `${route}: ${body}`);
  assert.equal(settle.success, true, `${route}: ${JSON.stringify(settle)}`);
  results[route] = { transaction: settle.transaction, amount: settle.amount ?? null, extra: settle.extra ?? null, evidenceHash: evidence[route] ?? null };
}

server.close();
stock.close();
console.log(JSON.stringify(results));
