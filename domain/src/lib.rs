//! The facts the crates of x402-settle share, each declared once here and derived everywhere
//! else: the classes the classifier assigns ([`Class`]), the ecosystem registry's roles
//! ([`Role`]), the deployment file `script/Deploy.s.sol` writes ([`Deployment`]), and which
//! crate owns which database table ([`schema`]).
//!
//! Names are the wire and storage spelling (snake_case) in every place they appear: the
//! database, the API, label files, the simulator's truth. Tests in `tests/` hold the copies
//! this crate cannot generate (SQL `CHECK` lists, the Solidity enum) to these declarations.

mod class;
pub mod deployment;
mod names;
mod role;
pub mod schema;

pub use class::Class;
pub use deployment::{DeployedToken, Deployment, DeploymentError};
pub use names::UnknownName;
pub use role::Role;
