// The unmodified x402 SDK (npm @x402/* 2.27.0, pinned in package.json) against x402-facilitator:
// an @x402/express resource server whose facilitator is ours, and @x402/fetch / @x402/evm clients
// paying it with EIP-3009 USDC (Circle's FiatToken v2.2 on anvil). Driven by
// facilitator/tests/sdk_e2e.rs, which prepares the chain and the facilitator, passes them in the
// environment, and checks the chain afterwards against the JSON this script prints last.
//
// The resource server attaches the evidence hash of each response to its settle request as the
// x402 extension `paymentPayload.extensions.evidence.info.evidenceHash` (see facilitator/README.md),
// from user code around the SDK's own HTTPFacilitatorClient.
import assert from "node:assert/strict";
import express from "express";
import { keccak256, toHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { paymentMiddleware, x402ResourceServer } from "@x402/express";
import { HTTPFacilitatorClient } from "@x402/core/server";
import { decodePaymentSignatureHeader } from "@x402/core/http";
import { ExactEvmScheme as ExactEvmServer } from "@x402/evm/exact/server";
import { registerExactEvmScheme } from "@x402/evm/exact/client";
import { wrapFetchWithPayment, x402Client, x402HTTPClient, decodePaymentResponseHeader } from "@x402/fetch";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`environment variable ${name} is required (set by facilitator/tests/sdk_e2e.rs)`);
  return v;
};
const FACILITATOR_URL = env("FACILITATOR_URL");
const API_KEY = process.env.API_KEY || "";
const NETWORK = `eip155:${env("CHAIN_ID")}`;
const USDC = env("USDC");
const PAYEE = env("PAYEE");
const OTHER_PAYEE = env("OTHER_PAYEE");
const PRICE = "1000"; // 0.001 USDC (6 decimals)

const log = (...args) => console.error("[sdk-e2e]", ...args);

// ---------------------------------------------------------------- the resource server

const auth = API_KEY ? { createAuthHeaders: async () => ({ verify: { Authorization: `Bearer ${API_KEY}` }, settle: { Authorization: `Bearer ${API_KEY}` }, supported: { Authorization: `Bearer ${API_KEY}` } }) } : {};
const sdkFacilitator = new HTTPFacilitatorClient({ url: FACILITATOR_URL, ...auth });

// Evidence of each paid response, by the payment's EIP-3009 nonce (the handler knows the payment
// from its header); added to the settle request as the `evidence` extension.
const evidenceByNonce = new Map();
const facilitator = {
  verify: (payload, requirements) => sdkFacilitator.verify(payload, requirements),
  getSupported: () => sdkFacilitator.getSupported(),
  settle: (payload, requirements) => {
    const nonce = payload?.payload?.authorization?.nonce;
    const evidenceHash = nonce && evidenceByNonce.get(nonce);
    const withEvidence = evidenceHash
      ? { ...payload, extensions: { ...(payload.extensions ?? {}), evidence: { info: { evidenceHash } } } }
      : payload;
    return sdkFacilitator.settle(withEvidence, requirements);
  },
};

const resourceServer = new x402ResourceServer(facilitator).register(NETWORK, new ExactEvmServer());
const price = { amount: PRICE, asset: USDC, extra: { name: "USD Coin", version: "2" } };
const routes = {
  "GET /inference": { accepts: { scheme: "exact", network: NETWORK, payTo: PAYEE, price, maxTimeoutSeconds: 300 }, description: "one inference" },
  // Signed authorizations of this route expire within 3 s: too close to settle safely.
  "GET /short": { accepts: { scheme: "exact", network: NETWORK, payTo: PAYEE, price, maxTimeoutSeconds: 3 }, description: "short-lived" },
};

const app = express();
app.use(paymentMiddleware(routes, resourceServer));
const answer = (req, res) => {
  const body = JSON.stringify({ model: "demo", output: `answer to ${req.path}`, at: Date.now() });
  const header = req.get("PAYMENT-SIGNATURE");
  if (header) evidenceByNonce.set(decodePaymentSignatureHeader(header).payload.authorization.nonce, keccak256(toHex(body)));
  res.type("application/json").send(body);
};
app.get("/inference", answer);
app.get("/short", answer);
const server = await new Promise((resolve) => {
  const s = app.listen(0, "127.0.0.1", () => resolve(s));
});
const base = `http://127.0.0.1:${server.address().port}`;
log("resource server at", base);

// ---------------------------------------------------------------- clients

function clientFor(key) {
  const client = new x402Client();
  registerExactEvmScheme(client, { signer: privateKeyToAccount(key) });
  client.setSpendControls({ allowedAssets: [{ network: NETWORK, asset: USDC }] });
  return client;
}

/** The reason in a 402 answer to a paid retry (the PAYMENT-REQUIRED header's `error`). */
async function refusalOf(response, client) {
  assert.equal(response.status, 402, `expected a 402 refusal, got ${response.status}`);
  const text = await response.text();
  const required = new x402HTTPClient(client).getPaymentRequiredResponse((n) => response.headers.get(n), text ? JSON.parse(text) : undefined);
  return required.error;
}

/** First 402 of `path`, then the payload the stock client signs for it. */
async function signedFor(client, path) {
  const first = await fetch(`${base}${path}`);
  assert.equal(first.status, 402);
  const http = new x402HTTPClient(client);
  const required = http.getPaymentRequiredResponse((n) => first.headers.get(n), await first.json().catch(() => undefined));
  const payload = await client.createPaymentPayload(required);
  return { required, payload, headers: http.encodePaymentSignatureHeader(payload) };
}

const results = {};
const payer = clientFor(env("PAYER_KEY"));

// 1. Pay, step by step with the SDK client, and keep the header to replay it.
{
  const { payload, headers } = await signedFor(payer, "/inference");
  assert.equal(payload.payload.authorization.to.toLowerCase(), PAYEE.toLowerCase(), "the SDK signs EIP-3009 to payTo");
  const paid = await fetch(`${base}/inference`, { headers });
  const body = await paid.text();
  assert.equal(paid.status, 200, `paid request answered ${paid.status}: ${body}`);
  const settle = decodePaymentResponseHeader(paid.headers.get("PAYMENT-RESPONSE"));
  assert.equal(settle.success, true);
  results.paid = { transaction: settle.transaction, payer: settle.payer, nonce: payload.payload.authorization.nonce, evidenceHash: keccak256(toHex(body)) };
  log("paid", results.paid);

  // Replaying the same payment: the nonce is used.
  const replay = await fetch(`${base}/inference`, { headers });
  results.replay = await refusalOf(replay, payer);
}

// 2. The stock fetch wrapper, end to end.
{
  const res = await wrapFetchWithPayment(fetch, payer)(`${base}/inference`);
  const body = await res.text();
  assert.equal(res.status, 200, `wrapped fetch answered ${res.status}: ${body}`);
  const settle = decodePaymentResponseHeader(res.headers.get("PAYMENT-RESPONSE"));
  results.wrapped = { transaction: settle.transaction, evidenceHash: keccak256(toHex(body)) };
}

// 3. Refusals the SDK provokes through the resource server.
{
  const poor = clientFor(env("POOR_KEY"));
  results.insufficientBalance = await refusalOf(await wrapFetchWithPayment(fetch, poor)(`${base}/inference`), poor);
  const blocked = clientFor(env("BLOCKED_KEY"));
  results.blocklisted = await refusalOf(await wrapFetchWithPayment(fetch, blocked)(`${base}/inference`), blocked);
  results.expired = await refusalOf(await wrapFetchWithPayment(fetch, payer)(`${base}/short`), payer);
}

// 4. Wrong payTo, straight through the SDK's facilitator client: signed for one payee, presented
//    against requirements for another.
{
  const { payload } = await signedFor(payer, "/inference");
  const requirements = { ...payload.accepted, payTo: OTHER_PAYEE };
  const v = await sdkFacilitator.verify({ ...payload, accepted: requirements }, requirements);
  assert.equal(v.isValid, false);
  results.wrongPayTo = v.invalidReason;
  const s = await sdkFacilitator.settle({ ...payload, accepted: requirements }, requirements);
  assert.equal(s.success, false);
  results.wrongPayToSettle = s.errorReason;
}

// 5. Concurrent settles of one authorization through the SDK's facilitator client.
{
  const { payload } = await signedFor(payer, "/inference");
  const answers = await Promise.all(Array.from({ length: 6 }, () => sdkFacilitator.settle(payload, payload.accepted)));
  for (const a of answers) assert.equal(a.success, true, JSON.stringify(a));
  results.concurrent = { transactions: [...new Set(answers.map((a) => a.transaction))], nonce: payload.payload.authorization.nonce };
}

// 6. Without the API key the facilitator refuses the SDK's client (401 problem document).
if (API_KEY) {
  const anonymous = new HTTPFacilitatorClient({ url: FACILITATOR_URL });
  const { payload } = await signedFor(payer, "/inference");
  results.withoutKey = await anonymous.verify(payload, payload.accepted).then(
    () => "accepted",
    (e) => e.message,
  );
}

server.close();
console.log(JSON.stringify(results));
