// The package of this repo's `sdk/` (x402-settle's exact and upto as x402 SDK schemes) inside the
// unmodified x402 SDK (npm @x402/* 2.27.0, pinned in package.json): an @x402/express resource
// server and an @x402/fetch client, each set up with the package's one registration call, pay an
// `exact` and an `upto` route through x402-facilitator. The upto handler settles less than the
// signed maximum the SDK's way (`setSettlementOverrides`). Driven by facilitator/tests/sdk_e2e.rs,
// which checks the chain against the JSON printed last. The same agent also pays a second
// provider using the stock EIP-3009 `exact` (its fallback). Needs `npm run build --prefix sdk`.
import assert from "node:assert/strict";
import express from "express";
import { privateKeyToAccount } from "viem/accounts";
import { paymentMiddleware, setSettlementOverrides, x402ResourceServer } from "@x402/express";
import { ExactEvmScheme as ExactEvmServer } from "@x402/evm/exact/server";
import { ExactEvmScheme as ExactEvmClient } from "@x402/evm/exact/client";
import { HTTPFacilitatorClient } from "@x402/core/server";
import { wrapFetchWithPayment, x402Client, decodePaymentResponseHeader } from "@x402/fetch";
import { keccak256, toHex } from "viem";
import { EvidenceFacilitatorClient, registerX402SettleClient, registerX402SettleServer } from "../../sdk/dist/src/index.js";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`environment variable ${name} is required (set by facilitator/tests/sdk_e2e.rs)`);
  return v;
};
const NETWORK = `eip155:${env("CHAIN_ID")}`;
const USDC = env("USDC");
const PAYEE = env("PAYEE");
const EXACT_PRICE = env("EXACT_PRICE");
const UPTO_MAX = env("UPTO_MAX");
const UPTO_USED = env("UPTO_USED");
const log = (...args) => console.error("[settle-sdk]", ...args);

// The resource server: the stock SDK with our schemes registered; the exact route's handler
// attaches the evidence hash of its answer to the settle request, the upto one does not.
const facilitator = new EvidenceFacilitatorClient(new HTTPFacilitatorClient({ url: env("FACILITATOR_URL") }));
const resourceServer = registerX402SettleServer(new x402ResourceServer(facilitator), { network: NETWORK });
let exactEvidence;
const routes = {
  "GET /exact": { accepts: { scheme: "exact", network: NETWORK, payTo: PAYEE, price: { amount: EXACT_PRICE, asset: USDC }, maxTimeoutSeconds: 300 }, description: "one inference" },
  "GET /upto": { accepts: { scheme: "upto", network: NETWORK, payTo: PAYEE, price: { amount: UPTO_MAX, asset: USDC }, maxTimeoutSeconds: 300 }, description: "metered inference" },
};
const app = express();
app.use(paymentMiddleware(routes, resourceServer));
app.get("/exact", (req, res) => {
  const body = JSON.stringify({ output: "exact answer", at: Date.now() });
  exactEvidence = keccak256(toHex(body));
  facilitator.record(req.get("PAYMENT-SIGNATURE"), exactEvidence);
  res.type("application/json").send(body);
});
app.get("/upto", (_req, res) => {
  // Metered: this request used less than the maximum the payer signed.
  setSettlementOverrides(res, { amount: UPTO_USED });
  res.json({ output: "metered answer" });
});
const server = await new Promise((resolve) => {
  const s = app.listen(0, "127.0.0.1", () => resolve(s));
});
const base = `http://127.0.0.1:${server.address().port}`;

// A second provider with the stock EIP-3009 `exact`: the same agent pays it through its fallback.
const stockApp = express();
const stockServer = new x402ResourceServer(new HTTPFacilitatorClient({ url: env("FACILITATOR_URL") })).register(NETWORK, new ExactEvmServer());
const stockPrice = { amount: EXACT_PRICE, asset: USDC, extra: { name: "USD Coin", version: "2" } };
stockApp.use(paymentMiddleware({ "GET /eip3009": { accepts: { scheme: "exact", network: NETWORK, payTo: PAYEE, price: stockPrice, maxTimeoutSeconds: 300 } } }, stockServer));
stockApp.get("/eip3009", (_req, res) => res.json({ output: "stock answer" }));
const stock = await new Promise((resolve) => {
  const s = stockApp.listen(0, "127.0.0.1", () => resolve(s));
});

// The agent: the stock fetch wrapper with our schemes registered.
const signer = privateKeyToAccount(env("PAYER_KEY"));
const client = registerX402SettleClient(new x402Client(), { signer, fallbacks: { exact: new ExactEvmClient(signer) } });
client.setSpendControls({ allowedAssets: [{ network: NETWORK, asset: USDC }] });
const pay = wrapFetchWithPayment(fetch, client);

const results = {};
const urls = { exact: `${base}/exact`, upto: `${base}/upto`, eip3009: `http://127.0.0.1:${stock.address().port}/eip3009` };
for (const [route, url] of Object.entries(urls)) {
  const res = await pay(url);
  const body = await res.text();
  assert.equal(res.status, 200, `${route} answered ${res.status}: ${body} ${res.headers.get("PAYMENT-REQUIRED") ?? ""}`);
  const settle = decodePaymentResponseHeader(res.headers.get("PAYMENT-RESPONSE"));
  assert.equal(settle.success, true, JSON.stringify(settle));
  results[route] = { transaction: settle.transaction, payer: settle.payer, amount: settle.amount };
  if (route === "exact") results[route].evidenceHash = exactEvidence;
  log(route, results[route]);
}

server.close();
stock.close();
console.log(JSON.stringify(results));
