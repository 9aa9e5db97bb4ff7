//! Schemes, payment modes and networks: the names x402 and the settlement contract use for the
//! same choices.

/// The x402 `exact` scheme: settle exactly the signed amount.
pub const SCHEME_EXACT: &str = "exact";
/// The x402 `upto` scheme: settle any non-zero amount up to the signed maximum.
pub const SCHEME_UPTO: &str = "upto";
/// Our extension: pull up to the maximum into escrow now, capture with evidence later.
pub const SCHEME_ESCROW: &str = "escrow";

/// How a signed payment may be settled (`IX402Settlement.PaymentMode`, signed as `uint8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PaymentMode {
    /// Settle exactly the signed amount (`charge`).
    Exact = 0,
    /// Settle any non-zero amount up to the signed maximum (`charge`).
    Upto = 1,
    /// Pull up to the maximum into escrow, capture later (`authorize`, `capture`, ...).
    Escrow = 2,
}

/// A `uint8` that is no [`PaymentMode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0} is not a PaymentMode (0 exact, 1 upto, 2 escrow)")]
pub struct UnknownMode(pub u8);

impl TryFrom<u8> for PaymentMode {
    type Error = UnknownMode;

    fn try_from(value: u8) -> Result<Self, Self::Error> {
        match value {
            0 => Ok(Self::Exact),
            1 => Ok(Self::Upto),
            2 => Ok(Self::Escrow),
            other => Err(UnknownMode(other)),
        }
    }
}

impl PaymentMode {
    /// The scheme name this mode is offered under.
    pub fn scheme(self) -> &'static str {
        match self {
            PaymentMode::Exact => SCHEME_EXACT,
            PaymentMode::Upto => SCHEME_UPTO,
            PaymentMode::Escrow => SCHEME_ESCROW,
        }
    }

    /// The mode a scheme name signs as, if the scheme is one the settlement contract settles.
    pub fn of_scheme(scheme: &str) -> Option<Self> {
        match scheme {
            SCHEME_EXACT => Some(PaymentMode::Exact),
            SCHEME_UPTO => Some(PaymentMode::Upto),
            SCHEME_ESCROW => Some(PaymentMode::Escrow),
            _ => None,
        }
    }
}

/// The payment mode a scheme name signs as, if the scheme is one we settle.
pub fn mode_of_scheme(scheme: &str) -> Option<PaymentMode> {
    PaymentMode::of_scheme(scheme)
}

/// The scheme name a payment mode is offered under.
pub fn scheme_of_mode(mode: PaymentMode) -> &'static str {
    mode.scheme()
}

/// The CAIP-2 name of an EVM chain (`eip155:<chainId>`).
pub fn caip2(chain_id: u64) -> String {
    format!("eip155:{chain_id}")
}

/// The chain id in a CAIP-2 EVM network name, or `None` for anything else.
pub fn chain_id_of_network(network: &str) -> Option<u64> {
    network.strip_prefix("eip155:")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_and_schemes() {
        assert_eq!(chain_id_of_network("eip155:8453"), Some(8453));
        assert_eq!(chain_id_of_network("base-sepolia"), None);
        assert_eq!(caip2(31337), "eip155:31337");
        for m in [PaymentMode::Exact, PaymentMode::Upto, PaymentMode::Escrow] {
            assert_eq!(mode_of_scheme(scheme_of_mode(m)), Some(m));
            assert_eq!(PaymentMode::try_from(m as u8), Ok(m));
        }
        assert_eq!(mode_of_scheme("stream"), None);
        assert_eq!(PaymentMode::try_from(3), Err(UnknownMode(3)));
    }
}
