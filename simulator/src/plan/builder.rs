//! The builder the economy's parts (the standard economy, the adversary) add actors, funding and
//! payments to.

use super::model::{
    tokens, Actor, ActorId, Day, EscrowEnd, Kind, NativeTransfer, PayPath, Payment, Plan, Scale,
    Tok, Transfer, Via,
};
use super::rng::{derive_signer, Rng};
use crate::truth::Class;

/// Builds a plan; the economy's parts add actors, funding and payments to it.
pub(crate) struct Builder {
    pub(crate) seed: String,
    pub(crate) scale: Scale,
    pub(crate) rng: Rng,
    pub(crate) actors: Vec<Actor>,
    pub(crate) mints: Vec<(ActorId, Tok, u64)>,
    pub(crate) native: Vec<NativeTransfer>,
    pub(crate) days: Vec<Day>,
    /// Scenario of the actors added next.
    pub(crate) scenario: &'static str,
}

impl Builder {
    pub(super) fn new(seed: &str, scale: Scale) -> Self {
        Builder {
            seed: seed.to_string(),
            scale,
            rng: Rng::new(&format!("{seed}/plan")),
            actors: Vec::new(),
            mints: Vec::new(),
            native: Vec::new(),
            days: vec![Day::default(); scale.days() as usize],
            scenario: "standard",
        }
    }

    pub(super) fn finish(self) -> Plan {
        Plan {
            seed: self.seed,
            scale: self.scale,
            actors: self.actors,
            mints: self.mints,
            native: self.native,
            days: self.days,
        }
    }

    pub(crate) fn actor(
        &mut self,
        name: String,
        kind: Kind,
        payer_class: Option<Class>,
    ) -> ActorId {
        let signer = derive_signer(&self.seed, &name);
        self.actors.push(Actor {
            name,
            kind,
            signer,
            payer_class,
            scenario: self.scenario,
        });
        self.actors.len() - 1
    }

    /// A transfer on `day` in funding `stage` (before the day's payments).
    pub(crate) fn fund(
        &mut self,
        day: u32,
        stage: usize,
        from: ActorId,
        to: ActorId,
        token: Tok,
        milli: u64,
    ) {
        debug_assert!(milli >= tokens(1), "funding below the dust threshold");
        self.transfer(day, stage, from, to, token, milli);
    }

    /// A transfer on `day` in funding `stage`, of any amount (dust on purpose).
    pub(crate) fn transfer(
        &mut self,
        day: u32,
        stage: usize,
        from: ActorId,
        to: ActorId,
        token: Tok,
        milli: u64,
    ) {
        let stages = &mut self.days[day as usize].funding;
        if stages.len() <= stage {
            stages.resize(stage + 1, Vec::new());
        }
        stages[stage].push(Transfer {
            from,
            to,
            token,
            milli,
        });
    }

    /// A transfer on `day` in after-payment `stage`.
    pub(crate) fn after(&mut self, day: u32, stage: usize, t: Transfer) {
        let stages = &mut self.days[day as usize].after;
        if stages.len() <= stage {
            stages.resize(stage + 1, Vec::new());
        }
        stages[stage].push(t);
    }

    pub(crate) fn pay(
        &mut self,
        day: u32,
        payer: ActorId,
        payee: ActorId,
        token: Tok,
        milli: u64,
        path: PayPath,
    ) {
        let class = self.actors[payer].payer_class.expect("payers have a class");
        self.days[day as usize].payments.push(Payment {
            payer,
            payee,
            token,
            milli,
            path,
            class,
        });
    }

    /// A path for an agent whose style is 0 (exact), 1 (metered) or 2 (long jobs in escrow).
    pub(crate) fn path(&mut self, style: u8, milli: u64, batch: bool) -> PayPath {
        let via = if batch { Via::Batch } else { Via::Direct };
        let roll = self.rng.unit();
        let kind = match style {
            0 => {
                if roll < 0.8 {
                    0
                } else if roll < 0.95 {
                    1
                } else {
                    2
                }
            }
            1 => {
                if roll < 0.2 {
                    0
                } else if roll < 0.9 {
                    1
                } else {
                    2
                }
            }
            _ => {
                if roll < 0.25 {
                    0
                } else if roll < 0.4 {
                    1
                } else {
                    2
                }
            }
        };
        match kind {
            0 => PayPath::Exact(via),
            1 => PayPath::Upto {
                via,
                used: (milli as f64 * (0.3 + 0.7 * self.rng.unit()))
                    .round()
                    .max(1.0) as u64,
            },
            _ => {
                let captured = (milli as f64 * (0.4 + 0.5 * self.rng.unit()))
                    .round()
                    .max(2.0) as u64;
                let captures = if self.rng.chance(0.5) {
                    vec![captured]
                } else {
                    vec![captured / 2, captured - captured / 2]
                };
                let refund = if self.rng.chance(0.3) {
                    captured / 4
                } else {
                    0
                };
                let end = if self.rng.chance(0.65) {
                    EscrowEnd::Void
                } else {
                    EscrowEnd::Reclaim
                };
                PayPath::Escrow {
                    captures,
                    refund,
                    end,
                }
            }
        }
    }
}

/// Milli-tokens a payment takes from the payer's balance at its peak (escrows pull the maximum).
pub(super) fn outlay(p: &Payment) -> u64 {
    p.milli
}
