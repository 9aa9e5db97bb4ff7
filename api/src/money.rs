//! Amounts with their units. Raw units of different tokens never add up: every amount is a
//! [`Money`], per token in exact raw units (with the token's symbol and decimals from the
//! deployment file) plus a USD total over the tokens the price source prices for the request's
//! window (see [`crate::prices`]). A request's [`Pricing`] decides once which tokens are priced, so
//! every figure of one answer uses the same set.

use std::collections::BTreeMap;
use std::str::FromStr;

use alloy_primitives::Address;
use bigdecimal::{BigDecimal, ToPrimitive, Zero};
use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

use crate::prices::{PriceBook, Segment};
use crate::state::TokenMeta;

/// An amount in one token.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TokenAmount {
    /// The token (EIP-55).
    pub token: String,
    /// Its symbol, from the deployment file.
    pub symbol: Option<String>,
    /// Its decimals, from the deployment file (`raw` / 10^decimals whole tokens).
    pub decimals: Option<u8>,
    /// Raw token units, exact decimal string (integers, except taint-adjusted figures, which
    /// keep their exact fraction).
    pub raw: String,
    /// USD value, exact decimal string; null when the token has no price for the window.
    pub usd: Option<String>,
}

/// An amount that may span tokens.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct Money {
    /// USD over the priced tokens of `tokens` (exact decimal string); null when no token in scope
    /// has a price (see the answer's `prices.unpriced_tokens`).
    pub usd: Option<String>,
    /// Per token, exact raw units. With a `token` filter, exactly that token.
    pub tokens: Vec<TokenAmount>,
}

impl Money {
    /// The raw amount in `token` (zero when absent).
    pub fn raw_of(&self, token: &str) -> BigDecimal {
        self.tokens
            .iter()
            .find(|t| t.token.eq_ignore_ascii_case(token))
            .and_then(|t| BigDecimal::from_str(&t.raw).ok())
            .unwrap_or_default()
    }
}

/// What the USD figures of an answer rest on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct PriceNote {
    /// The price source (stablecoins at par from the deployment file, configured prices).
    pub source: String,
    /// Tokens in scope priced for every day of the window (EIP-55).
    pub priced_tokens: Vec<String>,
    /// Tokens in scope without a price for the whole window: left out of every USD total and
    /// every cross-token share.
    pub unpriced_tokens: Vec<String>,
}

/// The units of one request: its token filter, the priced tokens and their price segments.
#[derive(Debug, Clone, Default)]
pub struct Pricing {
    /// The `token` filter: amounts and shares are then exact in its raw units.
    pub token: Option<Address>,
    meta: Vec<TokenMeta>,
    segments: Vec<Segment>,
    priced: Vec<Address>,
    unpriced: Vec<Address>,
    source: String,
    /// EIP-55 spelling of every token the request knows, computed once: a series renders a
    /// money per period and class, and hashing the address for each was a tenth of its cost.
    checksums: Vec<(Address, String)>,
}

/// Bind values of the price segments: tokens, first days, end days (exclusive), USD per raw unit.
pub type PriceBinds = (Vec<Vec<u8>>, Vec<NaiveDate>, Vec<NaiveDate>, Vec<String>);

/// The `px` CTE over the price segments bound at `$n .. $n+3`: `px_token`, `px_from`, `px_to`
/// (exclusive), `px_usd` (USD per raw unit). Join it with
/// `left join px on px_token = token and day >= px_from and day < px_to`.
pub fn px_cte(n: usize) -> String {
    format!(
        "px as (select * from unnest(${}::bytea[], ${}::date[], ${}::date[], ${}::numeric[])
                as px(px_token, px_from, px_to, px_usd))",
        n,
        n + 1,
        n + 2,
        n + 3
    )
}

/// Binds the four arrays of a [`Pricing`] in the order [`px_cte`] expects.
macro_rules! bind_prices {
    ($q:expr, $p:expr) => {{
        let (t, f, e, u) = $p.binds();
        $q.bind(t).bind(f).bind(e).bind(u)
    }};
}
pub(crate) use bind_prices;

/// Parses a numeric column's text (null and garbage read as absent).
pub fn dec(s: Option<&str>) -> Option<BigDecimal> {
    s.and_then(|s| BigDecimal::from_str(s).ok())
}

/// Renders an exact decimal without exponent or trailing zeros.
pub fn plain(d: &BigDecimal) -> String {
    if d.is_zero() {
        return "0".into();
    }
    d.normalized().to_plain_string()
}

impl Pricing {
    /// The units of a request over `known` tokens (the token filter's alone when given) and the
    /// window starting at `from`.
    pub fn new(
        book: &PriceBook,
        meta: &[TokenMeta],
        known: &[Address],
        token: Option<Address>,
        from: Option<NaiveDate>,
    ) -> Self {
        let mut segments = book.segments(from);
        if let Some(t) = token {
            segments.retain(|s| s.token == t);
        }
        let scope: Vec<Address> = match token {
            Some(t) => vec![t],
            None => known.to_vec(),
        };
        let (priced, unpriced): (Vec<Address>, Vec<Address>) = scope
            .into_iter()
            .partition(|a| segments.iter().any(|s| s.token == *a));
        segments.retain(|s| priced.contains(&s.token));
        let mut addresses: Vec<Address> = meta
            .iter()
            .map(|m| m.address)
            .chain(known.iter().copied())
            .chain(token)
            .collect();
        addresses.sort();
        addresses.dedup();
        Self {
            token,
            meta: meta.to_vec(),
            segments,
            priced,
            unpriced,
            source: book.describe(meta),
            checksums: addresses
                .into_iter()
                .map(|a| (a, a.to_checksum(None)))
                .collect(),
        }
    }

    /// The EIP-55 spelling of `a`.
    fn checksum(&self, a: &Address) -> String {
        match self.checksums.iter().find(|(x, _)| x == a) {
            Some((_, s)) => s.clone(),
            None => a.to_checksum(None),
        }
    }

    /// The price segments as bind values.
    pub fn binds(&self) -> PriceBinds {
        (
            self.segments.iter().map(|s| s.token.to_vec()).collect(),
            self.segments.iter().map(|s| s.from).collect(),
            self.segments.iter().map(|s| s.to).collect(),
            self.segments
                .iter()
                .map(|s| plain(&s.usd_per_raw))
                .collect(),
        )
    }

    /// The price segments of `token` for this request (none when it is unpriced).
    pub fn segments_of<'a>(&'a self, token: &'a Address) -> impl Iterator<Item = &'a Segment> {
        self.segments.iter().filter(move |s| s.token == *token)
    }

    /// Whether amounts are in one token's raw units (a `token` filter).
    pub fn per_token(&self) -> bool {
        self.token.is_some()
    }

    /// The note every answer carries.
    pub fn note(&self) -> PriceNote {
        PriceNote {
            source: self.source.clone(),
            priced_tokens: self.priced.iter().map(|a| a.to_checksum(None)).collect(),
            unpriced_tokens: self.unpriced.iter().map(|a| a.to_checksum(None)).collect(),
        }
    }

    /// A human label of the unit shares and concentration are computed in.
    pub fn unit(&self) -> String {
        match self.token {
            Some(t) => format!("raw units of {}", self.name(&t)),
            None => "USD over the priced tokens".into(),
        }
    }

    /// Whether `token` (20 bytes) is priced for this request.
    pub fn is_priced(&self, token: &[u8]) -> bool {
        token.len() == 20 && self.priced.contains(&Address::from_slice(token))
    }

    /// A token's address (EIP-55), symbol and decimals.
    pub fn token_meta(&self, token: &[u8]) -> (String, Option<String>, Option<u8>) {
        let a = if token.len() == 20 {
            Address::from_slice(token)
        } else {
            Address::ZERO
        };
        let m = self.meta.iter().find(|m| m.address == a);
        (
            a.to_checksum(None),
            m.and_then(|m| m.symbol.clone()),
            m.and_then(|m| m.decimals),
        )
    }

    fn name(&self, a: &Address) -> String {
        self.meta
            .iter()
            .find(|m| m.address == *a)
            .and_then(|m| m.symbol.clone())
            .unwrap_or_else(|| a.to_checksum(None))
    }

    /// Builds a money from (token, raw, usd) parts; parts of one token add up. `usd` is ignored
    /// for unpriced tokens.
    pub fn money<'a>(
        &self,
        parts: impl IntoIterator<Item = (&'a [u8], Option<&'a str>, Option<&'a str>)>,
    ) -> Money {
        let mut acc: BTreeMap<Address, (BigDecimal, BigDecimal)> = BTreeMap::new();
        if let Some(t) = self.token {
            acc.entry(t).or_default();
        }
        for (token, raw, usd) in parts {
            if token.len() != 20 {
                continue;
            }
            let a = Address::from_slice(token);
            let e = acc.entry(a).or_default();
            e.0 += dec(raw).unwrap_or_default();
            e.1 += dec(usd).unwrap_or_default();
        }
        let any_priced = !self.priced.is_empty();
        let mut total = BigDecimal::zero();
        let tokens = acc
            .into_iter()
            .map(|(a, (raw, usd))| {
                let m = self.meta.iter().find(|m| m.address == a);
                let priced = self.priced.contains(&a);
                if priced {
                    total += &usd;
                }
                TokenAmount {
                    token: self.checksum(&a),
                    symbol: m.and_then(|m| m.symbol.clone()),
                    decimals: m.and_then(|m| m.decimals),
                    raw: plain(&raw),
                    usd: priced.then(|| plain(&usd)),
                }
            })
            .collect();
        Money {
            usd: any_priced.then(|| plain(&total)),
            tokens,
        }
    }

    /// The sum of several moneys of this request.
    pub fn sum<'a>(&self, ms: impl IntoIterator<Item = &'a Money>) -> Money {
        let parts: Vec<(Vec<u8>, String, Option<String>)> = ms
            .into_iter()
            .flat_map(|m| m.tokens.iter())
            .filter_map(|t| {
                Address::from_str(&t.token)
                    .ok()
                    .map(|a| (a.to_vec(), t.raw.clone(), t.usd.clone()))
            })
            .collect();
        self.money(
            parts
                .iter()
                .map(|(a, r, u)| (a.as_slice(), Some(r.as_str()), u.as_deref())),
        )
    }

    /// `part / whole` in this request's unit: raw units with a token filter, else USD over the
    /// priced tokens; null when nothing in scope is priced. Zero when `whole` is zero.
    pub fn share(&self, part: &Money, whole: &Money) -> Option<f64> {
        let (p, w) = match self.token {
            Some(t) => {
                let t = self.checksum(&t);
                (part.raw_of(&t), whole.raw_of(&t))
            }
            None => (dec(part.usd.as_deref())?, dec(whole.usd.as_deref())?),
        };
        if w.is_zero() {
            return Some(0.0);
        }
        (p / w).to_f64()
    }

    /// The value of a money in this request's unit, as a float for statistics and ordering:
    /// raw units with a token filter, else USD.
    pub fn magnitude(&self, m: &Money) -> f64 {
        match self.token {
            Some(t) => m.raw_of(&self.checksum(&t)).to_f64().unwrap_or(0.0),
            None => dec(m.usd.as_deref())
                .and_then(|d| d.to_f64())
                .unwrap_or(0.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(n: u8, symbol: &str, decimals: u8, stablecoin: bool) -> TokenMeta {
        TokenMeta {
            address: Address::with_last_byte(n),
            symbol: Some(symbol.into()),
            decimals: Some(decimals),
            stablecoin,
        }
    }

    #[test]
    fn unpriced_tokens_stay_out_of_usd() {
        let tokens = [meta(1, "USDC", 6, true), meta(2, "OPG", 18, false)];
        let book = PriceBook::build(&tokens, None, &[]).unwrap();
        let known = [tokens[0].address, tokens[1].address];
        let p = Pricing::new(&book, &tokens, &known, None, None);
        assert_eq!(
            p.note().unpriced_tokens,
            vec![tokens[1].address.to_checksum(None)]
        );
        let (a, b) = (tokens[0].address.to_vec(), tokens[1].address.to_vec());
        let m = p.money([
            (a.as_slice(), Some("1500000"), Some("1.5")),
            (b.as_slice(), Some("1000000000000000000000"), None),
            (a.as_slice(), Some("500000"), Some("0.5")),
        ]);
        assert_eq!(m.usd.as_deref(), Some("2"));
        assert_eq!(m.tokens[0].raw, "2000000");
        assert_eq!(m.tokens[1].usd, None);
        assert_eq!(m.tokens[1].decimals, Some(18));
        // Per token: exact raw units of that token only, and the share in raw units.
        let p1 = Pricing::new(&book, &tokens, &known, Some(tokens[1].address), None);
        let whole = p1.money([(b.as_slice(), Some("3"), None)]);
        let part = p1.money([(b.as_slice(), Some("1"), None)]);
        assert!((p1.share(&part, &whole).unwrap() - 1.0 / 3.0).abs() < 1e-12);
        // Nothing priced: USD and cross-token shares are null, not zero.
        let none = PriceBook::default();
        let p0 = Pricing::new(&none, &tokens, &known, None, None);
        let m0 = p0.money([(b.as_slice(), Some("3"), None)]);
        assert_eq!(m0.usd, None);
        assert_eq!(p0.share(&m0, &m0), None);
    }
}
