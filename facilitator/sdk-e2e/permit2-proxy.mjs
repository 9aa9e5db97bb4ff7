// The unmodified x402 SDK (npm @x402/* 2.27.0) pays through x402's own Permit2 proxies and
// x402-facilitator: an @x402/express server with the SDK's exact (price extra
// `assetTransferMethod: "permit2"`) and upto schemes, @x402/fetch clients with the SDK's exact and
// upto client schemes. Driven by facilitator/tests/sdk_e2e.rs, which first places Permit2 and the
// test proxies (tests/x402proxy/, a reimplementation of the interface the SDK publishes) at the
// SDK's canonical addresses on anvil, and checks the chain afterwards against the JSON printed
// last. The upto handler settles less than the signed maximum the SDK's way
// (`setSettlementOverrides`).
import assert from "node:assert/strict";
import fs from "node:fs";
import express from "express";
import { privateKeyToAccount } from "viem/accounts";
import { paymentMiddleware, setSettlementOverrides, x402ResourceServer } from "@x402/express";
import { HTTPFacilitatorClient } from "@x402/core/server";
import { x402ExactPermit2ProxyABI, x402UptoPermit2ProxyABI } from "@x402/evm";
import { ExactEvmScheme as ExactEvmServer } from "@x402/evm/exact/server";
import { ExactEvmScheme as ExactEvmClient } from "@x402/evm/exact/client";
import { UptoEvmScheme as UptoEvmServer } from "@x402/evm/upto/server";
import { UptoEvmScheme as UptoEvmClient } from "@x402/evm/upto/client";
import { wrapFetchWithPayment, x402Client, x402HTTPClient, decodePaymentResponseHeader } from "@x402/fetch";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`environment variable ${name} is required (set by facilitator/tests/sdk_e2e.rs)`);
  return v;
};
const NETWORK = `eip155:${env("CHAIN_ID")}`;
const USDC = env("USDC");
const PAYEE = env("PAYEE");
const OTHER_PAYEE = env("OTHER_PAYEE");
const PRICE = env("PRICE");
const UPTO_MAX = env("UPTO_MAX");
const UPTO_USED = env("UPTO_USED");
const log = (...args) => console.error("[permit2-proxy]", ...args);
const results = {};

// 0. The bindings the facilitator calls the proxies with (bindings/abi, exported from the test
//    proxies) declare exactly the functions, events and errors of the SDK's published ABIs.
{
  const signature = (abi) =>
    abi
      .filter((item) => item.type !== "constructor")
      .map((item) => {
        const type = (p) => (p.type === "tuple" ? `(${p.components.map(type).join(",")})` : p.type);
        const list = (ps) => (ps ?? []).map(type).join(",");
        return `${item.type} ${item.name}(${list(item.inputs)})(${list(item.outputs)}) ${item.stateMutability ?? ""}`;
      })
      .sort();
  for (const [name, published] of [
    ["x402ExactPermit2Proxy", x402ExactPermit2ProxyABI],
    ["x402UptoPermit2Proxy", x402UptoPermit2ProxyABI],
  ]) {
    const ours = JSON.parse(fs.readFileSync(new URL(`../../bindings/abi/${name}.json`, import.meta.url), "utf8"));
    assert.deepEqual(signature(ours), signature(published), `bindings/abi/${name}.json is the SDK's ${name} ABI`);
  }
  results.abiMatchesSdk = true;
}

// ---------------------------------------------------------------- the resource server

const sdkFacilitator = new HTTPFacilitatorClient({ url: env("FACILITATOR_URL") });
const resourceServer = new x402ResourceServer(sdkFacilitator)
  .register(NETWORK, new ExactEvmServer())
  .register(NETWORK, new UptoEvmServer());
const permit2Price = (amount) => ({ amount, asset: USDC, extra: { assetTransferMethod: "permit2" } });
const routes = {
  "GET /exact": { accepts: { scheme: "exact", network: NETWORK, payTo: PAYEE, price: permit2Price(PRICE), maxTimeoutSeconds: 300 } },
  "GET /upto": { accepts: { scheme: "upto", network: NETWORK, payTo: PAYEE, price: permit2Price(UPTO_MAX), maxTimeoutSeconds: 300 } },
  // Signed permits of this route expire within 3 s: too close to settle safely.
  "GET /short": { accepts: { scheme: "exact", network: NETWORK, payTo: PAYEE, price: permit2Price(PRICE), maxTimeoutSeconds: 3 } },
};
const app = express();
app.use(paymentMiddleware(routes, resourceServer));
app.get("/exact", (_req, res) => res.json({ output: "exact answer" }));
app.get("/short", (_req, res) => res.json({ output: "short answer" }));
app.get("/upto", (_req, res) => {
  // Metered: this request used less than the maximum the payer signed.
  setSettlementOverrides(res, { amount: UPTO_USED });
  res.json({ output: "metered answer" });
});
const server = await new Promise((resolve) => {
  const s = app.listen(0, "127.0.0.1", () => resolve(s));
});
const base = `http://127.0.0.1:${server.address().port}`;

// ---------------------------------------------------------------- clients

function clientFor(key) {
  const signer = privateKeyToAccount(key);
  const client = new x402Client().register(NETWORK, new ExactEvmClient(signer)).register(NETWORK, new UptoEvmClient(signer));
  client.setSpendControls({ allowedAssets: [{ network: NETWORK, asset: USDC }] });
  return client;
}

/** The reason in a 402 answer to a paid retry (the PAYMENT-REQUIRED header's `error`); the SDK's
 *  server answers a missing Permit2 allowance with 412 instead. */
async function refusalOf(response, client, status = 402) {
  assert.equal(response.status, status, `expected a ${status} refusal, got ${response.status}`);
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

const payer = clientFor(env("PAYER_KEY"));

// 1. exact through x402ExactPermit2Proxy, step by step, keeping the header to replay it.
{
  const { payload, headers } = await signedFor(payer, "/exact");
  const auth = payload.payload.permit2Authorization;
  assert.ok(auth, "the SDK signs a Permit2 authorization for assetTransferMethod permit2");
  assert.equal(auth.witness.to.toLowerCase(), PAYEE.toLowerCase());
  const paid = await fetch(`${base}/exact`, { headers });
  const body = await paid.text();
  assert.equal(paid.status, 200, `paid request answered ${paid.status}: ${body}`);
  const settle = decodePaymentResponseHeader(paid.headers.get("PAYMENT-RESPONSE"));
  assert.equal(settle.success, true, JSON.stringify(settle));
  results.exact = { transaction: settle.transaction, payer: settle.payer, spender: auth.spender, nonce: auth.nonce };
  log("exact", results.exact);
  // Replaying it: the Permit2 nonce is used.
  results.replay = await refusalOf(await fetch(`${base}/exact`, { headers }), payer);
}

// 2. upto through x402UptoPermit2Proxy with the stock fetch wrapper; the handler used less.
{
  const res = await wrapFetchWithPayment(fetch, payer)(`${base}/upto`);
  const body = await res.text();
  assert.equal(res.status, 200, `upto answered ${res.status}: ${body} ${res.headers.get("PAYMENT-REQUIRED") ?? ""}`);
  const settle = decodePaymentResponseHeader(res.headers.get("PAYMENT-RESPONSE"));
  assert.equal(settle.success, true, JSON.stringify(settle));
  results.upto = { transaction: settle.transaction, payer: settle.payer, amount: settle.amount };
  log("upto", results.upto);
}

// 3. Refusals the SDK provokes through the resource server.
{
  results.expired = await refusalOf(await wrapFetchWithPayment(fetch, payer)(`${base}/short`), payer);
  const unapproved = clientFor(env("UNAPPROVED_KEY"));
  results.noAllowance = await refusalOf(await wrapFetchWithPayment(fetch, unapproved)(`${base}/exact`), unapproved, 412);
  results.noAllowanceUpto = await refusalOf(await wrapFetchWithPayment(fetch, unapproved)(`${base}/upto`), unapproved, 412);
}

// 4. Wrong payTo, straight through the SDK's facilitator client: signed for one payee, presented
//    against requirements for another.
for (const route of ["exact", "upto"]) {
  const { payload } = await signedFor(payer, `/${route}`);
  const requirements = { ...payload.accepted, payTo: OTHER_PAYEE };
  const v = await sdkFacilitator.verify({ ...payload, accepted: requirements }, requirements);
  assert.equal(v.isValid, false);
  const s = await sdkFacilitator.settle({ ...payload, accepted: requirements }, requirements);
  assert.equal(s.success, false);
  results[`wrongPayTo_${route}`] = [v.invalidReason, s.errorReason];
}

// 5. An upto settle above the signed maximum, through the SDK's facilitator client.
{
  const { payload } = await signedFor(payer, "/upto");
  const s = await sdkFacilitator.settle(payload, { ...payload.accepted, amount: (BigInt(UPTO_MAX) + 1n).toString() });
  assert.equal(s.success, false);
  results.uptoAboveMax = s.errorReason;
}

server.close();
console.log(JSON.stringify(results));
