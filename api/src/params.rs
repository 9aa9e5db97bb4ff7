//! Query parameters: extraction (unknown or repeated parameters are rejected), validation into
//! typed filters, pagination cursors and response format negotiation.
//!
//! Every parameter arrives as an optional string and is validated here, so each failure names the
//! parameter and the rule it broke; only typed values ever reach SQL, and only as bind parameters.

use alloy_primitives::Address;
use axum::extract::FromRequestParts;
use axum::http::header::ACCEPT;
use axum::http::request::Parts;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::NaiveDate;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::model::{parse_address, Class};
use x402_domain::PaymentSource;

/// Largest page a list endpoint returns.
pub const MAX_PAGE_SIZE: i64 = 1000;
/// Page size when `limit` is absent.
pub const DEFAULT_PAGE_SIZE: i64 = 50;

/// A query-string extractor that rejects unknown and repeated parameters with a 400 naming them.
#[derive(Debug)]
pub struct ValidQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ValidQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str(query)
            .map(ValidQuery)
            .map_err(|e| {
                let msg = e.to_string();
                // serde names the field between backticks ("unknown field `x`", "duplicate field `x`").
                let param = msg.split('`').nth(1).unwrap_or("query").to_string();
                ApiError::bad(param, msg)
            })
    }
}

/// The raw filter parameters every metric and list endpoint accepts.
#[derive(Debug, Default, Clone, Copy)]
pub struct RawFilters<'a> {
    /// `from`
    pub from: Option<&'a str>,
    /// `to`
    pub to: Option<&'a str>,
    /// `token`
    pub token: Option<&'a str>,
    /// `payee`
    pub payee: Option<&'a str>,
    /// `facilitator`
    pub facilitator: Option<&'a str>,
    /// `class`
    pub class: Option<&'a str>,
    /// `source`
    pub source: Option<&'a str>,
}

/// Query structs that carry the common filters.
pub trait HasFilters {
    /// The filter parameters as sent.
    fn raw_filters(&self) -> RawFilters<'_>;
}

/// Declares a query-parameter struct with the common filters plus endpoint-specific fields.
/// Every field is an optional string, so deserialization fails only on unknown or repeated
/// parameters and each value is validated with a message naming it.
macro_rules! query_params {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $field:ident),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
        #[serde(deny_unknown_fields)]
        #[into_params(parameter_in = Query)]
        pub struct $name {
            /// First day of the window, UTC, inclusive (`YYYY-MM-DD`). Default: first day with data.
            pub from: Option<String>,
            /// Last day of the window, UTC, inclusive (`YYYY-MM-DD`). Default: last day with data.
            pub to: Option<String>,
            /// Only payments in this token (0x address of a token seen in payments).
            pub token: Option<String>,
            /// Only payments to this payee (0x address).
            pub payee: Option<String>,
            /// Only payments settled by this facilitator (0x address).
            pub facilitator: Option<String>,
            /// Only payments of these classes, comma-separated (self_payment, internal, self_dealing,
            /// project_funded, suspected_sybil, external, unattributed, unclassified).
            pub class: Option<String>,
            /// Only payments from these sources, comma-separated: `settlement` (X402Settlement
            /// events), `eip3009` (standard x402 EIP-3009 `transferWithAuthorization`),
            /// `settlement_eip3009` (an EIP-3009 authorization executed through X402Settlement),
            /// `permit2_proxy` (x402's Permit2 proxies). An unknown name is a 400 listing the valid ones.
            pub source: Option<String>,
            /// `json` (default) or `csv`; `Accept: text/csv` also selects CSV.
            // Read by the `Format` extractor (with the Accept header) from the raw query; declared
            // so that `deny_unknown_fields` accepts it and the OpenAPI document lists it.
            #[allow(dead_code)]
            pub format: Option<String>,
            $($(#[$fm])* pub $field: Option<String>,)*
        }

        impl $crate::params::HasFilters for $name {
            fn raw_filters(&self) -> $crate::params::RawFilters<'_> {
                $crate::params::RawFilters {
                    from: self.from.as_deref(),
                    to: self.to.as_deref(),
                    token: self.token.as_deref(),
                    payee: self.payee.as_deref(),
                    facilitator: self.facilitator.as_deref(),
                    class: self.class.as_deref(),
                    source: self.source.as_deref(),
                }
            }
        }
    };
}
pub(crate) use query_params;

/// Validated filters. Dates are whole UTC days, both ends inclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Filters {
    /// First day of the window.
    pub from: Option<NaiveDate>,
    /// Last day of the window.
    pub to: Option<NaiveDate>,
    /// Token filter.
    pub token: Option<Address>,
    /// Payee filter.
    pub payee: Option<Address>,
    /// Facilitator filter.
    pub facilitator: Option<Address>,
    /// Class filter (sorted, deduplicated); `None` = every class.
    pub classes: Option<Vec<Class>>,
    /// Source filter (sorted, deduplicated); `None` = every source.
    pub sources: Option<Vec<PaymentSource>>,
}

impl Filters {
    /// Validates raw filters. `known_tokens` is the set of tokens payments exist in: a token
    /// outside it is almost certainly a mistake (wrong chain, typo), so it is rejected rather than
    /// answered with zeros.
    pub fn parse(raw: RawFilters<'_>, known_tokens: &[Address]) -> Result<Self, ApiError> {
        let from = raw.from.map(|s| parse_date("from", s)).transpose()?;
        let to = raw.to.map(|s| parse_date("to", s)).transpose()?;
        if let (Some(f), Some(t)) = (from, to) {
            if t < f {
                return Err(ApiError::bad(
                    "to",
                    format!("must not be before `from` ({f}); got {t}"),
                ));
            }
        }
        let token = raw.token.map(|s| parse_address("token", s)).transpose()?;
        if let Some(t) = token {
            if !known_tokens.contains(&t) {
                return Err(ApiError::bad(
                    "token",
                    format!(
                        "{t} is not a token any payment was made in (known tokens: {})",
                        list(known_tokens)
                    ),
                ));
            }
        }
        let payee = raw.payee.map(|s| parse_address("payee", s)).transpose()?;
        let facilitator = raw
            .facilitator
            .map(|s| parse_address("facilitator", s))
            .transpose()?;
        let classes = raw.class.map(parse_classes).transpose()?;
        let sources = raw.source.map(parse_sources).transpose()?;
        Ok(Self {
            from,
            to,
            token,
            payee,
            facilitator,
            classes,
            sources,
        })
    }

    /// Token filter as a bind value.
    pub fn token_bytes(&self) -> Option<Vec<u8>> {
        self.token.map(|a| a.to_vec())
    }
    /// Payee filter as a bind value.
    pub fn payee_bytes(&self) -> Option<Vec<u8>> {
        self.payee.map(|a| a.to_vec())
    }
    /// Facilitator filter as a bind value.
    pub fn facilitator_bytes(&self) -> Option<Vec<u8>> {
        self.facilitator.map(|a| a.to_vec())
    }
    /// Class filter as a bind value.
    pub fn class_names(&self) -> Option<Vec<String>> {
        self.classes
            .as_ref()
            .map(|cs| cs.iter().map(|c| c.as_str().to_string()).collect())
    }
    /// Source filter as a bind value.
    pub fn source_names(&self) -> Option<Vec<String>> {
        self.sources
            .as_ref()
            .map(|ss| ss.iter().map(|s| s.as_str().to_string()).collect())
    }
    /// The classes whose payers the payer-activity metrics count: the class filter when given,
    /// else `external` (active payers, new vs returning, repeat rate and retention are about
    /// organic demand unless the analyst asks for other classes).
    pub fn activity_classes(&self) -> Vec<String> {
        self.class_names()
            .unwrap_or_else(|| vec![Class::External.as_str().to_string()])
    }
}

fn list(tokens: &[Address]) -> String {
    if tokens.is_empty() {
        return "none yet".into();
    }
    tokens
        .iter()
        .map(|t| t.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses a `YYYY-MM-DD` date.
pub fn parse_date(param: &str, s: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| ApiError::bad(param, format!("must be a date YYYY-MM-DD; got `{s}`")))
}

fn parse_classes(s: &str) -> Result<Vec<Class>, ApiError> {
    let mut out = Vec::new();
    for part in s.split(',') {
        let c: Class = part
            .trim()
            .parse()
            .map_err(|e: String| ApiError::bad("class", e))?;
        out.push(c);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Parses a comma-separated list of payment sources (names of x402_domain::PaymentSource).
fn parse_sources(s: &str) -> Result<Vec<PaymentSource>, ApiError> {
    let mut out = Vec::new();
    for part in s.split(',') {
        let source: PaymentSource = part
            .trim()
            .parse()
            .map_err(|e: x402_domain::UnknownName| ApiError::bad("source", e.to_string()))?;
        out.push(source);
    }
    out.sort_by_key(|s| s.as_str());
    out.dedup();
    Ok(out)
}

/// Parses `limit` (page size), 1..=MAX_PAGE_SIZE.
pub fn parse_limit(raw: Option<&str>) -> Result<i64, ApiError> {
    let Some(s) = raw else {
        return Ok(DEFAULT_PAGE_SIZE);
    };
    let rule = format!("must be an integer between 1 and {MAX_PAGE_SIZE}");
    let n: i64 = s
        .parse()
        .map_err(|_| ApiError::bad("limit", format!("{rule}; got `{s}`")))?;
    if !(1..=MAX_PAGE_SIZE).contains(&n) {
        return Err(ApiError::bad("limit", format!("{rule}; got {n}")));
    }
    Ok(n)
}

/// Parses an integer parameter within bounds.
pub fn parse_int(
    param: &str,
    raw: Option<&str>,
    default: i64,
    min: i64,
    max: i64,
) -> Result<i64, ApiError> {
    let Some(s) = raw else { return Ok(default) };
    let rule = format!("must be an integer between {min} and {max}");
    let n: i64 = s
        .parse()
        .map_err(|_| ApiError::bad(param, format!("{rule}; got `{s}`")))?;
    if !(min..=max).contains(&n) {
        return Err(ApiError::bad(param, format!("{rule}; got {n}")));
    }
    Ok(n)
}

/// Encodes a keyset position as an opaque cursor (base64url of JSON): clients pass it back
/// verbatim and never depend on its shape.
pub fn encode_cursor<T: Serialize>(position: &T) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(position).expect("cursor positions serialize"))
}

/// Decodes a cursor issued by [`encode_cursor`] for the same endpoint.
pub fn decode_cursor<T: for<'de> Deserialize<'de>>(raw: &str) -> Result<T, ApiError> {
    let bad = || {
        ApiError::bad(
            "cursor",
            "must be a `next_cursor` value returned by this endpoint",
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad())?;
    serde_json::from_slice(&bytes).map_err(|_| bad())
}

/// Response format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// `application/json`
    Json,
    /// `text/csv`
    Csv,
}

impl<S: Send + Sync> FromRequestParts<S> for Format {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let explicit = url_pairs(query)
            .find(|(k, _)| k == "format")
            .map(|(_, v)| v);
        match explicit.as_deref() {
            Some("csv") => return Ok(Format::Csv),
            Some("json") => return Ok(Format::Json),
            Some(other) => {
                return Err(ApiError::bad(
                    "format",
                    format!("must be `json` or `csv`; got `{other}`"),
                ))
            }
            None => {}
        }
        let accepts_csv = parts
            .headers
            .get_all(ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.split(',').any(|m| m.trim().starts_with("text/csv")));
        Ok(if accepts_csv {
            Format::Csv
        } else {
            Format::Json
        })
    }
}

fn url_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .unwrap_or_default()
        .into_iter()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_parse_sorted_and_reject_unknown() {
        let raw = RawFilters {
            class: Some("external, internal,external"),
            ..Default::default()
        };
        let f = Filters::parse(raw, &[]).unwrap();
        assert_eq!(f.classes, Some(vec![Class::Internal, Class::External]));
        let raw = RawFilters {
            class: Some("organic"),
            ..Default::default()
        };
        match Filters::parse(raw, &[]) {
            Err(ApiError::BadParam { param, rule }) => {
                assert_eq!(param, "class");
                assert!(rule.contains("organic"), "{rule}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn sources_parse_and_unknown_lists_the_valid_ones() {
        let raw = RawFilters {
            source: Some("permit2_proxy,eip3009, eip3009"),
            ..Default::default()
        };
        let f = Filters::parse(raw, &[]).unwrap();
        assert_eq!(
            f.source_names(),
            Some(vec!["eip3009".to_string(), "permit2_proxy".to_string()])
        );
        let raw = RawFilters {
            source: Some("permit2"),
            ..Default::default()
        };
        match Filters::parse(raw, &[]) {
            Err(ApiError::BadParam { param, rule }) => {
                assert_eq!(param, "source");
                for s in PaymentSource::ALL {
                    assert!(rule.contains(s.as_str()), "{rule}");
                }
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn inverted_window_names_to() {
        let raw = RawFilters {
            from: Some("2026-02-02"),
            to: Some("2026-02-01"),
            ..Default::default()
        };
        assert!(
            matches!(Filters::parse(raw, &[]), Err(ApiError::BadParam { param, .. }) if param == "to")
        );
    }

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let c = encode_cursor(&(5i64, "x".to_string()));
        assert_eq!(
            decode_cursor::<(i64, String)>(&c).unwrap(),
            (5, "x".to_string())
        );
        assert!(decode_cursor::<(i64, String)>("not a cursor!").is_err());
        assert!(decode_cursor::<(i64, String)>(&encode_cursor(&"other shape")).is_err());
    }

    #[test]
    fn limit_bounds() {
        assert_eq!(parse_limit(None).unwrap(), DEFAULT_PAGE_SIZE);
        assert_eq!(parse_limit(Some("1000")).unwrap(), 1000);
        assert!(parse_limit(Some("1001")).is_err());
        assert!(parse_limit(Some("0")).is_err());
        assert!(parse_limit(Some("ten")).is_err());
    }
}
