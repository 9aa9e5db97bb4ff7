//! The facilitator's HTTP bodies: x402's `/verify`, `/settle` and `/supported` shapes, plus the
//! escrow endpoints, as `x402-protocol` owns them (the resource servers that call this
//! facilitator use the same types).

pub use x402_protocol::{
    CaptureRequest, EscrowResponse, PayloadKind, PaymentRequest, SettleResponse, SupportedKind,
    SupportedResponse, VerifyResponse, VoidRequest,
};
