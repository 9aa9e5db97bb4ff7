// Reading x402-settle's fields out of x402 `PaymentRequirements.extra`, with errors that name the
// field. The server scheme (server.ts) writes them from the facilitator's `/supported` answer.
import { getAddress, isAddress, isHex, type Address, type Hex } from "viem";

/** `extra.assetTransferMethod` of requirements paid through the settlement contract. */
export const ASSET_TRANSFER_METHOD = "x402-settle-permit2";

export const ZERO_HASH: Hex = `0x${"0".repeat(64)}`;

/** The `extra` fields our facilitator needs (see facilitator/README.md, "Our Permit2 witness payload"). */
export interface SettlementExtra {
  settlement: Address;
  permit2: Address;
  facilitator: Address;
  requestHash: Hex;
  maxFacilitatorFeeBps: number;
}

export class RequirementsError extends Error {
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(`x402-settle: paymentRequirements.${field}: ${reason}`);
    this.name = "RequirementsError";
  }
}

export function address(value: unknown, field: string): Address {
  if (typeof value !== "string" || !isAddress(value, { strict: false })) {
    throw new RequirementsError(field, `expected an address, got ${JSON.stringify(value)}`);
  }
  return getAddress(value);
}

/** `eip155:<id>` to the chain id. */
export function chainIdOf(network: string): number {
  const m = /^eip155:(\d+)$/.exec(network);
  if (!m) throw new RequirementsError("network", `expected eip155:<chainId>, got ${JSON.stringify(network)}`);
  return Number(m[1]);
}

export function uint(value: unknown, field: string): bigint {
  if ((typeof value === "string" && /^\d+$/.test(value)) || (typeof value === "number" && Number.isSafeInteger(value) && value >= 0)) {
    return BigInt(value);
  }
  throw new RequirementsError(field, `expected a non-negative integer, got ${JSON.stringify(value)}`);
}

export function settlementExtra(extra: Record<string, unknown> | undefined): SettlementExtra {
  const e = extra ?? {};
  const requestHash = e.requestHash ?? ZERO_HASH;
  if (typeof requestHash !== "string" || !isHex(requestHash) || requestHash.length !== 66) {
    throw new RequirementsError("extra.requestHash", `expected 32 bytes hex, got ${JSON.stringify(requestHash)}`);
  }
  const fee = uint(e.maxFacilitatorFeeBps ?? 0, "extra.maxFacilitatorFeeBps");
  if (fee > 10_000n) throw new RequirementsError("extra.maxFacilitatorFeeBps", `${fee} exceeds 10000 basis points`);
  return {
    settlement: address(e.settlement, "extra.settlement"),
    permit2: address(e.permit2, "extra.permit2"),
    facilitator: address(e.facilitator ?? e.facilitatorAddress, "extra.facilitator"),
    requestHash: requestHash as Hex,
    maxFacilitatorFeeBps: Number(fee),
  };
}
