//! The x402 wire types of x402-settle, owned once and shared by the payer (`x402-client`), the
//! facilitator (`x402-facilitator`) and the simulator's resource server (`x402-simulator`).
//!
//! * What a provider asks for: [`PaymentRequired`], [`PaymentRequirements`] (our schemes, with
//!   the settlement contract in [`SettlementExtra`]) and [`StdRequirements`] (any scheme, as the
//!   x402 SDK sends them).
//! * What a payer sends: [`PaymentPayload`] (our Permit2 witness payment, x402 versions 1 and 2,
//!   carried in the [`HEADER_V2`] / [`HEADER_V1`] header) and [`eip3009::Eip3009PaymentPayload`]
//!   (the SDK's EIP-3009 payment), [`proxy::ProxyPaymentPayload`] (the SDK's payment through
//!   x402's Permit2 proxies).
//! * What a facilitator is asked and answers: [`PaymentRequest`], [`VerifyResponse`],
//!   [`SettleResponse`], [`SupportedResponse`], the escrow bodies, and the refusal codes
//!   ([`Reason`], including the x402 SDK's own).
//! * What is signed: [`PaymentPermit`] / [`SignedPayment`] and the EIP-712 structs in
//!   [`eip712`], whose `PaymentTerms` is the type `sol!` generates from the settlement
//!   contract's ABI.
//!
//! * Why a settlement reverted: [`Revert`] and [`describe_revert`], decoded against the
//!   contracts' errors (for the facilitator's messages and the indexer's failed batch items).
//!
//! Numbers follow x402: amounts and timestamps travel as decimal strings ([`amount`],
//! [`uint_string`]); networks are CAIP-2 names ([`caip2`]).

#![warn(missing_docs)]

pub mod eip3009;
pub mod eip712;
mod facilitator;
mod num;
mod payload;
mod permit;
pub mod proxy;
mod reason;
mod requirements;
mod revert;
mod scheme;

pub use facilitator::{
    CaptureRequest, EscrowResponse, PayloadKind, PaymentRequest, SettleResponse, SupportedKind,
    SupportedResponse, VerifyResponse, VoidRequest, EVIDENCE_EXTENSION,
};
pub use num::{amount, opt_amount, uint_string};
pub use payload::{
    header_name, HeaderError, PaymentPayload, Permit2Authorization, Permit2Payload, Permitted,
    WitnessJson, HEADER_V1, HEADER_V2, RESPONSE_HEADER_V1, RESPONSE_HEADER_V2,
};
pub use permit::{payment_id, PaymentPermit, PaymentTerms, PermitError, SignedPayment};
pub use reason::{Reason, Refusal};
pub use requirements::{
    PaymentRequired, PaymentRequirements, RequirementsError, ResourceInfo, SettlementExtra,
    StdRequirements,
};
pub use revert::{describe_revert, Revert};
pub use scheme::{
    caip2, chain_id_of_network, mode_of_scheme, scheme_of_mode, PaymentMode, UnknownMode,
    SCHEME_ESCROW, SCHEME_EXACT, SCHEME_UPTO,
};
