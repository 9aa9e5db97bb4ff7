// The resource server's side: a `SchemeNetworkServer` for @x402/core's `x402ResourceServer` (and so
// @x402/express, @x402/hono, @x402/next) that asks for x402-settle payments. Settling an `upto`
// payment below its signed maximum is the SDK's own way: the handler calls
// `setSettlementOverrides(res, { amount })` and the SDK lowers `paymentRequirements.amount` in
// the settle request. `escrow` uses the SDK's escrow flow: authorize before the handler, capture
// after it (the amount the handler names, with its evidence), void when the handler fails; the
// facilitator client of escrow.ts turns those settles into our facilitator's escrow calls.
import type { SettleContext, VerifiedPaymentCanceledContext, x402ResourceServer } from "@x402/core/server";
import type { AssetAmount, Network, PaymentFlowConfig, PaymentRequirements, Price, SchemeNetworkServer, SupportedKind } from "@x402/core/types";
import { getAddress, type Hex } from "viem";

import type { SchemeName } from "./eip712.js";
import { ESCROW_ACTION_FIELD, type EscrowAction } from "./escrow.js";
import { address, ASSET_TRANSFER_METHOD, RequirementsError, ZERO_HASH } from "./requirements.js";

export interface SettleServerOptions {
  /** Largest facilitator fee the payer is asked to accept, in basis points (default: the fee the facilitator's `/supported` names, else 0). */
  maxFacilitatorFeeBps?: number;
  /**
   * The request hash bound into the signed witness (default zero). Must be the same each time the
   * route's requirements are built, since the SDK matches the payer's `accepted` against them.
   */
  requestHash?: Hex;
  /** Escrow: seconds from signing until captures stop and the payer may reclaim (default: the route's `maxTimeoutSeconds`). */
  authorizationSeconds?: number;
  /** Escrow: seconds from signing until the payee can no longer refund (default: the authorization's). */
  refundSeconds?: number;
}

function positiveSeconds(v: number | undefined, field: string): void {
  if (v !== undefined && (!Number.isSafeInteger(v) || v <= 0)) throw new RangeError(`${field} must be a positive integer of seconds, got ${v}`);
}

export class X402SettleServerScheme implements SchemeNetworkServer {
  readonly scheme: SchemeName;
  readonly defaultAssetTransferMethod = ASSET_TRANSFER_METHOD;
  readonly paymentFlows: Readonly<Record<string, PaymentFlowConfig>>;
  /**
   * Escrow only: marks the settle after the handler as the capture and the one on cancellation as
   * the void (the one before the handler, unmarked, authorizes). Additive, as the SDK requires; the
   * signed part of the payload is untouched. A property: the SDK calls it unbound.
   */
  readonly enrichSettlementPayload?: (ctx: SettleContext) => Promise<Record<string, unknown> | void>;

  constructor(
    scheme: SchemeName,
    private readonly options: SettleServerOptions = {},
  ) {
    this.scheme = scheme;
    this.paymentFlows = {
      // exact, upto: verify before the handler, settle after it (upto: the amount the handler
      // names). escrow: funds are held before the handler runs, captured after it.
      [ASSET_TRANSFER_METHOD]: scheme === "escrow" ? { supported: ["escrow"], default: "escrow" } : { supported: ["authorization"], default: "authorization" },
    };
    if (scheme === "escrow") {
      this.enrichSettlementPayload = async (ctx) => {
        const action: EscrowAction | undefined = ctx.phase === "after-handler" ? "capture" : ctx.phase === "cancel" ? "void" : undefined;
        if (action) return { [ESCROW_ACTION_FIELD]: action };
      };
    }
    positiveSeconds(options.authorizationSeconds, "authorizationSeconds");
    positiveSeconds(options.refundSeconds, "refundSeconds");
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
        ...(this.scheme === "escrow" && this.options.authorizationSeconds !== undefined ? { authorizationSeconds: this.options.authorizationSeconds } : {}),
        ...(this.scheme === "escrow" && this.options.refundSeconds !== undefined ? { refundSeconds: this.options.refundSeconds } : {}),
      },
    };
  }

  /** Escrow: a handler that failed or threw after the authorization voids it (the payer gets all back). */
  settleOnCancel(ctx: VerifiedPaymentCanceledContext): PaymentRequirements | void {
    if (this.scheme !== "escrow") return;
    return { ...ctx.requirements, extra: { ...ctx.requirements.extra } } as PaymentRequirements;
  }
}

export interface RegisterServerConfig extends SettleServerOptions {
  /** The network the routes are paid on, e.g. `eip155:8453`. */
  network: Network;
  /** Schemes to register (default exact, upto and escrow; escrow settles through `X402SettleFacilitatorClient`). */
  schemes?: SchemeName[];
}

/** Registers x402-settle's `exact`, `upto` and `escrow` on an `x402ResourceServer`. */
export function registerX402SettleServer(server: x402ResourceServer, config: RegisterServerConfig): x402ResourceServer {
  const { network, schemes = ["exact", "upto", "escrow"], ...options } = config;
  for (const scheme of schemes) server.register(network, new X402SettleServerScheme(scheme, options));
  return server;
}
