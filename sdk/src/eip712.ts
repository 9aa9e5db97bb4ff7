// The Permit2 witness transfer a payer signs for x402-settle, as EIP-712 typed data.
//
// Mirrors `contracts/interfaces/IX402Settlement.sol` (PaymentTerms) and
// `protocol/src/eip712.rs`; test/digest.test.ts checks the digest and signature against a
// fixture that facilitator/tests/sdk_e2e.rs recomputes with the Rust client, so the two signers
// cannot drift apart.
import { getAddress, hashTypedData, type Address, type Hex } from "viem";

/** `PaymentMode` of the settlement contract, as signed (uint8). */
export const PaymentMode = { exact: 0, upto: 1, escrow: 2 } as const;
export type SchemeName = keyof typeof PaymentMode;

/** The settlement contract's `PaymentTerms` witness (Solidity field names). */
export interface PaymentTerms {
  payer: Address;
  payee: Address;
  facilitator: Address;
  requestHash: Hex;
  maxFacilitatorFeeBps: number;
  validAfter: bigint;
  mode: number;
  authorizationExpiry: bigint;
  refundExpiry: bigint;
}

/** Everything that determines the signed digest. */
export interface PermitWitness {
  chainId: number;
  permit2: Address;
  /** The settlement contract: Permit2's `spender`. */
  settlement: Address;
  token: Address;
  /** Exact amount (exact) or maximum (upto), in the token's smallest unit. */
  amount: bigint;
  nonce: bigint;
  deadline: bigint;
  terms: PaymentTerms;
}

/** EIP-712 types of Permit2's `PermitWitnessTransferFrom` with our witness. */
export const PERMIT_WITNESS_TYPES = {
  PermitWitnessTransferFrom: [
    { name: "permitted", type: "TokenPermissions" },
    { name: "spender", type: "address" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
    { name: "witness", type: "PaymentTerms" },
  ],
  TokenPermissions: [
    { name: "token", type: "address" },
    { name: "amount", type: "uint256" },
  ],
  PaymentTerms: [
    { name: "payer", type: "address" },
    { name: "payee", type: "address" },
    { name: "facilitator", type: "address" },
    { name: "requestHash", type: "bytes32" },
    { name: "maxFacilitatorFeeBps", type: "uint16" },
    { name: "validAfter", type: "uint48" },
    { name: "mode", type: "uint8" },
    { name: "authorizationExpiry", type: "uint48" },
    { name: "refundExpiry", type: "uint48" },
  ],
} as const;

/** uint48 values are numbers in viem's typed data; larger ones cannot be signed. */
function uint48(v: bigint, field: string): number {
  if (v < 0n || v >= 1n << 48n) throw new RangeError(`${field} ${v} does not fit in uint48`);
  return Number(v);
}

/** The typed data to sign (viem's `signTypedData` argument). Permit2's domain has no version. */
export function permitWitnessTypedData(p: PermitWitness) {
  return {
    domain: { name: "Permit2", chainId: p.chainId, verifyingContract: getAddress(p.permit2) },
    types: PERMIT_WITNESS_TYPES,
    primaryType: "PermitWitnessTransferFrom" as const,
    message: {
      permitted: { token: getAddress(p.token), amount: p.amount },
      spender: getAddress(p.settlement),
      nonce: p.nonce,
      deadline: p.deadline,
      witness: {
        payer: getAddress(p.terms.payer),
        payee: getAddress(p.terms.payee),
        facilitator: getAddress(p.terms.facilitator),
        requestHash: p.terms.requestHash,
        maxFacilitatorFeeBps: p.terms.maxFacilitatorFeeBps,
        validAfter: uint48(p.terms.validAfter, "witness.validAfter"),
        mode: p.terms.mode,
        authorizationExpiry: uint48(p.terms.authorizationExpiry, "witness.authorizationExpiry"),
        refundExpiry: uint48(p.terms.refundExpiry, "witness.refundExpiry"),
      },
    },
  };
}

/** The EIP-712 digest the payer signs. */
export function permitWitnessDigest(p: PermitWitness): Hex {
  return hashTypedData(permitWitnessTypedData(p));
}
