//! The plan's data: scale, tokens, actors, payment paths, days, and the plan itself.

use alloy::signers::local::PrivateKeySigner;

use crate::truth::Class;

/// Index into [`Plan::actors`].
pub type ActorId = usize;

/// How big an economy to simulate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scale {
    /// Simulated weeks (a time-travel step per day).
    pub weeks: u32,
    /// External agents funded from exchanges.
    pub externals: usize,
    /// Wallets of the sybil farm (the classifier's unconditional group size is 20).
    pub sybils: usize,
    /// Users funded by the faucet.
    pub faucet_users: usize,
    /// Users funded by a treasury grant.
    pub grant_users: usize,
    /// Fresh wallets the wash-trading provider funds, over all its waves.
    pub wash_wallets: usize,
}

impl Scale {
    /// CI size: four weeks, a few hundred payments.
    pub const SMALL: Scale = Scale {
        weeks: 4,
        externals: 12,
        sybils: 22,
        faucet_users: 6,
        grant_users: 1,
        wash_wallets: 4,
    };
    /// Demo size: eight weeks, about two thousand payments.
    pub const MEDIUM: Scale = Scale {
        weeks: 8,
        externals: 60,
        sybils: 40,
        faucet_users: 24,
        grant_users: 3,
        wash_wallets: 10,
    };

    /// `small` or `medium`.
    pub fn named(name: &str) -> Option<Scale> {
        match name {
            "small" => Some(Self::SMALL),
            "medium" => Some(Self::MEDIUM),
            _ => None,
        }
    }

    /// Simulated days.
    pub fn days(&self) -> u32 {
        self.weeks * 7
    }
}

/// Payment tokens of the demo deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tok {
    /// DemoUSDC, 6 decimals.
    Usdc,
    /// DemoOPG, 18 decimals.
    Opg,
}

impl Tok {
    /// Both tokens.
    pub const ALL: [Tok; 2] = [Tok::Usdc, Tok::Opg];

    /// The symbol in `deployments/<chainId>.json`.
    pub fn symbol(self) -> &'static str {
        match self {
            Tok::Usdc => "USDC",
            Tok::Opg => "OPG",
        }
    }
}

/// What an actor is in the economy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Exchange hot wallet (labelled `exchange` in the local labels file).
    Exchange,
    /// Inference provider (a payee).
    Provider,
    /// Project treasury (registry role Treasury).
    Treasury,
    /// Team wallet (registry role Team).
    Team,
    /// The project's test agent (registry role Test).
    TestAgent,
    /// Faucet / airdrop wallet (registry role Faucet).
    Faucet,
    /// A user living on faucet tokens.
    FaucetUser,
    /// A user living on a treasury grant.
    GrantUser,
    /// An organic agent funded from an exchange.
    ExternalAgent,
    /// A fresh wallet of the wash-trading provider.
    WashWallet,
    /// The wallet that funds the sybil farm.
    SybilFunder,
    /// A sybil wallet.
    Sybil,
    /// A wallet a provider declared as its own in the registry.
    DeclaredWallet,
    /// A wallet of the adversarial economy (see [`crate::adversary`]): a payer, a relay between
    /// a funder and a payer, or a farm's funder.
    Adversary,
}

impl Kind {
    /// The EcosystemRegistry role (`IEcosystemRegistry.Role`) of project wallets.
    pub fn registry_role(self) -> Option<u8> {
        match self {
            Kind::Treasury => Some(0),
            Kind::Team => Some(1),
            Kind::Faucet => Some(3),
            Kind::TestAgent => Some(7),
            _ => None,
        }
    }
}

/// One wallet of the economy.
#[derive(Debug, Clone)]
pub struct Actor {
    /// Readable name (`external-agent-3`).
    pub name: String,
    /// Its part in the economy.
    pub kind: Kind,
    /// Its key (derived from the seed and the name).
    pub signer: PrivateKeySigner,
    /// The class its payments are meant to get, for actors that pay.
    pub payer_class: Option<Class>,
    /// The scenario it belongs to (`standard` for the standard economy; see
    /// [`crate::adversary`] for the others), so scores can be broken down by scenario.
    pub scenario: &'static str,
}

/// Which facilitator settles a charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The facilitator that settles each payment in its own `charge`.
    Direct,
    /// The facilitator in batching mode (`chargeBatch` with an evidence root).
    Batch,
}

/// How an escrow ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EscrowEnd {
    /// The facilitator voids the rest the same day.
    Void,
    /// Left open; the payer reclaims the rest after the authorization expires.
    Reclaim,
}

/// The x402 path of one payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayPath {
    /// `exact`: the signed amount settles.
    Exact(Via),
    /// `upto` (metered): `used` milli-tokens of the signed maximum settle.
    Upto {
        /// Facilitator.
        via: Via,
        /// Amount actually used.
        used: u64,
    },
    /// `exact` the standard x402 way (the SDK's payload for USDC): an EIP-3009
    /// `TransferWithAuthorization` signed under the token's EIP-712 domain, settled alone by the
    /// direct facilitator through `chargeWithAuthorization`, the evidence in the settle request's
    /// `evidence` extension. USDC only (FiatToken implements EIP-3009).
    Authorization,
    /// `escrow`: the maximum is authorized, `captures` are captured with evidence, the payee
    /// refunds `refund` (0 = none), then it ends as `end`.
    Escrow {
        /// Captured parts.
        captures: Vec<u64>,
        /// Refunded by the payee afterwards.
        refund: u64,
        /// Void or reclaim.
        end: EscrowEnd,
    },
}

impl PayPath {
    /// Short label for the truth file (`exact/direct`, `upto/batch`, `escrow/void+refund`).
    pub fn label(&self) -> String {
        let via = |v: &Via| if *v == Via::Direct { "direct" } else { "batch" };
        match self {
            PayPath::Exact(v) => format!("exact/{}", via(v)),
            PayPath::Authorization => "exact/eip3009".into(),
            PayPath::Upto { via: v, .. } => format!("upto/{}", via(v)),
            PayPath::Escrow { refund, end, .. } => format!(
                "escrow/{}{}",
                if *end == EscrowEnd::Void {
                    "void"
                } else {
                    "reclaim"
                },
                if *refund > 0 { "+refund" } else { "" }
            ),
        }
    }
}

/// One planned payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    /// Who pays.
    pub payer: ActorId,
    /// Who is paid.
    pub payee: ActorId,
    /// Token.
    pub token: Tok,
    /// Signed amount (exact) or maximum (upto, escrow), milli-tokens.
    pub milli: u64,
    /// Path.
    pub path: PayPath,
    /// Intended class.
    pub class: Class,
}

impl Payment {
    /// Milli-tokens that reach the payee side (before refunds).
    pub fn settled_milli(&self) -> u64 {
        match &self.path {
            PayPath::Exact(_) | PayPath::Authorization => self.milli,
            PayPath::Upto { used, .. } => *used,
            PayPath::Escrow { captures, .. } => captures.iter().sum(),
        }
    }
}

/// A plain ERC-20 transfer (funding, sweep, deposit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transfer {
    /// Sender.
    pub from: ActorId,
    /// Recipient.
    pub to: ActorId,
    /// Token.
    pub token: Tok,
    /// Milli-tokens.
    pub milli: u64,
}

/// What happens on one simulated day, in order.
#[derive(Debug, Clone, Default)]
pub struct Day {
    /// Registry declarations (payee, wallet) made this day.
    pub declarations: Vec<(ActorId, ActorId)>,
    /// Funding in stages: a stage may spend what earlier stages delivered.
    pub funding: Vec<Vec<Transfer>>,
    /// Payments (concurrent across payers, in order per payer).
    pub payments: Vec<Payment>,
    /// Transfers after the payments (sweeps back to the wash provider, deposits to exchanges,
    /// returns along a path), in stages like `funding`.
    pub after: Vec<Vec<Transfer>>,
}

/// Ether sent in a real transaction at set-up (every other wallet gets its gas from anvil's
/// `anvil_setBalance`, which leaves no trace on chain).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NativeTransfer {
    /// Sender.
    pub from: ActorId,
    /// Recipient (gets no ether otherwise).
    pub to: ActorId,
    /// Wei.
    pub wei: u128,
}

/// Which economy to simulate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Economy {
    /// The standard demo economy: every actor built to match one rule of the product spec.
    Standard,
    /// The adversary's scenarios and the guards ([`crate::adversary`]), on their own: payees
    /// inflating their numbers the ways the product spec's rules miss, and honest patterns that
    /// must not be mistaken for them.
    Adversarial,
    /// Both on one chain: the standard economy with the adversary operating inside it.
    Combined,
}

impl Economy {
    /// Every economy.
    pub const ALL: [Economy; 3] = [Economy::Standard, Economy::Adversarial, Economy::Combined];

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Economy::Standard => "standard",
            Economy::Adversarial => "adversarial",
            Economy::Combined => "combined",
        }
    }
}

/// The whole economy.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Seed it was derived from.
    pub seed: String,
    /// Its size.
    pub scale: Scale,
    /// Every wallet.
    pub actors: Vec<Actor>,
    /// Tokens minted at set-up (to exchanges and the treasury).
    pub mints: Vec<(ActorId, Tok, u64)>,
    /// Ether sent at set-up in real transactions (a farm's gas).
    pub native: Vec<NativeTransfer>,
    /// Days, from 0.
    pub days: Vec<Day>,
}

/// Whole tokens to milli-tokens.
pub(crate) const fn tokens(n: u64) -> u64 {
    n * 1000
}

impl Plan {
    /// The actors that pay, with their intended class.
    pub fn payers(&self) -> impl Iterator<Item = (ActorId, &Actor, Class)> {
        self.actors
            .iter()
            .enumerate()
            .filter_map(|(i, a)| a.payer_class.map(|c| (i, a, c)))
    }

    /// Every exchange hot wallet.
    pub fn exchanges(&self) -> impl Iterator<Item = &Actor> {
        self.actors.iter().filter(|a| a.kind == Kind::Exchange)
    }

    /// Number of planned payments.
    pub fn payment_count(&self) -> usize {
        self.days.iter().map(|d| d.payments.len()).sum()
    }

    /// The local labels file (TOML, `x402-classifier labels import`) naming the exchange hot
    /// wallets; the project's own wallets are labelled on chain through the registry instead.
    pub fn labels_toml(&self, chain_id: u64) -> String {
        let mut out = String::from(
            "# Written by x402-sim: the simulated economy's exchange hot wallets.\n\
             # Import with: x402-classifier --chain-id <id> labels import <this file>\n",
        );
        for a in self.exchanges() {
            out.push_str(&format!(
                "\n[[label]]\naddress = \"{:#x}\"\nkind = \"exchange\"\nnote = \"{} (simulated)\"\nchain_id = {chain_id}\n",
                a.signer.address(),
                a.name
            ));
        }
        out
    }
}
