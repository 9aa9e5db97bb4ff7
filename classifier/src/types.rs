//! Small value types shared by every module: addresses, hashes, classes.

/// A 20-byte account address.
pub type Addr = [u8; 20];
/// A 32-byte hash (transaction hash, payment id).
pub type Hash32 = [u8; 32];

/// The zero address: the `from` of every mint. It links nobody.
pub const ZERO_ADDR: Addr = [0u8; 20];

/// `0x`-prefixed lowercase hex of any byte string.
pub fn hex0x(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

/// Parses a `0x`-prefixed 20-byte address; `field` names the input in the error.
pub fn parse_addr(s: &str, field: &str) -> Result<Addr, String> {
    let body = s
        .trim()
        .strip_prefix("0x")
        .or_else(|| s.trim().strip_prefix("0X"))
        .ok_or_else(|| {
            format!("{field}: `{s}` is not an address (expected 0x followed by 40 hex digits)")
        })?;
    let bytes = hex::decode(body).map_err(|e| format!("{field}: `{s}` is not valid hex ({e})"))?;
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| format!("{field}: `{s}` has {} bytes, an address has 20", b.len()))
}

pub use x402_domain::Class;

/// One rule that fired. Flags are stored as their names; the class is the first rule's class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Flag {
    /// payer = payee
    SelfPayment,
    /// payer labelled as an ecosystem wallet at the payment's block
    InternalWallet,
    /// payer is one of the payee's declared wallets
    DeclaredWallet,
    /// payer and payee within the funding-hop limit
    FundingLink,
    /// payer and payee share a first funder that is not an exchange/bridge
    SharedFirstFunder,
    /// enough of the amount flowed back from payee to payer
    FlowBack,
    /// enough of the spent tokens came from the payee or its declared wallets, at any depth
    PayeeFunds,
    /// FIFO provenance: enough of the spent tokens came from ecosystem wallets
    EcosystemFunds,
    /// the payer's first funder is an ecosystem wallet
    EcosystemFirstFunder,
    /// the payer's funding cluster looks like a sybil farm
    SybilCluster,
    /// funding traced to exchanges, bridges or unrelated wallets
    ExternalFunding,
    /// no funding history before the payment
    NoHistory,
}

impl Flag {
    /// The flag's name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Flag::SelfPayment => "self_payment",
            Flag::InternalWallet => "internal_wallet",
            Flag::DeclaredWallet => "declared_wallet",
            Flag::FundingLink => "funding_link",
            Flag::SharedFirstFunder => "shared_first_funder",
            Flag::FlowBack => "flow_back",
            Flag::PayeeFunds => "payee_funds",
            Flag::EcosystemFunds => "ecosystem_funds",
            Flag::EcosystemFirstFunder => "ecosystem_first_funder",
            Flag::SybilCluster => "sybil_cluster",
            Flag::ExternalFunding => "external_funding",
            Flag::NoHistory => "no_history",
        }
    }

    /// The class this flag's rule assigns when it is the first to fire.
    pub fn class(self) -> Class {
        match self {
            Flag::SelfPayment => Class::SelfPayment,
            Flag::InternalWallet => Class::Internal,
            Flag::DeclaredWallet
            | Flag::FundingLink
            | Flag::SharedFirstFunder
            | Flag::FlowBack
            | Flag::PayeeFunds => Class::SelfDealing,
            Flag::EcosystemFunds | Flag::EcosystemFirstFunder => Class::ProjectFunded,
            Flag::SybilCluster => Class::SuspectedSybil,
            Flag::ExternalFunding => Class::External,
            Flag::NoHistory => Class::Unattributed,
        }
    }
}
