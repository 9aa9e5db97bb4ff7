// The TS signer against the fixture the Rust client reproduces (facilitator/tests/sdk_e2e.rs,
// `the_typescript_sdk_signs_the_digest_the_rust_client_signs`), and the client scheme's payload.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { recoverTypedDataAddress, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { permit2Authorization, permitWitnessDigest, permitWitnessTypedData, X402SettleClientScheme, X402SettleServerScheme, type PermitWitness } from "../src/index.js";

const fixture = JSON.parse(readFileSync(new URL("../../test/fixtures/permit2-witness.json", import.meta.url), "utf8"));

/** The fixture's wire JSON back to the signed values. */
function fromWire(): PermitWitness {
  const a = fixture.permit2Authorization;
  const w = a.witness;
  return {
    chainId: fixture.chainId,
    permit2: fixture.permit2,
    settlement: a.spender,
    token: a.permitted.token,
    amount: BigInt(a.permitted.amount),
    nonce: BigInt(a.nonce),
    deadline: BigInt(a.deadline),
    terms: { ...w, validAfter: BigInt(w.validAfter), authorizationExpiry: BigInt(w.authorizationExpiry), refundExpiry: BigInt(w.refundExpiry) },
  };
}

test("digest and signature equal the Rust client's", async () => {
  const p = fromWire();
  assert.equal(permitWitnessDigest(p), fixture.digest);
  const signature = await privateKeyToAccount(fixture.privateKey).signTypedData(permitWitnessTypedData(p));
  assert.equal(signature, fixture.signature);
  assert.deepEqual(permit2Authorization(p), fixture.permit2Authorization, "wire JSON round-trips");
});

test("any signed field changes the digest", () => {
  const p = fromWire();
  const base = permitWitnessDigest(p);
  assert.notEqual(permitWitnessDigest({ ...p, amount: p.amount + 1n }), base);
  assert.notEqual(permitWitnessDigest({ ...p, terms: { ...p.terms, mode: 0 } }), base);
  assert.notEqual(permitWitnessDigest({ ...p, terms: { ...p.terms, payee: p.terms.facilitator } }), base);
  assert.notEqual(permitWitnessDigest({ ...p, chainId: 1 }), base);
});

const account = privateKeyToAccount(fixture.privateKey);
const requirements = (scheme: string, extra: Record<string, unknown> = {}) => ({
  scheme,
  network: "eip155:8453" as const,
  amount: "250000",
  asset: fixture.permit2Authorization.permitted.token as Address,
  payTo: fixture.permit2Authorization.witness.payee as Address,
  maxTimeoutSeconds: 300,
  extra: {
    assetTransferMethod: "x402-settle-permit2",
    settlement: fixture.permit2Authorization.spender,
    permit2: fixture.permit2,
    facilitatorAddress: fixture.permit2Authorization.witness.facilitator,
    maxFacilitatorFeeBps: 50,
    ...extra,
  },
});

test("the client scheme signs what the requirements ask, recoverable to the payer", async () => {
  const upto = new X402SettleClientScheme("upto", account, { now: () => 1_000_000 });
  const r = await upto.createPaymentPayload(2, requirements("upto"));
  const payload = r.payload as { signature: Hex; permit2Authorization: typeof fixture.permit2Authorization };
  const a = payload.permit2Authorization;
  assert.equal(a.deadline, "1000300");
  assert.equal(a.witness.mode, 1);
  assert.equal(a.witness.payer, account.address);
  assert.equal(a.witness.requestHash, `0x${"0".repeat(64)}`);
  const p = { ...fromWire(), ...{ amount: 250000n, nonce: BigInt(a.nonce), deadline: 1_000_300n } };
  p.terms = { ...p.terms, requestHash: a.witness.requestHash, validAfter: 0n };
  const recovered = await recoverTypedDataAddress({ ...permitWitnessTypedData(p), signature: payload.signature });
  assert.equal(recovered, account.address);
  const again = await upto.createPaymentPayload(2, requirements("upto"));
  assert.notEqual((again.payload as typeof payload).permit2Authorization.nonce, a.nonce, "fresh nonce per payment");
});

test("the client refuses requirements it cannot sign, naming the field", async () => {
  const exact = new X402SettleClientScheme("exact", account);
  await assert.rejects(exact.createPaymentPayload(2, requirements("exact", { assetTransferMethod: "eip3009" })), /extra\.assetTransferMethod/);
  await assert.rejects(exact.createPaymentPayload(2, requirements("exact", { settlement: "0x1234" })), /extra\.settlement/);
  await assert.rejects(exact.createPaymentPayload(2, requirements("upto")), /scheme/);
  await assert.rejects(exact.createPaymentPayload(2, { ...requirements("exact"), network: "solana:x" as `${string}:${string}` }), /network/);
});

test("the server scheme takes its contract addresses from /supported", async () => {
  const server = new X402SettleServerScheme("upto", { maxFacilitatorFeeBps: 25 });
  const base = { scheme: "upto", network: "eip155:8453" as const, amount: "1000", asset: fixture.permit2Authorization.permitted.token, payTo: account.address, maxTimeoutSeconds: 60, extra: {} };
  const kind = { x402Version: 2, scheme: "upto", network: "eip155:8453" as const, extra: { settlement: fixture.permit2Authorization.spender, permit2: fixture.permit2, facilitatorAddress: fixture.permit2Authorization.witness.facilitator.toLowerCase() } };
  const r = await server.enhancePaymentRequirements(base, kind);
  assert.equal(r.extra.assetTransferMethod, "x402-settle-permit2");
  assert.equal(r.extra.facilitator, fixture.permit2Authorization.witness.facilitator, "checksummed");
  assert.equal(r.extra.maxFacilitatorFeeBps, 25);
  await assert.rejects(server.enhancePaymentRequirements(base, { ...kind, extra: {} }), /extra\.facilitatorAddress/);
  await assert.rejects(server.parsePrice("$0.01", "eip155:8453"), /\{ amount, asset \}/);
});
