//! A request's filters translated to the snapshot's dictionary ids.

use alloy_primitives::Address;

use super::{class_index, source_index, Bin, Cell, Dict, Dicts, Row};
use crate::params::Filters;

/// A filter translated to dictionary ids. `None` fields match everything; `empty` when a filter
/// names a value the read model has never seen (nothing matches).
#[derive(Debug, Clone, Copy)]
pub(super) struct Want {
    token: Option<u32>,
    pub(super) payee: Option<u32>,
    facilitator: Option<u32>,
    /// Bit per `Class::ALL` index.
    pub(super) classes: u16,
    /// Bit per `PaymentSource::ALL` index.
    sources: u16,
    pub(super) empty: bool,
}

impl Want {
    pub(super) fn new(d: &Dicts, f: &Filters, classes: Option<&[String]>) -> Self {
        let mut empty = false;
        let mut id = |dict: &Dict, a: Option<Address>| match a {
            None => None,
            Some(a) => match dict.get(a.as_slice()) {
                Some(i) => Some(i),
                None => {
                    empty = true;
                    Some(u32::MAX - 1)
                }
            },
        };
        let token = id(&d.tokens, f.token);
        let payee = id(&d.payees, f.payee);
        let facilitator = id(&d.facilitators, f.facilitator);
        let classes = match classes {
            None => u16::MAX,
            Some(cs) => cs
                .iter()
                .filter_map(|c| class_index(c))
                .fold(0u16, |m, i| m | (1 << i)),
        };
        let sources = match &f.sources {
            None => u16::MAX,
            Some(ss) => ss
                .iter()
                .filter_map(|s| source_index(s.as_str()))
                .fold(0u16, |m, i| m | (1 << i)),
        };
        Self {
            token,
            payee,
            facilitator,
            classes,
            sources,
            empty,
        }
    }

    /// Whether any dimension but the class is filtered (else [`Want::dims_but_class`] holds
    /// for every row, and the passes over rows skip it).
    pub(super) fn filters_dims(&self) -> bool {
        self.token.is_some()
            || self.payee.is_some()
            || self.facilitator.is_some()
            || self.sources != u16::MAX
    }

    /// Matches every dimension of a row but its class (for passes that test two class sets).
    #[inline]
    pub(super) fn dims_but_class(&self, r: &Row) -> bool {
        !self.empty
            && self.token.is_none_or(|t| t == r.token)
            && self.payee.is_none_or(|p| p == r.payee)
            && self.facilitator.is_none_or(|f| f == r.facilitator)
            && self.sources & (1 << r.source) != 0
    }

    /// Matches a cell; coarse cells (payee summed) only serve requests without a payee filter.
    pub(super) fn cell(&self, c: &Cell) -> bool {
        self.token.is_none_or(|t| t == c.token)
            && self.facilitator.is_none_or(|f| f == c.facilitator)
            && self.classes & (1 << c.class) != 0
            && self.sources & (1 << c.source) != 0
            && self.payee.is_none_or(|p| p == c.payee)
    }

    pub(super) fn bin(&self, b: &Bin) -> bool {
        self.token.is_none_or(|t| t == b.token)
            && self.facilitator.is_none_or(|f| f == b.facilitator)
            && self.classes & (1 << b.class) != 0
            && self.sources & (1 << b.source) != 0
            && self.payee.is_none_or(|p| p == b.payee)
    }
}
