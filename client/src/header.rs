//! The x402 payment a client sends with its retried request: the `PaymentPayload` JSON, carried
//! base64-encoded in the `PAYMENT-SIGNATURE` header (x402 version 2) or `X-PAYMENT` (version 1),
//! and the `SettleResponse` a provider relays in `PAYMENT-RESPONSE`. The wire types are
//! `x402-protocol`'s, shared with the facilitator that reads them.

pub use x402_protocol::{
    header_name, HeaderError, PaymentPayload, Permit2Authorization, Permit2Payload, Permitted,
    SettleResponse, WitnessJson, HEADER_V1, HEADER_V2, RESPONSE_HEADER_V1, RESPONSE_HEADER_V2,
};
