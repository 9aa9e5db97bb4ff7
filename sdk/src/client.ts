// The payer's side: a `SchemeNetworkClient` for @x402/core's `x402Client` that signs
// x402-settle's Permit2 witness transfer (exact: the price; upto and escrow: the maximum) with viem.
import type { x402Client } from "@x402/core/client";
import type { Network, PaymentPayloadContext, PaymentPayloadResult, PaymentRequirements, SchemeNetworkClient } from "@x402/core/types";
import { getAddress, type Address, type Hex } from "viem";

import { PaymentMode, permitWitnessTypedData, type PermitWitness, type SchemeName } from "./eip712.js";
import { address, ASSET_TRANSFER_METHOD, chainIdOf, RequirementsError, settlementExtra, uint } from "./requirements.js";

/** What signs: a viem account (`privateKeyToAccount`, a wallet client's account) or @x402/evm's `ClientEvmSigner`. */
export interface SettleSigner {
  readonly address: Address;
  signTypedData(typedData: ReturnType<typeof permitWitnessTypedData>): Promise<Hex>;
}

export interface SettleClientOptions {
  /** Unix time used for `deadline` (default: the wall clock). Pass the chain's clock where it runs ahead. */
  now?: () => number | Promise<number>;
  /** Seconds before which the payment cannot settle (default 0: immediately). */
  validAfter?: number;
  /**
   * Requirements of the same scheme that are not x402-settle's (e.g. standard EIP-3009 `exact`) go
   * to this client, so registering ours does not take the stock EVM scheme away.
   */
  fallback?: SchemeNetworkClient;
}

/** A fresh Permit2 nonce: Permit2's nonces are unordered, so a random 248-bit value never collides in practice. */
function randomNonce(): bigint {
  const bytes = crypto.getRandomValues(new Uint8Array(31));
  return BigInt(`0x${Buffer.from(bytes).toString("hex")}`);
}

export class X402SettleClientScheme implements SchemeNetworkClient {
  readonly scheme: SchemeName;

  constructor(
    scheme: SchemeName,
    private readonly signer: SettleSigner,
    private readonly options: SettleClientOptions = {},
  ) {
    this.scheme = scheme;
  }

  async createPaymentPayload(x402Version: number, requirements: PaymentRequirements, context?: PaymentPayloadContext): Promise<PaymentPayloadResult> {
    if (requirements.extra?.assetTransferMethod !== ASSET_TRANSFER_METHOD) {
      if (this.options.fallback) return this.options.fallback.createPaymentPayload(x402Version, requirements, context);
      throw new RequirementsError("extra.assetTransferMethod", `expected ${ASSET_TRANSFER_METHOD}, got ${JSON.stringify(requirements.extra?.assetTransferMethod)} (register a fallback client for other payments)`);
    }
    if (requirements.scheme !== this.scheme) {
      throw new RequirementsError("scheme", `this client signs ${this.scheme}, got ${JSON.stringify(requirements.scheme)}`);
    }
    const extra = settlementExtra(requirements.extra);
    const amount = uint(requirements.amount, "amount");
    if (amount === 0n) throw new RequirementsError("amount", "must be positive");
    const timeout = uint(requirements.maxTimeoutSeconds, "maxTimeoutSeconds");
    const now = BigInt(Math.floor(await (this.options.now?.() ?? Date.now() / 1000)));
    const payer = getAddress(this.signer.address);
    const [authorizationExpiry, refundExpiry] = this.scheme === "escrow" ? escrowExpiries(requirements.extra, now, timeout) : [0n, 0n];
    const permit: PermitWitness = {
      chainId: chainIdOf(requirements.network),
      permit2: extra.permit2,
      settlement: extra.settlement,
      token: address(requirements.asset, "asset"),
      amount,
      nonce: randomNonce(),
      deadline: now + timeout,
      terms: {
        payer,
        payee: address(requirements.payTo, "payTo"),
        facilitator: extra.facilitator,
        requestHash: extra.requestHash,
        maxFacilitatorFeeBps: extra.maxFacilitatorFeeBps,
        validAfter: BigInt(this.options.validAfter ?? 0),
        mode: PaymentMode[this.scheme],
        authorizationExpiry,
        refundExpiry,
      },
    };
    const signature = await this.signer.signTypedData(permitWitnessTypedData(permit));
    return { x402Version, payload: { signature, permit2Authorization: permit2Authorization(permit) } };
  }
}

/**
 * Escrow: captures stop (and the payer may reclaim the rest) `extra.authorizationSeconds` after
 * signing (default: the payment's timeout); the payee may refund until `extra.refundSeconds`
 * after signing, never before the authorization expiry. As the Rust client (`client/src/pay.rs`).
 */
export function escrowExpiries(extra: Record<string, unknown> | undefined, now: bigint, timeout: bigint): [bigint, bigint] {
  const auth = extra?.authorizationSeconds === undefined ? timeout : uint(extra.authorizationSeconds, "extra.authorizationSeconds");
  if (auth === 0n) throw new RequirementsError("extra.authorizationSeconds", "must be above 0");
  const refund = extra?.refundSeconds === undefined ? 0n : uint(extra.refundSeconds, "extra.refundSeconds");
  return [now + auth, now + (refund > auth ? refund : auth)];
}

/** The wire form of what was signed (`paymentPayload.payload.permit2Authorization`): integers as decimal strings. */
export function permit2Authorization(p: PermitWitness) {
  const t = p.terms;
  return {
    from: t.payer,
    permitted: { token: p.token, amount: p.amount.toString() },
    spender: p.settlement,
    nonce: p.nonce.toString(),
    deadline: p.deadline.toString(),
    witness: {
      payer: t.payer,
      payee: t.payee,
      facilitator: t.facilitator,
      requestHash: t.requestHash,
      maxFacilitatorFeeBps: t.maxFacilitatorFeeBps,
      validAfter: t.validAfter.toString(),
      mode: t.mode,
      authorizationExpiry: t.authorizationExpiry.toString(),
      refundExpiry: t.refundExpiry.toString(),
    },
  };
}

export interface RegisterClientConfig extends SettleClientOptions {
  signer: SettleSigner;
  /** Networks to pay on (default every EVM chain, `eip155:*`). */
  networks?: Network[];
  /** Schemes to register (default exact, upto and escrow). */
  schemes?: SchemeName[];
  /** Per-scheme fallback for requirements that are not x402-settle's (see {@link SettleClientOptions.fallback}). */
  fallbacks?: Partial<Record<SchemeName, SchemeNetworkClient>>;
}

/** Registers x402-settle's `exact`, `upto` and `escrow` on an @x402/core (or @x402/fetch) `x402Client`. */
export function registerX402SettleClient(client: x402Client, config: RegisterClientConfig): x402Client {
  const { signer, networks = ["eip155:*" as Network], schemes = ["exact", "upto", "escrow"], fallbacks = {}, ...options } = config;
  for (const scheme of schemes) {
    const s = new X402SettleClientScheme(scheme, signer, { ...options, fallback: fallbacks[scheme] ?? options.fallback });
    for (const network of networks) client.register(network, s);
  }
  return client;
}
