//! The facts the crates of x402-settle share, each declared once here and derived everywhere
//! else: the classes the classifier assigns ([`Class`]), the ecosystem registry's roles
//! ([`Role`]), where payments come from ([`PaymentSource`], with x402's Permit2 proxy
//! addresses), the deployment file `script/Deploy.s.sol` writes ([`Deployment`]), and which
//! crate owns which database table ([`schema`]), and the event tables' rows, columns and bulk
//! inserts ([`events`]).
//!
//! Names are the wire and storage spelling (snake_case) in every place they appear: the
//! database, the API, label files, the simulator's truth. Tests in `tests/` hold the copies
//! this crate cannot generate (SQL `CHECK` lists, the Solidity enum) to these declarations.

mod class;
pub mod deployment;
pub mod events;
mod names;
mod role;
pub mod schema;
mod source;

pub use class::Class;
pub use deployment::{DeployedToken, Deployment, DeploymentError};
pub use names::UnknownName;
pub use role::Role;
pub use source::{PaymentSource, X402_EXACT_PERMIT2_PROXY, X402_UPTO_PERMIT2_PROXY};
