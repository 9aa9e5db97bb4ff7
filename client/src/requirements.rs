//! What a provider asks for in its HTTP 402 answer: x402 `PaymentRequired` and
//! `PaymentRequirements`, with the `extra` fields our settlement contract needs, plus the scheme
//! and network names. The wire types are `x402-protocol`'s, shared with the facilitator.

pub use x402_protocol::{
    amount, caip2, chain_id_of_network, mode_of_scheme, scheme_of_mode, uint_string,
    PaymentRequired, PaymentRequirements, RequirementsError, ResourceInfo, SettlementExtra,
    SCHEME_ESCROW, SCHEME_EXACT, SCHEME_UPTO,
};
