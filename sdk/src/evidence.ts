// The evidence of a paid response, attached to the settle request as the facilitator's `evidence`
// extension (`paymentPayload.extensions.evidence.info.evidenceHash`, facilitator/README.md), so the
// payment and the hash of what was served land in one on-chain event. A settle without a recorded
// hash records zero.
import type { FacilitatorClient } from "@x402/core/server";
import type { PaymentPayload, PaymentRequirements } from "@x402/core/types";
import type { Hex } from "viem";

/** The payment's nonce: ours (`permit2Authorization.nonce`) or EIP-3009's (`authorization.nonce`). */
function paymentNonce(payload: unknown): string | undefined {
  const p = payload as { permit2Authorization?: { nonce?: unknown }; authorization?: { nonce?: unknown } } | undefined;
  const n = p?.permit2Authorization?.nonce ?? p?.authorization?.nonce;
  return typeof n === "string" ? n : undefined;
}

/**
 * Wraps the resource server's facilitator client. The handler calls `record(paymentHeader, hash)`
 * with the request's `PAYMENT-SIGNATURE` header; the settle of that payment then carries the hash.
 */
export class EvidenceFacilitatorClient implements FacilitatorClient {
  private readonly pending = new Map<string, Hex>();

  constructor(private readonly inner: FacilitatorClient) {}

  /** Remembers `evidenceHash` for the payment in `paymentHeader` (the base64 x402 payment header). */
  record(paymentHeader: string, evidenceHash: Hex): void {
    if (!/^0x[0-9a-fA-F]{64}$/.test(evidenceHash)) throw new RangeError(`evidenceHash must be 32 bytes hex, got ${evidenceHash}`);
    let decoded: { payload?: unknown };
    try {
      decoded = JSON.parse(Buffer.from(paymentHeader, "base64").toString("utf8"));
    } catch (e) {
      throw new TypeError(`payment header is not base64 JSON: ${(e as Error).message}`);
    }
    const nonce = paymentNonce(decoded.payload);
    if (!nonce) throw new TypeError("payment header carries no payload nonce (permit2Authorization.nonce or authorization.nonce)");
    this.pending.set(nonce, evidenceHash);
  }

  verify(payload: PaymentPayload, requirements: PaymentRequirements) {
    return this.inner.verify(payload, requirements);
  }

  getSupported() {
    return this.inner.getSupported();
  }

  async settle(payload: PaymentPayload, requirements: PaymentRequirements) {
    const nonce = paymentNonce(payload.payload);
    const evidenceHash = nonce === undefined ? undefined : this.pending.get(nonce);
    const withEvidence = evidenceHash ? { ...payload, extensions: { ...(payload.extensions ?? {}), evidence: { info: { evidenceHash } } } } : payload;
    const result = await this.inner.settle(withEvidence, requirements);
    // Kept until settled: the SDK retries a pending settle, and the retry must carry the same hash.
    if (result.success && nonce !== undefined) this.pending.delete(nonce);
    return result;
  }
}
