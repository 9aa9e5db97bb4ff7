// The escrow scheme: what the payer signs, how the server scheme drives the SDK's escrow flow
// (authorize before the handler, capture after it, void on cancellation), and what the facilitator
// client refuses. The whole flow against anvil and x402-facilitator is
// facilitator/tests/sdk_indexer.rs.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { resolvePaymentFlow } from "@x402/core/server";
import type { PaymentPayload, PaymentRequirements } from "@x402/core/types";
import type { Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { ESCROW_ACTION_FIELD, escrowExpiries, X402SettleClientScheme, X402SettleFacilitatorClient, X402SettleServerScheme } from "../src/index.js";

const fixture = JSON.parse(readFileSync(new URL("../../test/fixtures/permit2-witness.json", import.meta.url), "utf8"));
const account = privateKeyToAccount(fixture.privateKey);
const requirements = (scheme: string, extra: Record<string, unknown> = {}): PaymentRequirements => ({
  scheme,
  network: "eip155:8453",
  amount: "5000",
  asset: fixture.permit2Authorization.permitted.token as Address,
  payTo: fixture.permit2Authorization.witness.payee as Address,
  maxTimeoutSeconds: 300,
  extra: {
    assetTransferMethod: "x402-settle-permit2",
    settlement: fixture.permit2Authorization.spender,
    permit2: fixture.permit2,
    facilitatorAddress: fixture.permit2Authorization.witness.facilitator,
    ...extra,
  },
});

test("the payer signs an escrow with its expiries from the requirements", async () => {
  const escrow = new X402SettleClientScheme("escrow", account, { now: () => 1_000_000 });
  const sign = async (extra: Record<string, unknown>) => {
    const r = await escrow.createPaymentPayload(2, requirements("escrow", extra));
    return (r.payload as { permit2Authorization: typeof fixture.permit2Authorization }).permit2Authorization;
  };
  const a = await sign({ authorizationSeconds: 600, refundSeconds: 3600 });
  assert.equal(a.witness.mode, 2);
  assert.equal(a.permitted.amount, "5000", "the maximum is held");
  assert.equal(a.witness.authorizationExpiry, "1000600");
  assert.equal(a.witness.refundExpiry, "1003600");
  const d = await sign({});
  assert.equal(d.witness.authorizationExpiry, "1000300", "default: the payment's timeout");
  assert.equal(d.witness.refundExpiry, "1000300", "refunds never end before captures");
  await assert.rejects(sign({ authorizationSeconds: 0 }), /extra\.authorizationSeconds/);
  await assert.rejects(sign({ refundSeconds: "soon" }), /extra\.refundSeconds/);
  // exact and upto sign no expiries.
  const exact = await new X402SettleClientScheme("exact", account).createPaymentPayload(2, requirements("exact", { authorizationSeconds: 600 }));
  assert.equal((exact.payload as { permit2Authorization: typeof a }).permit2Authorization.witness.authorizationExpiry, "0");
  assert.deepEqual(escrowExpiries({ authorizationSeconds: "60", refundSeconds: 30 }, 10n, 300n), [70n, 70n]);
});

test("the escrow server scheme asks for the SDK's escrow flow and names the settle's operation", async () => {
  const escrow = new X402SettleServerScheme("escrow", { authorizationSeconds: 900, refundSeconds: 1800 });
  const kind = { x402Version: 2, scheme: "escrow", network: "eip155:8453" as const, extra: { settlement: fixture.permit2Authorization.spender, permit2: fixture.permit2, facilitatorAddress: fixture.permit2Authorization.witness.facilitator } };
  const r = await escrow.enhancePaymentRequirements({ ...requirements("escrow"), extra: {} }, kind);
  assert.equal(r.extra.authorizationSeconds, 900);
  assert.equal(r.extra.refundSeconds, 1800);
  assert.equal(resolvePaymentFlow(escrow, r).paymentFlow, "escrow", "authorize before the handler, capture after");
  const upto = new X402SettleServerScheme("upto", { authorizationSeconds: 900 });
  const u = await upto.enhancePaymentRequirements({ ...requirements("upto"), extra: {} }, { ...kind, scheme: "upto" });
  assert.equal(u.extra.authorizationSeconds, undefined, "only escrow carries expiries");
  assert.equal(resolvePaymentFlow(upto, u).paymentFlow, "authorization");

  const ctx = (phase: "before-handler" | "after-handler" | "cancel") => ({ paymentPayload: {} as PaymentPayload, requirements: r, declaredExtensions: {}, phase });
  // The SDK calls the hook unbound (`const hook = scheme.enrichSettlementPayload; hook(ctx)`).
  const enrich = escrow.enrichSettlementPayload!;
  assert.equal(await enrich(ctx("before-handler")), undefined, "unmarked: authorize");
  assert.deepEqual(await enrich(ctx("after-handler")), { [ESCROW_ACTION_FIELD]: "capture" });
  assert.deepEqual(await enrich(ctx("cancel")), { [ESCROW_ACTION_FIELD]: "void" });
  assert.equal(upto.enrichSettlementPayload, undefined, "upto settles as it is");
  const canceled = { ...ctx("cancel"), reason: "handler_failed" as const, settledPhases: ["before-handler" as const] };
  assert.deepEqual(escrow.settleOnCancel(canceled), r, "a failed handler voids the escrow");
  assert.equal(upto.settleOnCancel(canceled), undefined);
  assert.throws(() => new X402SettleServerScheme("escrow", { authorizationSeconds: 0 }), /authorizationSeconds/);
});

test("the facilitator client captures only escrows it authorized, and checks what it sends", async () => {
  const client = new X402SettleFacilitatorClient({ url: "http://127.0.0.1:9" });
  const payload = (action: string, extensions?: Record<string, unknown>): PaymentPayload => ({
    x402Version: 2,
    accepted: requirements("escrow"),
    payload: { signature: "0x", permit2Authorization: { nonce: "77", permitted: { amount: "5000" } }, [ESCROW_ACTION_FIELD]: action },
    ...(extensions ? { extensions } : {}),
  });
  await assert.rejects(client.settle(payload("capture"), requirements("escrow")), /no escrow authorized by this client for Permit2 nonce 77/);
  await assert.rejects(client.settle(payload("void"), requirements("escrow")), /no escrow authorized/);
  await assert.rejects(client.settle(payload("refund"), requirements("escrow")), /x402SettleEscrowAction must be authorize, capture or void/);
  await assert.rejects(client.captureEscrow(`0x${"1".repeat(64)}`, 1n, "0x12"), /evidenceHash/);
  await assert.rejects(client.captureEscrow(`0x${"1".repeat(64)}`, "-1"), /amount/);
});
