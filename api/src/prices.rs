//! The USD price source: which tokens have a price on which days, and at what price.
//!
//! Figures that span tokens are reported in USD, never as raw units added across decimals. A
//! token's price comes from exactly one of, in this order:
//! 1. `--price TOKEN=USD` on the command line (one price for every day);
//! 2. the price file (`--prices FILE`, TOML): `TOKEN = "USD"` for one price, or a `[TOKEN]` table
//!    of `"YYYY-MM-DD" = "USD"` entries for a daily series, where a day without its own entry takes
//!    the latest earlier one;
//! 3. `"stablecoin": true` on the token in the deployment file: 1 USD per whole token (par).
//!
//! `TOKEN` is a symbol of the deployment file or a 0x address. Prices are USD per whole token,
//! turned into USD per raw unit with the token's decimals from the deployment file (the one place
//! token metadata lives), exactly: no float ever touches a price or an amount. A token without a
//! price for every day of a request's window is unpriced for that request: it is listed as such and
//! left out of every USD total.

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

use alloy_primitives::Address;
use bigdecimal::BigDecimal;
use chrono::NaiveDate;

use crate::state::TokenMeta;

/// A price configuration error: which input, and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("{input}: {problem}")]
pub struct PriceError {
    /// The flag, file or entry at fault.
    pub input: String,
    /// What is wrong and how to fix it.
    pub problem: String,
}

fn err(input: impl Into<String>, problem: impl Into<String>) -> PriceError {
    PriceError {
        input: input.into(),
        problem: problem.into(),
    }
}

/// Where one token's price comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenPrice {
    /// A stablecoin of the deployment file, at 1 USD.
    Par,
    /// One price for every day (`--price` or a plain price-file entry).
    Fixed(BigDecimal),
    /// Daily prices, ascending by day; a day takes the latest entry at or before it.
    Daily(Vec<(NaiveDate, BigDecimal)>),
}

/// One price segment: from `from` (inclusive) to `to` (exclusive), `usd_per_raw` USD per raw unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// The token.
    pub token: Address,
    /// First day.
    pub from: NaiveDate,
    /// Day after the last day.
    pub to: NaiveDate,
    /// USD per raw unit (price / 10^decimals), exact.
    pub usd_per_raw: BigDecimal,
}

/// Every configured price, resolved against the deployment's tokens.
#[derive(Debug, Clone, Default)]
pub struct PriceBook {
    prices: BTreeMap<Address, (u8, TokenPrice)>,
}

/// The earliest and latest days a segment may span (PostgreSQL's `date` cannot hold chrono's
/// extremes).
fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date")
}
fn last_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(9999, 12, 31).expect("valid date")
}

/// Parses a non-negative USD price.
fn parse_price(input: &str, s: &str) -> Result<BigDecimal, PriceError> {
    let p = BigDecimal::from_str(s.trim()).map_err(|_| {
        err(
            input,
            format!("`{s}` is not a decimal USD price (e.g. 0.42)"),
        )
    })?;
    if p.sign() == bigdecimal::num_bigint::Sign::Minus {
        return Err(err(input, format!("price {s} is negative")));
    }
    Ok(p)
}

/// Resolves a symbol or address against the deployment's tokens; returns the address and decimals.
fn resolve(input: &str, key: &str, tokens: &[TokenMeta]) -> Result<(Address, u8), PriceError> {
    let found: Vec<&TokenMeta> = if key.starts_with("0x") {
        let a = Address::from_str(key).map_err(|_| {
            err(
                input,
                format!("`{key}` is not a 0x-prefixed 20-byte address"),
            )
        })?;
        tokens.iter().filter(|t| t.address == a).collect()
    } else {
        tokens
            .iter()
            .filter(|t| {
                t.symbol
                    .as_deref()
                    .is_some_and(|s| s.eq_ignore_ascii_case(key))
            })
            .collect()
    };
    let known = || {
        let names: Vec<String> = tokens
            .iter()
            .map(|t| t.symbol.clone().unwrap_or_else(|| t.address.to_string()))
            .collect();
        if names.is_empty() {
            "none: pass --deployment".to_string()
        } else {
            names.join(", ")
        }
    };
    match found.as_slice() {
        [t] => match t.decimals {
            Some(d) => Ok((t.address, d)),
            None => Err(err(
                input,
                format!("`{key}` has no decimals in the deployment file, so a whole-token price cannot be turned into raw units"),
            )),
        },
        [] => Err(err(
            input,
            format!("`{key}` is not a token of the deployment file (known: {})", known()),
        )),
        _ => Err(err(
            input,
            format!("symbol `{key}` names several tokens of the deployment file; use the address"),
        )),
    }
}

/// Parses one `--price TOKEN=USD` flag value.
pub fn parse_price_flag(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` must be TOKEN=USD (e.g. OPG=0.42)"))?;
    if k.trim().is_empty() || v.trim().is_empty() {
        return Err(format!("`{s}` must be TOKEN=USD (e.g. OPG=0.42)"));
    }
    Ok((k.trim().to_string(), v.trim().to_string()))
}

impl PriceBook {
    /// Builds the book: stablecoins of `tokens` at par, then the price file's entries (TOML text,
    /// `file` names it in errors), then `flags` (TOKEN, USD), each overriding the previous source
    /// for its token. A token priced twice by the same source is an error.
    pub fn build(
        tokens: &[TokenMeta],
        file: Option<(&str, &str)>,
        flags: &[(String, String)],
    ) -> Result<Self, PriceError> {
        let mut prices = BTreeMap::new();
        for t in tokens.iter().filter(|t| t.stablecoin) {
            let d = t.decimals.ok_or_else(|| {
                err(
                    "deployment file",
                    format!("stablecoin {} has no decimals", t.address),
                )
            })?;
            prices.insert(t.address, (d, TokenPrice::Par));
        }
        if let Some((name, text)) = file {
            let table: toml::Table = toml::from_str(text)
                .map_err(|e| err(name, format!("not a TOML price file: {e}")))?;
            let mut seen = BTreeMap::new();
            for (key, value) in table {
                let input = format!("{name}: `{key}`");
                let (addr, dec) = resolve(&input, &key, tokens)?;
                if let Some(other) = seen.insert(addr, key.clone()) {
                    return Err(err(input, format!("prices the same token as `{other}`")));
                }
                let price = match value {
                    toml::Value::Table(days) => {
                        let mut series = Vec::new();
                        for (day, v) in days {
                            let at = format!("{input}.\"{day}\"");
                            let d = NaiveDate::parse_from_str(&day, "%Y-%m-%d").map_err(|_| {
                                err(&at, "keys of a daily series are dates YYYY-MM-DD")
                            })?;
                            series.push((d, parse_price(&at, &scalar(&at, &v)?)?));
                        }
                        if series.is_empty() {
                            return Err(err(input, "a daily series needs at least one day"));
                        }
                        series.sort_by_key(|(d, _)| *d);
                        TokenPrice::Daily(series)
                    }
                    v => TokenPrice::Fixed(parse_price(&input, &scalar(&input, &v)?)?),
                };
                prices.insert(addr, (dec, price));
            }
        }
        let mut seen = BTreeMap::new();
        for (key, usd) in flags {
            let input = format!("--price {key}={usd}");
            let (addr, dec) = resolve(&input, key, tokens)?;
            if seen.insert(addr, ()).is_some() {
                return Err(err(input, "the token already has a --price"));
            }
            prices.insert(addr, (dec, TokenPrice::Fixed(parse_price(&input, usd)?)));
        }
        Ok(Self { prices })
    }

    /// Reads the price file at `path` (if any) and builds the book.
    pub fn load(
        tokens: &[TokenMeta],
        path: Option<&Path>,
        flags: &[(String, String)],
    ) -> Result<Self, PriceError> {
        let text = path
            .map(|p| {
                std::fs::read_to_string(p)
                    .map(|t| (p.display().to_string(), t))
                    .map_err(|e| err(p.display().to_string(), format!("reading it: {e}")))
            })
            .transpose()?;
        Self::build(
            tokens,
            text.as_ref().map(|(n, t)| (n.as_str(), t.as_str())),
            flags,
        )
    }

    /// Where a token's price comes from, if it has one.
    pub fn price(&self, token: &Address) -> Option<&TokenPrice> {
        self.prices.get(token).map(|(_, p)| p)
    }

    /// The segments of the tokens priced on every day from `from` on (every configured token when
    /// `from` is `None`). A daily series starting after `from` leaves its token unpriced.
    pub fn segments(&self, from: Option<NaiveDate>) -> Vec<Segment> {
        let mut out = Vec::new();
        for (token, (dec, price)) in &self.prices {
            let per_raw = |p: &BigDecimal| p * BigDecimal::new(1.into(), i64::from(*dec));
            match price {
                TokenPrice::Par => out.push(Segment {
                    token: *token,
                    from: first_day(),
                    to: last_day(),
                    usd_per_raw: per_raw(&BigDecimal::from(1)),
                }),
                TokenPrice::Fixed(p) => out.push(Segment {
                    token: *token,
                    from: first_day(),
                    to: last_day(),
                    usd_per_raw: per_raw(p),
                }),
                TokenPrice::Daily(series) => {
                    let starts = series.first().map(|s| s.0).unwrap_or_else(last_day);
                    if from.is_some_and(|f| f < starts) {
                        continue;
                    }
                    for (i, (day, p)) in series.iter().enumerate() {
                        out.push(Segment {
                            token: *token,
                            from: *day,
                            to: series.get(i + 1).map(|n| n.0).unwrap_or_else(last_day),
                            usd_per_raw: per_raw(p),
                        });
                    }
                }
            }
        }
        out
    }

    /// One line saying where prices come from, for responses.
    pub fn describe(&self, tokens: &[TokenMeta]) -> String {
        if self.prices.is_empty() {
            return "no prices configured: every token is unpriced (mark stablecoins in the deployment file, or pass --price / --prices)".into();
        }
        let name = |a: &Address| {
            tokens
                .iter()
                .find(|t| t.address == *a)
                .and_then(|t| t.symbol.clone())
                .unwrap_or_else(|| a.to_string())
        };
        let parts: Vec<String> = self
            .prices
            .iter()
            .map(|(a, (_, p))| match p {
                TokenPrice::Par => format!("{} at par (stablecoin, deployment file)", name(a)),
                TokenPrice::Fixed(p) => {
                    format!("{} at {} USD (configured)", name(a), p.normalized())
                }
                TokenPrice::Daily(s) => format!(
                    "{} daily from {} (price file; a day takes the latest earlier price)",
                    name(a),
                    s[0].0
                ),
            })
            .collect();
        format!("USD per whole token: {}", parts.join("; "))
    }
}

fn scalar(input: &str, v: &toml::Value) -> Result<String, PriceError> {
    match v {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Integer(i) => Ok(i.to_string()),
        // `{}` of an f64 is its shortest exact decimal form (0.42 stays "0.42").
        toml::Value::Float(f) => Ok(format!("{f}")),
        other => Err(err(
            input,
            format!(
                "expected a USD price or a table of daily prices, got {}",
                other.type_str()
            ),
        )),
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

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn sources_in_order_and_exact_per_raw_prices() {
        let tokens = [
            meta(1, "USDC", 6, true),
            meta(2, "OPG", 18, false),
            meta(3, "WETH", 18, false),
        ];
        let file = "OPG = \"0.5\"\n[WETH]\n\"2026-11-10\" = \"3000\"\n\"2026-11-01\" = 2900.25\n";
        let book = PriceBook::build(
            &tokens,
            Some(("prices.toml", file)),
            &[("opg".into(), "0.42".into())],
        )
        .unwrap();
        assert_eq!(book.price(&tokens[0].address), Some(&TokenPrice::Par));
        // The flag overrides the file.
        assert_eq!(
            book.price(&tokens[1].address),
            Some(&TokenPrice::Fixed(BigDecimal::from_str("0.42").unwrap()))
        );
        let segs = book.segments(Some(d("2026-11-05")));
        let usdc = segs.iter().find(|s| s.token == tokens[0].address).unwrap();
        assert_eq!(usdc.usd_per_raw, BigDecimal::from_str("0.000001").unwrap());
        let opg = segs.iter().find(|s| s.token == tokens[1].address).unwrap();
        assert_eq!(
            opg.usd_per_raw,
            BigDecimal::from_str("0.00000000000000000042").unwrap()
        );
        let weth: Vec<&Segment> = segs
            .iter()
            .filter(|s| s.token == tokens[2].address)
            .collect();
        assert_eq!(weth.len(), 2);
        assert_eq!(
            (weth[0].from, weth[0].to),
            (d("2026-11-01"), d("2026-11-10"))
        );
        assert_eq!(
            weth[0].usd_per_raw,
            BigDecimal::from_str("0.00000000000000290025").unwrap()
        );
        // A window starting before the series leaves the token unpriced.
        assert!(book
            .segments(Some(d("2026-10-31")))
            .iter()
            .all(|s| s.token != tokens[2].address));
    }

    #[test]
    fn bad_inputs_name_themselves() {
        let tokens = [meta(1, "USDC", 6, true)];
        let e = PriceBook::build(&tokens, None, &[("DAI".into(), "1".into())]).unwrap_err();
        assert!(
            e.to_string().contains("DAI") && e.to_string().contains("USDC"),
            "{e}"
        );
        let e = PriceBook::build(&tokens, None, &[("USDC".into(), "-1".into())]).unwrap_err();
        assert!(e.to_string().contains("negative"), "{e}");
        let e = PriceBook::build(&tokens, None, &[("USDC".into(), "one".into())]).unwrap_err();
        assert!(e.to_string().contains("not a decimal"), "{e}");
        let e = PriceBook::build(&tokens, Some(("p.toml", "[USDC]\n\"11/02\" = 1\n")), &[])
            .unwrap_err();
        assert!(e.to_string().contains("YYYY-MM-DD"), "{e}");
        let e = PriceBook::build(&tokens, Some(("p.toml", "USDC = [1]\n")), &[]).unwrap_err();
        assert!(e.to_string().contains("p.toml"), "{e}");
        assert!(parse_price_flag("OPG").is_err());
        assert_eq!(
            parse_price_flag("OPG=0.4").unwrap(),
            ("OPG".into(), "0.4".into())
        );
    }
}
