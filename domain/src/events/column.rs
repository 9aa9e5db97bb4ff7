//! How a Rust value of an event row travels to its PostgreSQL column.
//!
//! Bulk inserts bind one array per column and `UNNEST` them (one statement per table per range),
//! so every column type says which array it is bound as and how the unnested value becomes the
//! column's type. The Rust type decides the SQL type: an address or hash is `bytea`, a `U256` is
//! `numeric(78,0)` (exact, bound as decimal text), and so on, so a row declaration needs no
//! column type of its own.

use alloy_primitives::{Address, Bytes, B256, U256};

/// The SQL side of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// int8[] -> int8
    Int8,
    /// int4[] -> int4
    Int4,
    /// int2[] -> int2
    Int2,
    /// bytea[] -> bytea
    Bytea,
    /// text[] of decimal digits -> numeric(78,0) (exact, no float on the way)
    Numeric,
    /// int8[] of unix seconds -> timestamptz
    Time,
    /// text[] -> text (NULLs allowed)
    Text,
    /// bool[] -> bool
    Bool,
    /// text[] of array literals -> bytea[] (a 2-D array cannot be unnested row by row)
    ByteaArray,
    /// text[] of array literals -> int4[]
    Int4Array,
}

impl Kind {
    /// The type of the array the column is bound as.
    pub fn array_type(self) -> &'static str {
        match self {
            Kind::Int8 | Kind::Time => "int8[]",
            Kind::Int4 => "int4[]",
            Kind::Int2 => "int2[]",
            Kind::Bytea => "bytea[]",
            Kind::Numeric | Kind::Text | Kind::ByteaArray | Kind::Int4Array => "text[]",
            Kind::Bool => "bool[]",
        }
    }

    /// The expression turning the unnested value `u.<col>` into the column's type.
    pub fn select(self, col: &str) -> String {
        match self {
            Kind::Numeric => format!("u.{col}::numeric(78,0)"),
            Kind::Time => format!("to_timestamp(u.{col})"),
            Kind::ByteaArray => format!("u.{col}::bytea[]"),
            Kind::Int4Array => format!("u.{col}::int4[]"),
            _ => format!("u.{col}"),
        }
    }

    /// The column's type as `information_schema.columns.udt_name` names it.
    pub fn udt_name(self) -> &'static str {
        match self {
            Kind::Int8 => "int8",
            Kind::Int4 => "int4",
            Kind::Int2 => "int2",
            Kind::Bytea => "bytea",
            Kind::Numeric => "numeric",
            Kind::Time => "timestamptz",
            Kind::Text => "text",
            Kind::Bool => "bool",
            Kind::ByteaArray => "_bytea",
            Kind::Int4Array => "_int4",
        }
    }
}

/// A Rust type stored in one column of an event table.
pub trait Column {
    /// Its SQL side.
    const KIND: Kind;
    /// The element of the bound array.
    #[cfg(feature = "store")]
    type Bound: sqlx::Type<sqlx::Postgres> + for<'q> sqlx::Encode<'q, sqlx::Postgres> + Send;
    /// The value as bound.
    #[cfg(feature = "store")]
    fn bound(&self) -> Self::Bound;
}

macro_rules! column {
    ($ty:ty, $kind:ident, $bound:ty, |$v:ident| $conv:expr) => {
        impl Column for $ty {
            const KIND: Kind = Kind::$kind;
            #[cfg(feature = "store")]
            type Bound = $bound;
            #[cfg(feature = "store")]
            fn bound(&self) -> $bound {
                let $v = self;
                $conv
            }
        }
    };
}

column!(B256, Bytea, Vec<u8>, |v| v.to_vec());
column!(Address, Bytea, Vec<u8>, |v| v.to_vec());
column!(Bytes, Bytea, Vec<u8>, |v| v.to_vec());
column!(U256, Numeric, String, |v| v.to_string());
column!(u8, Int2, i16, |v| i16::from(*v));
column!(u16, Int4, i32, |v| i32::from(*v));
column!(u32, Int8, i64, |v| i64::from(*v));
// Block numbers, times and log indexes fit i64 on every chain; a value above i64::MAX would
// be a corrupt answer, stored saturated rather than wrapped negative.
column!(u64, Int8, i64, |v| i64::try_from(*v).unwrap_or(i64::MAX));
column!(bool, Bool, bool, |v| *v);
column!(String, Text, String, |v| v.clone());
column!(Option<String>, Text, Option<String>, |v| v.clone());
column!(Vec<Address>, ByteaArray, String, |v| bytea_array_literal(v));
column!(Vec<B256>, ByteaArray, String, |v| bytea_array_literal(v));
column!(Vec<u16>, Int4Array, String, |v| int_array_literal(v));

/// A PostgreSQL array literal of bytea values: `{"\\x01..","\\x02.."}`.
pub fn bytea_array_literal<B: AsRef<[u8]>>(items: &[B]) -> String {
    let inner: Vec<String> = items
        .iter()
        .map(|b| format!("\"\\\\x{}\"", alloy_primitives::hex::encode(b.as_ref())))
        .collect();
    format!("{{{}}}", inner.join(","))
}

/// A PostgreSQL array literal of integers: `{1,2,3}`.
pub fn int_array_literal<I: std::fmt::Display>(items: &[I]) -> String {
    let inner: Vec<String> = items.iter().map(|i| i.to_string()).collect();
    format!("{{{}}}", inner.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_literals() {
        assert_eq!(
            bytea_array_literal(&[[1u8, 2], [0xab, 0xcd]]),
            r#"{"\\x0102","\\xabcd"}"#
        );
        assert_eq!(bytea_array_literal::<[u8; 1]>(&[]), "{}");
        assert_eq!(int_array_literal(&[100u16, 250]), "{100,250}");
    }
}
