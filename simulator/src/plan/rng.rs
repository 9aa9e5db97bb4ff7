//! The plan's randomness: a reproducible stream and the keys derived from the seed.

use alloy::primitives::keccak256;
use alloy::signers::local::PrivateKeySigner;

/// A reproducible random stream (xorshift64*), good enough to vary an economy.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeded from a string.
    pub fn new(seed: &str) -> Self {
        Rng(u64::from_le_bytes(keccak256(seed.as_bytes())[..8].try_into().expect("8 bytes")) | 1)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[lo, hi]`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// `x` scaled by a factor in `[1 - spread, 1 + spread]`.
    pub fn jitter(&mut self, x: u64, spread: f64) -> u64 {
        ((x as f64) * (1.0 + spread * (2.0 * self.unit() - 1.0)))
            .round()
            .max(1.0) as u64
    }
}

/// The key of the actor named `name` in the economy seeded `seed`.
pub fn derive_signer(seed: &str, name: &str) -> PrivateKeySigner {
    let mut counter = 0u32;
    loop {
        let key = keccak256(format!("x402-sim/{seed}/{name}/{counter}"));
        // A hash is a valid secp256k1 key except with negligible probability; retry if not.
        if let Ok(s) = PrivateKeySigner::from_bytes(&key) {
            return s;
        }
        counter += 1;
    }
}
