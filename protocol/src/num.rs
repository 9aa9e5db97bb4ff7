//! How x402 writes numbers: token amounts and timestamps travel as decimal strings; decimal or
//! `0x` hex strings and JSON integers are accepted on input.

/// Serde for token amounts: written as decimal strings, read from decimal or `0x` hex strings
/// or JSON integers (x402 allows either string form).
pub mod amount {
    use alloy::primitives::U256;
    use serde::{de, Deserialize, Deserializer, Serializer};

    /// Writes a decimal string.
    pub fn serialize<S: Serializer>(value: &U256, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&value.to_string())
    }

    /// Reads a decimal or `0x` hex string, or a JSON integer.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<U256, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Str(String),
            Num(u64),
        }
        match Raw::deserialize(d)? {
            Raw::Num(n) => Ok(U256::from(n)),
            Raw::Str(s) => parse(&s).map_err(de::Error::custom),
        }
    }

    /// Parses a decimal or `0x`-prefixed hex amount.
    pub fn parse(s: &str) -> Result<U256, String> {
        let t = s.trim();
        let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
            Some(hex) => U256::from_str_radix(hex, 16),
            None => U256::from_str_radix(t, 10),
        };
        parsed.map_err(|e| format!("{s:?} is not a decimal or 0x-hex integer: {e}"))
    }
}

/// Serde for optional token amounts (absent or `null` is `None`), read as [`amount`] reads.
pub mod opt_amount {
    use alloy::primitives::U256;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes a decimal string, or `null`.
    pub fn serialize<S: Serializer>(value: &Option<U256>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => s.serialize_str(&v.to_string()),
            None => s.serialize_none(),
        }
    }

    /// Reads what [`super::amount`] reads, or `null`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<U256>, D::Error> {
        #[derive(Deserialize)]
        struct W(#[serde(with = "super::amount")] U256);
        Ok(Option::<W>::deserialize(d)?.map(|w| w.0))
    }
}

/// Serde for `u64` values x402 sends as strings (timestamps, nonces): written as decimal
/// strings, read from decimal/hex strings or JSON integers.
pub mod uint_string {
    use serde::{de, Deserialize, Deserializer, Serializer};

    /// Writes a decimal string.
    pub fn serialize<S: Serializer>(value: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&value.to_string())
    }

    /// Reads a decimal or `0x` hex string, or a JSON integer.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Str(String),
            Num(u64),
        }
        match Raw::deserialize(d)? {
            Raw::Num(n) => Ok(n),
            Raw::Str(s) => {
                let v = super::amount::parse(&s).map_err(de::Error::custom)?;
                u64::try_from(v)
                    .map_err(|_| de::Error::custom(format!("{s} does not fit in 64 bits")))
            }
        }
    }
}
