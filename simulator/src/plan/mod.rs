//! The economy as a deterministic plan: who exists, who funds whom, and who pays whom on which
//! simulated day through which path. Pure data derived from a seed and a [`Scale`], so the same
//! seed gives the same wallets (the labels file can be written before the run) and the same
//! schedule; the runner ([`crate::run`]) only executes it.
//!
//! Amounts are in milli-tokens (1/1000 of a whole token) and converted with each token's
//! decimals at run time. Every funding transfer is at least one whole token: the classifier
//! ignores smaller (dust) edges.
//!
//! By job: `model` is the plan's data (scale, tokens, actors, paths, days), `rng` the seeded
//! randomness and keys, `builder` what the economy's parts add to a plan with, `standard` the
//! standard economy's scenarios (the adversary's are in [`crate::adversary`]).

mod builder;
mod model;
mod rng;
mod standard;
#[cfg(test)]
mod tests;

pub(crate) use builder::Builder;
pub(crate) use model::tokens;
pub use model::{
    ActorId, Economy, EscrowEnd, Kind, NativeTransfer, PayPath, Payment, Plan, Scale, Tok,
    Transfer, Via,
};
pub use rng::Rng;

use standard::{backbone, standard};

/// Builds the standard economy for `seed` at `scale`.
pub fn build(seed: &str, scale: Scale) -> Plan {
    build_economy(seed, scale, Economy::Standard)
}

/// Builds `economy` for `seed` at `scale`. The standard part is the same whether or not the
/// adversary runs beside it (the adversary draws from its own random stream).
pub fn build_economy(seed: &str, scale: Scale, economy: Economy) -> Plan {
    let mut b = Builder::new(seed, scale);
    match economy {
        Economy::Standard => {
            standard(&mut b);
        }
        Economy::Adversarial => {
            let (exchanges, treasury) = backbone(&mut b, None);
            crate::adversary::scenarios(&mut b, &exchanges, treasury);
        }
        Economy::Combined => {
            let (exchanges, treasury) = standard(&mut b);
            crate::adversary::scenarios(&mut b, &exchanges, treasury);
        }
    }
    b.finish()
}
