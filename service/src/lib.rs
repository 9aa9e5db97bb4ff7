//! What every x402-settle process shares, so each service behaves the same way at its edges:
//! [`shutdown`] (SIGINT and SIGTERM end every process gracefully, a second signal at once) and
//! [`problem`] (every HTTP error is an RFC 9457 problem document).

pub mod problem;
pub mod shutdown;

pub use problem::Problem;
