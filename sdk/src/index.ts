// x402-settle's Permit2 witness payments as schemes of the x402 SDK.
export { PaymentMode, PERMIT_WITNESS_TYPES, permitWitnessDigest, permitWitnessTypedData, type PaymentTerms, type PermitWitness, type SchemeName } from "./eip712.js";
export { ASSET_TRANSFER_METHOD, RequirementsError, settlementExtra, type SettlementExtra } from "./requirements.js";
export { escrowExpiries, permit2Authorization, registerX402SettleClient, X402SettleClientScheme, type RegisterClientConfig, type SettleClientOptions, type SettleSigner } from "./client.js";
export { registerX402SettleServer, X402SettleServerScheme, type RegisterServerConfig, type SettleServerOptions } from "./server.js";
export { EvidenceFacilitatorClient } from "./evidence.js";
export { ESCROW_ACTION_FIELD, X402SettleFacilitatorClient, type EscrowAction, type EscrowResult, type X402SettleFacilitatorConfig } from "./escrow.js";
