// The resource server's side: a `SchemeNetworkServer` for @x402/core's `x402ResourceServer` (and so
// @x402/express, @x402/hono, @x402/next) that asks for x402-settle payments. Settling an `upto`
// payment below its signed maximum is the SDK's own way: the handler calls
// `setSettlementOverrides(res, { amount })` and the SDK lowers `paymentRequirements.amount` in
// the settle request.
import type { x402ResourceServer } from "@x402/core/server";
import type { AssetAmount, Network, PaymentFlowConfig, PaymentRequirements, Price, SchemeNetworkServer, SupportedKind } from "@x402/core/types";
import { getAddress, type Hex } from "viem";

import type { SchemeName } from "./eip712.js";
import { address, ASSET_TRANSFER_METHOD, RequirementsError, ZERO_HASH } from "./requirements.js";

export interface SettleServerOptions {
  /** Largest facilitator fee the payer is asked to accept, in basis points (default: the fee the facilitator's `/supported` names, else 0). */
  maxFacilitatorFeeBps?: number;
  /**
   * The request hash bound into the signed witness (default zero). Must be the same each time the
   * route's requirements are built, since the SDK matches the payer's `accepted` against them.
   */
  requestHash?: Hex;
}

export class X402SettleServerScheme implements SchemeNetworkServer {
  readonly scheme: SchemeName;
  readonly defaultAssetTransferMethod = ASSET_TRANSFER_METHOD;
  readonly paymentFlows: Readonly<Record<string, PaymentFlowConfig>> = {
    // Verify before the handler, settle after it (upto: with the amount the handler names).
    [ASSET_TRANSFER_METHOD]: { supported: ["authorization"], default: "authorization" },
  };

  constructor(
    scheme: "exact" | "upto",
    private readonly options: SettleServerOptions = {},
  ) {
    this.scheme = scheme;
    const fee = options.maxFacilitatorFeeBps ?? 0;
    if (!Number.isInteger(fee) || fee < 0 || fee > 10_000) throw new RangeError(`maxFacilitatorFeeBps must be an integer in 0..=10000, got ${fee}`);
    if (options.requestHash !== undefined && !/^0x[0-9a-fA-F]{64}$/.test(options.requestHash)) {
      throw new RangeError(`requestHash must be 32 bytes hex, got ${options.requestHash}`);
    }
  }

  /** Prices are token amounts: `{ amount: "<smallest units>", asset: "<token address>" }`. */
  async parsePrice(price: Price, network: Network): Promise<AssetAmount> {
    if (typeof price === "object" && price !== null && "amount" in price && "asset" in price) {
      if (!/^\d+$/.test(price.amount) || BigInt(price.amount) === 0n) {
        throw new RangeError(`x402-settle (${network}): price.amount must be a positive integer in the token's smallest unit, got ${JSON.stringify(price.amount)}`);
      }
      return { amount: price.amount, asset: getAddress(price.asset), extra: price.extra ?? {} };
    }
    throw new TypeError(`x402-settle (${network}): give the price as { amount, asset } in the token's smallest unit, got ${JSON.stringify(price)}`);
  }

  /** Adds the settlement contract, Permit2 and facilitator from the facilitator's `/supported` kind. */
  async enhancePaymentRequirements(requirements: PaymentRequirements, kind: SupportedKind): Promise<PaymentRequirements> {
    const k = kind.extra ?? {};
    const methods = k.assetTransferMethods;
    if (this.scheme === "exact" && Array.isArray(methods) && !methods.includes(ASSET_TRANSFER_METHOD)) {
      throw new RequirementsError("extra.assetTransferMethods", `the facilitator's exact does not offer ${ASSET_TRANSFER_METHOD}`);
    }
    const facilitator = address(k.facilitatorAddress ?? k.facilitator, "extra.facilitatorAddress (from /supported)");
    return {
      ...requirements,
      extra: {
        ...requirements.extra,
        assetTransferMethod: ASSET_TRANSFER_METHOD,
        settlement: address(k.settlement, "extra.settlement (from /supported)"),
        permit2: address(k.permit2, "extra.permit2 (from /supported)"),
        facilitator,
        facilitatorAddress: facilitator,
        requestHash: this.options.requestHash ?? ZERO_HASH,
        maxFacilitatorFeeBps: this.options.maxFacilitatorFeeBps ?? (Number.isInteger(k.facilitatorFeeBps) ? k.facilitatorFeeBps : 0),
      },
    };
  }
}

export interface RegisterServerConfig extends SettleServerOptions {
  /** The network the routes are paid on, e.g. `eip155:8453`. */
  network: Network;
  /** Schemes to register (default exact and upto). */
  schemes?: ("exact" | "upto")[];
}

/** Registers x402-settle's `exact` and `upto` on an `x402ResourceServer`. */
export function registerX402SettleServer(server: x402ResourceServer, config: RegisterServerConfig): x402ResourceServer {
  const { network, schemes = ["exact", "upto"], ...options } = config;
  for (const scheme of schemes) server.register(network, new X402SettleServerScheme(scheme, options));
  return server;
}
