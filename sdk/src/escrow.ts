// Escrow through x402-facilitator's escrow endpoints (facilitator/README.md, "HTTP API"). The SDK's
// escrow flow settles up to three times per request with the same `settle(payload, requirements)`
// call; the server scheme (server.ts) marks which one it is in the payload, and this client sends
// it where our facilitator does it:
//
//   before the handler  -> POST /escrow/authorize  (the signed maximum is held in the contract)
//   after the handler   -> POST /escrow/capture    (the requirements' amount — the handler's
//                          `setSettlementOverrides` amount, else the price — with the evidence
//                          extension's hash), then POST /escrow/void for the uncaptured rest
//   handler failed      -> POST /escrow/void       (everything back to the payer)
//
// Every other payment settles as the stock `HTTPFacilitatorClient` does. `captureEscrow`,
// `voidEscrow` and `escrow` are the same calls for work finished outside the request.
import { HTTPFacilitatorClient, type FacilitatorConfig } from "@x402/core/server";
import type { PaymentPayload, PaymentRequirements, SettleResponse } from "@x402/core/types";
import type { Hex } from "viem";

import { ASSET_TRANSFER_METHOD, uint, ZERO_HASH } from "./requirements.js";

/** The payload field (added by the escrow server scheme) naming the settle's escrow operation. */
export const ESCROW_ACTION_FIELD = "x402SettleEscrowAction";
export type EscrowAction = "authorize" | "capture" | "void";

/** Answer of `/escrow/capture` and `/escrow/void` (`wire::EscrowResponse`). */
export interface EscrowResult {
  success: boolean;
  errorReason?: string;
  errorMessage?: string;
  paymentId: Hex;
  transaction: string;
  /** Captured (capture) or returned to the payer (void), decimal. */
  amount?: string;
  network?: string;
}

export interface X402SettleFacilitatorConfig extends FacilitatorConfig {
  /**
   * After the capture at the end of a request, void the uncaptured rest so it goes back to the
   * payer now (default true). false keeps it held for later `captureEscrow` calls until the
   * authorization expiry, when the payer may reclaim it.
   */
  voidRemainder?: boolean;
}

const HASH = /^0x[0-9a-fA-F]{64}$/;

function permitNonce(payload: PaymentPayload): string | undefined {
  const n = (payload.payload as { permit2Authorization?: { nonce?: unknown } } | undefined)?.permit2Authorization?.nonce;
  return typeof n === "string" ? n : undefined;
}

function signedMaximum(payload: PaymentPayload): bigint {
  const a = (payload.payload as { permit2Authorization?: { permitted?: { amount?: unknown } } }).permit2Authorization;
  return uint(a?.permitted?.amount, "payload.permit2Authorization.permitted.amount");
}

/** The evidence extension's hash (what `EvidenceFacilitatorClient` attaches), zero without. */
function evidenceOf(payload: PaymentPayload): Hex {
  const info = (payload.extensions?.evidence as { info?: { evidenceHash?: unknown } } | undefined)?.info;
  const h = info?.evidenceHash;
  if (h === undefined) return ZERO_HASH;
  if (typeof h !== "string" || !HASH.test(h)) throw new TypeError(`extensions.evidence.info.evidenceHash must be 32 bytes hex, got ${JSON.stringify(h)}`);
  return h as Hex;
}

function isEscrow(payload: PaymentPayload, requirements: PaymentRequirements): boolean {
  return requirements.scheme === "escrow" && requirements.extra?.assetTransferMethod === ASSET_TRANSFER_METHOD && permitNonce(payload) !== undefined;
}

/**
 * `HTTPFacilitatorClient` for x402-facilitator: the same configuration (`url`, `createAuthHeaders`
 * — escrow calls use the `settle` headers), plus x402-settle's escrow.
 */
export class X402SettleFacilitatorClient extends HTTPFacilitatorClient {
  /** Payment id of each escrow this process authorized, by Permit2 nonce (the capture needs it). */
  private readonly escrows = new Map<string, Hex>();
  private readonly voidRemainder: boolean;

  constructor(config: X402SettleFacilitatorConfig) {
    super(config);
    this.voidRemainder = config.voidRemainder ?? true;
  }

  override async settle(payload: PaymentPayload, requirements: PaymentRequirements): Promise<SettleResponse> {
    if (!isEscrow(payload, requirements)) return super.settle(payload, requirements);
    const action = (payload.payload as Record<string, unknown>)[ESCROW_ACTION_FIELD] ?? "authorize";
    switch (action) {
      case "authorize":
        return this.authorize(payload, requirements);
      case "capture":
        return this.captureAfterHandler(payload, requirements);
      case "void":
        return this.asSettle(await this.voidEscrow(this.paymentIdOf(payload)), requirements);
      default:
        throw new TypeError(`payload.${ESCROW_ACTION_FIELD} must be authorize, capture or void, got ${JSON.stringify(action)}`);
    }
  }

  /** The escrow a payment authorized (from this process's authorize), e.g. to capture it later. */
  paymentIdOf(payload: PaymentPayload): Hex {
    const nonce = permitNonce(payload);
    const id = nonce === undefined ? undefined : this.escrows.get(nonce);
    if (!id) throw new Error(`x402-settle: no escrow authorized by this client for Permit2 nonce ${nonce} (authorize comes first)`);
    return id;
  }

  /** Captures `amount` (smallest units, ≤ what remains) of an escrow for the payee, recording `evidenceHash`. */
  async captureEscrow(paymentId: Hex, amount: bigint | string, evidenceHash: Hex = ZERO_HASH): Promise<EscrowResult> {
    if (!HASH.test(evidenceHash)) throw new RangeError(`evidenceHash must be 32 bytes hex, got ${evidenceHash}`);
    return this.post<EscrowResult>("escrow/capture", { paymentId, amount: uint(amount.toString(), "amount").toString(), evidenceHash });
  }

  /** Returns the uncaptured rest of an escrow to its payer and closes it. */
  async voidEscrow(paymentId: Hex): Promise<EscrowResult> {
    return this.post<EscrowResult>("escrow/void", { paymentId });
  }

  /** The escrow's on-chain state (`GET /escrow/{paymentId}`). */
  async escrow(paymentId: Hex): Promise<Record<string, unknown>> {
    const res = await fetch(`${this.url}/escrow/${paymentId}`, { headers: (await this.createAuthHeaders("settle")).headers });
    if (!res.ok) throw new Error(`x402-facilitator GET /escrow/${paymentId} answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as Record<string, unknown>;
  }

  private async authorize(payload: PaymentPayload, requirements: PaymentRequirements): Promise<SettleResponse> {
    const r = await this.post<SettleResponse & { paymentId?: Hex }>("escrow/authorize", {
      x402Version: payload.x402Version,
      paymentPayload: payload,
      paymentRequirements: requirements,
    });
    if (r.success && r.paymentId) this.escrows.set(permitNonce(payload)!, r.paymentId);
    return { ...r, extra: { ...(r.extra ?? {}), paymentId: r.paymentId, escrow: "authorized" } };
  }

  private async captureAfterHandler(payload: PaymentPayload, requirements: PaymentRequirements): Promise<SettleResponse> {
    const id = this.paymentIdOf(payload);
    const amount = uint(requirements.amount, "amount");
    const captured = await this.captureEscrow(id, amount, evidenceOf(payload));
    const settled = this.asSettle(captured, requirements);
    if (!captured.success || !this.voidRemainder || amount >= signedMaximum(payload)) return settled;
    const voided = await this.voidEscrow(id);
    if (!voided.success) {
      // The capture stands; the rest stays held until voided or reclaimed after the expiry.
      return { ...settled, extra: { ...settled.extra, voidError: voided.errorReason ?? "void failed" } };
    }
    return { ...settled, extra: { ...settled.extra, voidTransaction: voided.transaction, voidedAmount: voided.amount } };
  }

  private asSettle(r: EscrowResult, requirements: PaymentRequirements): SettleResponse {
    return {
      success: r.success,
      ...(r.errorReason ? { errorReason: r.errorReason } : {}),
      ...(r.errorMessage ? { errorMessage: r.errorMessage } : {}),
      transaction: r.transaction,
      network: requirements.network,
      ...(r.amount !== undefined ? { amount: r.amount } : {}),
      extra: { paymentId: r.paymentId },
    };
  }

  private async post<T>(path: string, body: unknown): Promise<T> {
    const headers = { "Content-Type": "application/json", ...(await this.createAuthHeaders("settle")).headers };
    const res = await fetch(`${this.url}/${path}`, { method: "POST", headers, body: JSON.stringify(body), signal: AbortSignal.timeout(this.timeoutMs) });
    const text = await res.text();
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      throw new Error(`x402-facilitator POST /${path} answered ${res.status}: ${text.slice(0, 300)}`);
    }
    if (!res.ok || typeof data !== "object" || data === null || !("success" in data)) {
      throw new Error(`x402-facilitator POST /${path} answered ${res.status}: ${text.slice(0, 300)}`);
    }
    return data as T;
  }
}
