//! A synthetic but realistic ecosystem for benchmarks: exchanges and a bridge funding most payers,
//! a faucet and treasury relays funding some, sybil farms, self-dealing payees, flow-back rings,
//! internal wallets, declared wallets and payers without history; heavy-tailed payment counts over
//! 90 days; every payment with its settlement plumbing transfers. Deterministic for a seed.

use crate::db::seed::Seed;
use crate::input::{Declaration, Payment, Transfer};
use crate::labels::{FileLabel, LabelKind, RegistryEvent};
use crate::types::{Addr, Hash32, ZERO_ADDR};

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenConfig {
    /// Chain id.
    pub chain_id: i64,
    /// Total payments.
    pub payments: usize,
    /// Distinct payers.
    pub payers: usize,
    /// Random seed.
    pub seed: u64,
    /// Also write the payer -> settlement -> payee transfers of every payment (as the indexer does).
    pub plumbing: bool,
}

/// A generated dataset: indexer rows, file labels, and the contract addresses.
pub struct Generated {
    /// Indexer rows.
    pub seed: Seed,
    /// Labels-file entries (exchanges, bridge).
    pub file_labels: Vec<FileLabel>,
    /// Settlement contract.
    pub settlement: Addr,
    /// Registry contract.
    pub registry: Addr,
    /// Highest block used.
    pub last_block: i64,
}

/// USDC-like token with 6 decimals.
pub const BENCH_TOKEN: Addr = [0xB5; 20];
const UNIT: u128 = 1_000_000;
const T0: i64 = 1_780_000_000;
const BLOCK_SECS: i64 = 2;
const DAY: i64 = 86_400;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo).max(1) as u64) as i64
    }
}

fn address(kind: u8, n: u64) -> Addr {
    let mut a = [0u8; 20];
    a[0] = kind;
    a[1] = 0x40;
    a[12..].copy_from_slice(&n.to_be_bytes());
    a
}

fn hash(kind: u8, n: u64) -> Hash32 {
    let mut h = [0u8; 32];
    h[0] = kind;
    h[8..16].copy_from_slice(&n.to_be_bytes());
    // Spread the rest so hashes look random and index well.
    let mut x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (kind as u64) << 56;
    for chunk in h[16..].chunks_mut(8) {
        x ^= x >> 29;
        x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        chunk.copy_from_slice(&x.to_be_bytes());
    }
    h
}

fn block_of(t: i64) -> i64 {
    (t - T0) / BLOCK_SECS + 1
}

/// Payer category (drawn per payer).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Exchange,
    Faucet,
    Relay,
    Sybil,
    PayeeFunded,
    FlowBack,
    Internal,
    Declared,
    NoHistory,
}

struct Builder {
    rng: Rng,
    chain_id: i64,
    settlement: Addr,
    plumbing: bool,
    seq: u64,
    log: i32,
    payments: Vec<Payment>,
    transfers: Vec<Transfer>,
    max_block: i64,
}

impl Builder {
    fn tx(&mut self) -> Hash32 {
        self.seq += 1;
        hash(0x7A, self.seq)
    }

    fn transfer(&mut self, from: Addr, to: Addr, amount: u128, t: i64) {
        let tx = self.tx();
        self.log += 1;
        let block = block_of(t);
        self.max_block = self.max_block.max(block);
        self.transfers.push(Transfer {
            token: BENCH_TOKEN,
            from,
            to,
            amount,
            block,
            log_index: self.log,
            time: block_time(block),
            tx,
        });
    }

    fn transfer_from_exchange(&mut self, exchanges: &[Addr], to: Addr, amount: u128, t: i64) {
        let e = exchanges[self.rng.below(exchanges.len() as u64) as usize];
        self.transfer(e, to, amount, t);
    }

    fn pay(&mut self, payer: Addr, payee: Addr, amount: u128, t: i64) {
        self.seq += 1;
        let id = hash(0x1D, self.seq);
        let tx = self.tx();
        let block = block_of(t);
        self.max_block = self.max_block.max(block);
        let time = block_time(block);
        self.payments.push(Payment {
            id,
            payer,
            payee,
            token: BENCH_TOKEN,
            amount,
            block,
            time,
            tx,
        });
        if self.plumbing {
            let s = self.settlement;
            self.log += 1;
            self.transfers.push(Transfer {
                token: BENCH_TOKEN,
                from: payer,
                to: s,
                amount,
                block,
                log_index: self.log,
                time,
                tx,
            });
            self.log += 1;
            let net = amount - amount / 100;
            self.transfers.push(Transfer {
                token: BENCH_TOKEN,
                from: s,
                to: payee,
                amount: net,
                block,
                log_index: self.log,
                time,
                tx,
            });
        }
    }
}

fn block_time(block: i64) -> i64 {
    T0 + (block - 1) * BLOCK_SECS
}

/// Generates the dataset.
pub fn generate(cfg: &GenConfig) -> Generated {
    let mut b = Builder {
        rng: Rng(cfg.seed ^ 0x5EED),
        chain_id: cfg.chain_id,
        settlement: address(0x5E, 1),
        plumbing: cfg.plumbing,
        seq: 0,
        log: 0,
        payments: Vec::with_capacity(cfg.payments),
        transfers: Vec::with_capacity(
            cfg.payments * if cfg.plumbing { 2 } else { 0 } + cfg.payers * 2,
        ),
        max_block: 1,
    };
    let registry = address(0x4E, 1);
    let exchanges: Vec<Addr> = (0..6).map(|i| address(0xE0, i)).collect();
    let bridge = address(0xB0, 1);
    let treasury = address(0x7E, 1);
    let faucet = address(0x7E, 2);
    let n_payees = (cfg.payers / 250).clamp(20, 400);
    let payees: Vec<Addr> = (0..n_payees as u64).map(|i| address(0xAE, i)).collect();

    let mut registry_events = Vec::new();
    let mut reg = |b: &mut Builder, wallet: Addr, role: u8, note: &str, t: i64| {
        let tx = b.tx();
        registry_events.push(RegistryEvent {
            block: block_of(t),
            log_index: 0,
            tx,
            wallet,
            role,
            labeled: true,
            note: note.into(),
        });
    };
    // Day 0: mint to exchanges, the bridge, the treasury and payees; label the project wallets.
    let mut t = T0 + 60;
    for e in exchanges.iter().chain([&bridge, &treasury]) {
        b.transfer(ZERO_ADDR, *e, 1_000_000_000 * UNIT, t);
        t += 2;
    }
    b.transfer(treasury, faucet, 50_000_000 * UNIT, t);
    reg(&mut b, treasury, 0, "treasury multisig", t + 2);
    reg(&mut b, faucet, 3, "onboarding faucet", t + 4);
    for (i, p) in payees.iter().enumerate() {
        b.transfer(
            exchanges[i % exchanges.len()],
            *p,
            100_000 * UNIT,
            t + 10 + i as i64 * 2,
        );
    }

    // Payment counts: heavy-tailed weights scaled to the requested total.
    let kinds: Vec<Kind> = (0..cfg.payers)
        .map(|_| {
            let u = b.rng.unit();
            match u {
                u if u < 0.60 => Kind::Exchange,
                u if u < 0.68 => Kind::Faucet,
                u if u < 0.73 => Kind::Relay,
                u if u < 0.79 => Kind::Sybil,
                u if u < 0.83 => Kind::PayeeFunded,
                u if u < 0.85 => Kind::FlowBack,
                u if u < 0.86 => Kind::Internal,
                u if u < 0.87 => Kind::Declared,
                _ => Kind::NoHistory,
            }
        })
        .collect();
    let weights: Vec<f64> = kinds
        .iter()
        .map(|k| {
            if *k == Kind::Sybil {
                1.0
            } else {
                (1.0 - b.rng.unit()).powf(-0.8)
            }
        })
        .collect();
    let total: f64 = weights.iter().sum();
    let mut counts: Vec<usize> = weights
        .iter()
        .map(|w| ((w / total) * cfg.payments as f64).floor().max(1.0) as usize)
        .collect();
    let mut sum: usize = counts.iter().sum();
    let mut i = 0;
    while sum < cfg.payments {
        counts[i % cfg.payers] += 1;
        sum += 1;
        i += 7;
    }
    while sum > cfg.payments {
        let j = b.rng.below(cfg.payers as u64) as usize;
        if counts[j] > 1 {
            counts[j] -= 1;
            sum -= 1;
        }
    }

    let mut relays: Vec<Addr> = Vec::new();
    let mut declarations = Vec::new();
    let mut farm: Option<(Addr, usize, i64, Addr, u128)> = None; // root, members so far, start, payee, amount
    let mut n_farms = 0u64;
    for (i, kind) in kinds.iter().enumerate() {
        let payer = address(0xA0, i as u64);
        let payee = payees[((b.rng.unit().powi(2)) * n_payees as f64) as usize % n_payees];
        let start = T0 + DAY + b.rng.range(0, 80 * DAY);
        let price = match b.rng.below(4) {
            0 => 1_000,
            1 => 10_000,
            2 => 100_000,
            _ => b.rng.range(1_000, 2_000_000) as u128,
        };
        let mut payee_for = payee;
        let mut amount = price;
        let mut start_at = start;
        match kind {
            Kind::Exchange => {
                let src = if b.rng.below(20) == 0 {
                    bridge
                } else {
                    exchanges[b.rng.below(6) as usize]
                };
                let amt = b.rng.range(20, 5_000) as u128 * UNIT;
                b.transfer(src, payer, amt, start - 3600);
            }
            Kind::Faucet => b.transfer(faucet, payer, 50 * UNIT, start - 3600),
            Kind::Relay => {
                if relays.is_empty() || b.rng.below(40) == 0 {
                    let r = address(0xCE, relays.len() as u64);
                    b.transfer(
                        treasury,
                        r,
                        10_000_000 * UNIT,
                        T0 + 600 + relays.len() as i64 * 2,
                    );
                    relays.push(r);
                }
                let r = relays[b.rng.below(relays.len() as u64) as usize];
                b.transfer_from_exchange(&exchanges, payer, 2 * UNIT, start - 7200);
                b.transfer(r, payer, 500 * UNIT, start - 3600);
            }
            Kind::Sybil => {
                let new_farm = match farm {
                    Some((_, n, ..)) => n >= 25,
                    None => true,
                };
                if new_farm {
                    n_farms += 1;
                    let root = address(0x5B, n_farms);
                    b.transfer_from_exchange(&exchanges, root, 100_000 * UNIT, start - 7200);
                    farm = Some((root, 0, start, payee, price));
                }
                let (root, n, fstart, fpayee, famount) = farm.expect("farm");
                b.transfer(root, payer, 100 * UNIT, fstart - 3600 + n as i64 * 4);
                farm = Some((root, n + 1, fstart, fpayee, famount));
                payee_for = fpayee;
                amount = famount;
                start_at = fstart + b.rng.range(0, 1200);
            }
            Kind::PayeeFunded => b.transfer(payee, payer, 200 * UNIT, start - 3600),
            Kind::FlowBack => {
                b.transfer_from_exchange(&exchanges, payer, 300 * UNIT, start - 3600);
            }
            Kind::Internal => {
                b.transfer(treasury, payer, 1_000 * UNIT, start - 7200);
                let tx = b.tx();
                registry_events.push(RegistryEvent {
                    block: block_of(start - 3600),
                    log_index: 0,
                    tx,
                    wallet: payer,
                    role: 7,
                    labeled: true,
                    note: "test wallet".into(),
                });
            }
            Kind::Declared => {
                b.transfer_from_exchange(&exchanges, payer, 300 * UNIT, start - 3600);
                let tx = b.tx();
                declarations.push(Declaration {
                    payee,
                    wallet: payer,
                    declared: true,
                    block: block_of(start - 1800),
                    log_index: 0,
                    tx,
                    note: "our load tester".into(),
                });
            }
            Kind::NoHistory => {}
        }
        // Payments spread over an active period of 1-30 days (sybils: a few hours).
        let span = if *kind == Kind::Sybil {
            4 * 3600
        } else {
            b.rng.range(DAY, 30 * DAY)
        };
        let n = counts[i];
        let mut times: Vec<i64> = (0..n).map(|_| start_at + b.rng.range(0, span)).collect();
        times.sort_unstable();
        times[0] = start_at;
        let mut paid: u128 = 0;
        for (k, ts) in times.iter().enumerate() {
            // Most payers use one provider; some spread over a few.
            let to = if *kind != Kind::Sybil && k % 5 == 4 {
                payees[b.rng.below(n_payees as u64) as usize]
            } else {
                payee_for
            };
            let to = if to == payer { payee_for } else { to };
            b.pay(payer, to, amount, *ts);
            paid += amount;
        }
        if *kind == Kind::FlowBack {
            // The payee sends most of it back through a middleman within a day.
            let mid = address(0x3D, i as u64);
            let back = (paid * 7 / 10).max(2 * UNIT);
            b.transfer(payee_for, mid, back + UNIT, times[0] + 3600);
            b.transfer(mid, payer, back, times[0] + 7200);
        }
    }

    let file_labels = exchanges
        .iter()
        .enumerate()
        .map(|(i, e)| FileLabel {
            chain_id: cfg.chain_id,
            address: *e,
            kind: LabelKind::Exchange,
            role: None,
            from_block: 0,
            note: format!("exchange hot wallet {i}"),
        })
        .chain(std::iter::once(FileLabel {
            chain_id: cfg.chain_id,
            address: bridge,
            kind: LabelKind::Bridge,
            role: None,
            from_block: 0,
            note: "canonical bridge".into(),
        }))
        .collect();
    let last_block = b
        .max_block
        .max(registry_events.iter().map(|r| r.block).max().unwrap_or(0))
        .max(declarations.iter().map(|d| d.block).max().unwrap_or(0))
        + 1;
    // Registry events share blocks with transfers: give them log indexes of their own.
    for r in registry_events.iter_mut() {
        b.log += 1;
        r.log_index = b.log;
    }
    for d in declarations.iter_mut() {
        b.log += 1;
        d.log_index = b.log;
    }
    let _ = b.chain_id;
    Generated {
        seed: Seed {
            chain_id: cfg.chain_id,
            facilitator: address(0xFA, 1),
            payments: b.payments,
            transfers: b.transfers,
            declarations,
            registry: registry_events,
        },
        file_labels,
        settlement: b.settlement,
        registry,
        last_block,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_exact_counts_deterministically() {
        let cfg = GenConfig {
            chain_id: 1,
            payments: 20_000,
            payers: 1_000,
            seed: 7,
            plumbing: true,
        };
        let a = generate(&cfg);
        let b = generate(&cfg);
        assert_eq!(a.seed.payments.len(), 20_000);
        let mut payers: Vec<_> = a.seed.payments.iter().map(|p| p.payer).collect();
        payers.sort();
        payers.dedup();
        assert_eq!(payers.len(), 1_000);
        assert_eq!(a.seed.payments, b.seed.payments);
        assert_eq!(a.seed.transfers, b.seed.transfers);
        let mut keys: Vec<_> = a
            .seed
            .transfers
            .iter()
            .map(|t| (t.block, t.log_index))
            .collect();
        keys.sort();
        keys.dedup();
        assert_eq!(
            keys.len(),
            a.seed.transfers.len(),
            "transfer (block, log_index) unique"
        );
    }
}
