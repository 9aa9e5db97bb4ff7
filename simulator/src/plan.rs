//! The economy as a deterministic plan: who exists, who funds whom, and who pays whom on which
//! simulated day through which path. Pure data derived from a seed and a [`Scale`], so the same
//! seed gives the same wallets (the labels file can be written before the run) and the same
//! schedule; the runner ([`crate::run`]) only executes it.
//!
//! Amounts are in milli-tokens (1/1000 of a whole token) and converted with each token's
//! decimals at run time. Every funding transfer is at least one whole token: the classifier
//! ignores smaller (dust) edges.

use alloy::primitives::keccak256;
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
            PayPath::Exact(_) => self.milli,
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

/// Whole tokens to milli-tokens.
pub(crate) const fn tokens(n: u64) -> u64 {
    n * 1000
}

/// The providers' indices among [`Plan::actors`] (built first, in this order).
pub mod providers {
    /// Pays itself now and then (self_payment); cashes out to an exchange weekly.
    pub const SELF_PAYER: usize = 0;
    /// The sybil farm's target.
    pub const FARMED: usize = 1;
    /// Declares a wallet of its own in the registry, which then pays it.
    pub const DECLARER: usize = 2;
    /// Runs the wash loop.
    pub const WASHER: usize = 3;
    /// An ordinary provider; cashes out to an exchange weekly.
    pub const PLAIN: usize = 4;
    /// How many providers there are.
    pub const COUNT: usize = 5;
}

/// Builds a plan; the economy's parts add actors, funding and payments to it.
pub(crate) struct Builder {
    pub(crate) seed: String,
    pub(crate) scale: Scale,
    pub(crate) rng: Rng,
    pub(crate) actors: Vec<Actor>,
    pub(crate) mints: Vec<(ActorId, Tok, u64)>,
    pub(crate) native: Vec<NativeTransfer>,
    pub(crate) days: Vec<Day>,
    /// Scenario of the actors added next.
    pub(crate) scenario: &'static str,
}

impl Builder {
    fn new(seed: &str, scale: Scale) -> Self {
        Builder {
            seed: seed.to_string(),
            scale,
            rng: Rng::new(&format!("{seed}/plan")),
            actors: Vec::new(),
            mints: Vec::new(),
            native: Vec::new(),
            days: vec![Day::default(); scale.days() as usize],
            scenario: "standard",
        }
    }

    fn finish(self) -> Plan {
        Plan {
            seed: self.seed,
            scale: self.scale,
            actors: self.actors,
            mints: self.mints,
            native: self.native,
            days: self.days,
        }
    }

    pub(crate) fn actor(
        &mut self,
        name: String,
        kind: Kind,
        payer_class: Option<Class>,
    ) -> ActorId {
        let signer = derive_signer(&self.seed, &name);
        self.actors.push(Actor {
            name,
            kind,
            signer,
            payer_class,
            scenario: self.scenario,
        });
        self.actors.len() - 1
    }

    /// A transfer on `day` in funding `stage` (before the day's payments).
    pub(crate) fn fund(
        &mut self,
        day: u32,
        stage: usize,
        from: ActorId,
        to: ActorId,
        token: Tok,
        milli: u64,
    ) {
        debug_assert!(milli >= tokens(1), "funding below the dust threshold");
        self.transfer(day, stage, from, to, token, milli);
    }

    /// A transfer on `day` in funding `stage`, of any amount (dust on purpose).
    pub(crate) fn transfer(
        &mut self,
        day: u32,
        stage: usize,
        from: ActorId,
        to: ActorId,
        token: Tok,
        milli: u64,
    ) {
        let stages = &mut self.days[day as usize].funding;
        if stages.len() <= stage {
            stages.resize(stage + 1, Vec::new());
        }
        stages[stage].push(Transfer {
            from,
            to,
            token,
            milli,
        });
    }

    /// A transfer on `day` in after-payment `stage`.
    pub(crate) fn after(&mut self, day: u32, stage: usize, t: Transfer) {
        let stages = &mut self.days[day as usize].after;
        if stages.len() <= stage {
            stages.resize(stage + 1, Vec::new());
        }
        stages[stage].push(t);
    }

    pub(crate) fn pay(
        &mut self,
        day: u32,
        payer: ActorId,
        payee: ActorId,
        token: Tok,
        milli: u64,
        path: PayPath,
    ) {
        let class = self.actors[payer].payer_class.expect("payers have a class");
        self.days[day as usize].payments.push(Payment {
            payer,
            payee,
            token,
            milli,
            path,
            class,
        });
    }

    /// A path for an agent whose style is 0 (exact), 1 (metered) or 2 (long jobs in escrow).
    pub(crate) fn path(&mut self, style: u8, milli: u64, batch: bool) -> PayPath {
        let via = if batch { Via::Batch } else { Via::Direct };
        let roll = self.rng.unit();
        let kind = match style {
            0 => {
                if roll < 0.8 {
                    0
                } else if roll < 0.95 {
                    1
                } else {
                    2
                }
            }
            1 => {
                if roll < 0.2 {
                    0
                } else if roll < 0.9 {
                    1
                } else {
                    2
                }
            }
            _ => {
                if roll < 0.25 {
                    0
                } else if roll < 0.4 {
                    1
                } else {
                    2
                }
            }
        };
        match kind {
            0 => PayPath::Exact(via),
            1 => PayPath::Upto {
                via,
                used: (milli as f64 * (0.3 + 0.7 * self.rng.unit()))
                    .round()
                    .max(1.0) as u64,
            },
            _ => {
                let captured = (milli as f64 * (0.4 + 0.5 * self.rng.unit()))
                    .round()
                    .max(2.0) as u64;
                let captures = if self.rng.chance(0.5) {
                    vec![captured]
                } else {
                    vec![captured / 2, captured - captured / 2]
                };
                let refund = if self.rng.chance(0.3) {
                    captured / 4
                } else {
                    0
                };
                let end = if self.rng.chance(0.65) {
                    EscrowEnd::Void
                } else {
                    EscrowEnd::Reclaim
                };
                PayPath::Escrow {
                    captures,
                    refund,
                    end,
                }
            }
        }
    }
}

/// Milli-tokens a payment takes from the payer's balance at its peak (escrows pull the maximum).
fn outlay(p: &Payment) -> u64 {
    p.milli
}

/// Builds the standard economy for `seed` at `scale`.
pub fn build(seed: &str, scale: Scale) -> Plan {
    build_economy(seed, scale, Economy::Standard)
}

/// Builds `economy` for `seed` at `scale`. The standard part is the same whether or not the
/// adversary runs beside it (the adversary draws from its own random stream).
pub fn build_economy(seed: &str, scale: Scale, economy: Economy) -> Plan {
    let mut b = Builder::new(seed, scale);
    match economy {
        Economy::Standard => {
            standard(&mut b);
        }
        Economy::Adversarial => {
            let (exchanges, treasury) = backbone(&mut b, None);
            crate::adversary::scenarios(&mut b, &exchanges, treasury);
        }
        Economy::Combined => {
            let (exchanges, treasury) = standard(&mut b);
            crate::adversary::scenarios(&mut b, &exchanges, treasury);
        }
    }
    b.finish()
}

/// The exchange hot wallets (with their mints) and the treasury every economy has; the
/// treasury pays (as `internal`) when its class is given.
fn backbone(b: &mut Builder, treasury_class: Option<Class>) -> (Vec<ActorId>, ActorId) {
    let exchanges: Vec<ActorId> = (0..2)
        .map(|i| b.actor(format!("exchange-hot-wallet-{i}"), Kind::Exchange, None))
        .collect();
    for &e in &exchanges {
        for t in Tok::ALL {
            b.mints.push((e, t, tokens(10_000_000)));
        }
    }
    let treasury = b.actor("treasury".into(), Kind::Treasury, treasury_class);
    for t in Tok::ALL {
        b.mints.push((treasury, t, tokens(10_000_000)));
    }
    (exchanges, treasury)
}

/// The standard economy; returns its exchanges and treasury.
fn standard(b: &mut Builder) -> (Vec<ActorId>, ActorId) {
    let p: Vec<ActorId> = [
        "llm-chat",
        "image-gen",
        "embeddings",
        "code-review",
        "speech",
    ]
    .iter()
    .map(|n| b.actor(format!("provider-{n}"), Kind::Provider, None))
    .collect();
    // The self-paying provider's only payments are to itself.
    b.actors[p[providers::SELF_PAYER]].payer_class = Some(Class::SelfPayment);
    let (exchanges, treasury) = backbone(b, Some(Class::Internal));

    // Providers keep a float from an exchange (the withdrawal makes an exchange their first
    // funder, which links them to nobody).
    for (i, &pv) in p.iter().enumerate() {
        let float = if i == providers::WASHER {
            tokens(500)
        } else {
            tokens(30)
        };
        b.fund(0, 0, exchanges[i % 2], pv, Tok::Usdc, float);
    }

    project_wallets(b, &p, treasury);
    external_agents(b, &p, &exchanges);
    wash_loop(b, &p);
    sybil_farm(b, &p, &exchanges);
    declared_wallet(b, &p, &exchanges);
    self_payments(b, &p);
    cash_outs(b, &p, &exchanges);
    (exchanges, treasury)
}

/// Treasury, team, test agents, the faucet with its users and the grant users.
fn project_wallets(b: &mut Builder, p: &[ActorId], treasury: ActorId) {
    let days = b.scale.days();
    // The treasury buys credits from a provider once a week.
    for w in 0..b.scale.weeks {
        let pv = p[b.rng.range(0, providers::COUNT as u64 - 1) as usize];
        let amount = b.rng.jitter(tokens(20), 0.3);
        b.pay(
            w * 7 + 2,
            treasury,
            pv,
            Tok::Usdc,
            amount,
            PayPath::Exact(Via::Direct),
        );
    }
    for i in 0..2 {
        let team = b.actor(format!("team-{i}"), Kind::Team, Some(Class::Internal));
        b.fund(0, 0, treasury, team, Tok::Usdc, tokens(2_000));
        for d in 0..days {
            if b.rng.chance(0.5) {
                let pv = p[b.rng.range(0, providers::COUNT as u64 - 1) as usize];
                let amount = b.rng.range(200, 3_000);
                let path = b.path(1, amount, false);
                b.pay(d, team, pv, Tok::Usdc, amount, path);
            }
        }
    }
    // Test agents exercise every path every day, in both tokens.
    for i in 0..2 {
        let agent = b.actor(
            format!("test-agent-{i}"),
            Kind::TestAgent,
            Some(Class::Internal),
        );
        b.fund(0, 0, treasury, agent, Tok::Usdc, tokens(1_000));
        b.fund(0, 0, treasury, agent, Tok::Opg, tokens(1_000));
        for d in 0..days {
            for k in 0..2u32 {
                let pv = p[((d + k + i) as usize) % providers::COUNT];
                let token = if (d + k) % 3 == 0 {
                    Tok::Opg
                } else {
                    Tok::Usdc
                };
                let path = b.path(((d + k) % 3) as u8, 50, (d + k + i) % 2 == 0);
                b.pay(d, agent, pv, token, 50, path);
            }
        }
    }
    let faucet = b.actor("faucet".into(), Kind::Faucet, None);
    b.fund(0, 0, treasury, faucet, Tok::Usdc, tokens(100_000));
    // Airdrop waves: users arrive in the first weeks, burn their drip within days, most leave.
    let waves = (b.scale.weeks - 1).max(1);
    for i in 0..b.scale.faucet_users {
        let user = b.actor(
            format!("faucet-user-{i}"),
            Kind::FaucetUser,
            Some(Class::ProjectFunded),
        );
        let start = (i as u32 % waves) * 7 + b.rng.range(0, 2) as u32;
        let active = b.rng.range(3, 10) as u32;
        let mut spend = 0;
        for d in start..(start + active).min(days) {
            for _ in 0..b.rng.range(1, 3) {
                let pv = p[b.rng.range(0, providers::COUNT as u64 - 1) as usize];
                let amount = b.rng.range(100, 1_500);
                let batch = b.rng.chance(0.4);
                let path = b.path(0, amount, batch);
                b.pay(d, user, pv, Tok::Usdc, amount, path);
                spend += amount;
            }
        }
        b.fund(
            start,
            1,
            faucet,
            user,
            Tok::Usdc,
            (spend * 5 / 4).max(tokens(25)),
        );
    }
    for i in 0..b.scale.grant_users {
        let user = b.actor(
            format!("grant-user-{i}"),
            Kind::GrantUser,
            Some(Class::ProjectFunded),
        );
        let start = b.rng.range(1, 6) as u32;
        let mut spend = 0;
        for d in start..days {
            if b.rng.chance(0.7) {
                let pv = p[b.rng.range(0, providers::COUNT as u64 - 1) as usize];
                let amount = b.rng.range(300, 2_500);
                let path = b.path(2, amount, false);
                spend += amount;
                b.pay(d, user, pv, Tok::Usdc, amount, path);
            }
        }
        b.fund(
            start,
            0,
            treasury,
            user,
            Tok::Usdc,
            spend * 5 / 4 + tokens(2),
        );
    }
}

/// Organic agents: each funded from an exchange, paying one to three providers on its own
/// schedule; a quarter churn within two weeks, a quarter grow week over week.
fn external_agents(b: &mut Builder, p: &[ActorId], exchanges: &[ActorId]) {
    let days = b.scale.days();
    for i in 0..b.scale.externals {
        let agent = b.actor(
            format!("external-agent-{i}"),
            Kind::ExternalAgent,
            Some(Class::External),
        );
        let start = b.rng.range(0, (days as u64 * 6 / 10).max(1)) as u32;
        let lifecycle = b.rng.unit();
        let (end, growth) = if lifecycle < 0.25 {
            ((start + b.rng.range(4, 12) as u32).min(days), 0.0)
        } else if lifecycle < 0.5 {
            (days, 0.4)
        } else {
            (days, 0.0)
        };
        let rate = 0.4 + 0.9 * b.rng.unit();
        let n_providers = b.rng.range(1, 3) as usize;
        let mut mine: Vec<ActorId> = Vec::new();
        while mine.len() < n_providers {
            let pv = p[b.rng.range(0, providers::COUNT as u64 - 1) as usize];
            if !mine.contains(&pv) {
                mine.push(pv);
            }
        }
        let token = if b.rng.chance(0.75) {
            Tok::Usdc
        } else {
            Tok::Opg
        };
        let base = if token == Tok::Usdc {
            b.rng.range(20, 1_500)
        } else {
            b.rng.range(100, 5_000)
        };
        let style = b.rng.range(0, 2) as u8;
        let batch = b.rng.chance(0.4);
        let exchange = exchanges[i % exchanges.len()];
        // Weekly top-ups for agents that run longer than a week, so growing agents are funded
        // more than once; each top-up covers that week's outlay with a margin.
        let mut week_spend: Vec<u64> = vec![0; b.scale.weeks as usize];
        for d in start..end {
            let weeks_in = ((d - start) / 7) as f64;
            let weekend = if d % 7 >= 5 { 0.5 } else { 1.0 };
            let lambda = rate * (1.0 + growth * weeks_in) * weekend;
            let n = (lambda + b.rng.unit()).floor() as u64;
            for _ in 0..n {
                let pv = mine[b.rng.range(0, mine.len() as u64 - 1) as usize];
                let amount = b.rng.jitter(base, 0.3);
                let path = b.path(style, amount, batch);
                let pay = Payment {
                    payer: agent,
                    payee: pv,
                    token,
                    milli: amount,
                    path,
                    class: Class::External,
                };
                week_spend[((d - start) / 7) as usize] += outlay(&pay);
                b.days[d as usize].payments.push(pay);
            }
        }
        for (w, spend) in week_spend.iter().enumerate() {
            let day = start + 7 * w as u32;
            if day < end && *spend > 0 || w == 0 {
                b.fund(
                    day.min(days - 1),
                    0,
                    exchange,
                    agent,
                    token,
                    spend * 5 / 4 + tokens(2),
                );
            }
        }
    }
}

/// The wash loop: each wave the washing provider funds fresh wallets, they pay it a round
/// amount a few times a day, and sweep what is left back to it.
fn wash_loop(b: &mut Builder, p: &[ActorId]) {
    let days = b.scale.days();
    let washer = p[providers::WASHER];
    let waves = 2.min(b.scale.weeks as usize - 1).max(1);
    let per_wave = b.scale.wash_wallets.div_ceil(waves);
    let mut n = 0;
    for wave in 0..waves {
        let start = (7 * (wave as u32 + 1) + 1).min(days - 5);
        for _ in 0..per_wave {
            if n == b.scale.wash_wallets {
                break;
            }
            let w = b.actor(
                format!("wash-wallet-{n}"),
                Kind::WashWallet,
                Some(Class::SelfDealing),
            );
            n += 1;
            let funded = tokens(12);
            b.fund(start, 1, washer, w, Tok::Usdc, funded);
            let mut spent = 0;
            for d in start..start + 4 {
                for _ in 0..2 {
                    b.pay(
                        d,
                        w,
                        washer,
                        Tok::Usdc,
                        tokens(1),
                        PayPath::Exact(Via::Direct),
                    );
                    spent += tokens(1);
                }
            }
            b.after(
                start + 3,
                0,
                Transfer {
                    from: w,
                    to: washer,
                    token: Tok::Usdc,
                    milli: funded - spent,
                },
            );
        }
    }
}

/// The sybil farm: one funder, funded from an exchange, gives each of its wallets the same amount
/// on the same day; they all start paying the same provider the same amount within minutes.
fn sybil_farm(b: &mut Builder, p: &[ActorId], exchanges: &[ActorId]) {
    let days = b.scale.days();
    let farmed = p[providers::FARMED];
    let funder = b.actor("sybil-funder".into(), Kind::SybilFunder, None);
    let start = (days / 3).max(1);
    let each = tokens(5);
    b.fund(
        start,
        0,
        exchanges[0],
        funder,
        Tok::Usdc,
        each * b.scale.sybils as u64 + tokens(1),
    );
    for i in 0..b.scale.sybils {
        let s = b.actor(
            format!("sybil-{i}"),
            Kind::Sybil,
            Some(Class::SuspectedSybil),
        );
        b.fund(start, 1, funder, s, Tok::Usdc, each);
        for d in [start, start + 1, start + 2, start + 4] {
            if d < days {
                b.pay(d, s, farmed, Tok::Usdc, 250, PayPath::Exact(Via::Batch));
            }
        }
    }
}

/// A provider declares a wallet in the registry; the wallet, funded from an exchange, pays it.
fn declared_wallet(b: &mut Builder, p: &[ActorId], exchanges: &[ActorId]) {
    let days = b.scale.days();
    let declarer = p[providers::DECLARER];
    let w = b.actor(
        "declared-wallet".into(),
        Kind::DeclaredWallet,
        Some(Class::SelfDealing),
    );
    b.days[1].declarations.push((declarer, w));
    let mut spend = 0;
    for d in (2..days).step_by(2) {
        let amount = b.rng.range(1_000, 3_000);
        let path = b.path(1, amount, false);
        spend += amount;
        b.pay(d, w, declarer, Tok::Usdc, amount, path);
    }
    b.fund(2, 0, exchanges[1], w, Tok::Usdc, spend * 5 / 4 + tokens(2));
}

/// The self-paying provider pays itself in the last week.
fn self_payments(b: &mut Builder, p: &[ActorId]) {
    let days = b.scale.days();
    let pv = p[providers::SELF_PAYER];
    for d in [days - 6, days - 4, days - 2] {
        b.pay(d, pv, pv, Tok::Usdc, tokens(2), PayPath::Exact(Via::Direct));
    }
}

/// Two providers deposit 40% of the week's revenue (exact, upto and captures) to an exchange at
/// the end of each week: money from payees reaches an exchange that funds payers, which must
/// link nobody.
fn cash_outs(b: &mut Builder, p: &[ActorId], exchanges: &[ActorId]) {
    for &idx in &[providers::SELF_PAYER, providers::PLAIN] {
        let pv = p[idx];
        for w in 0..b.scale.weeks {
            for t in Tok::ALL {
                let revenue: u64 = (w * 7..w * 7 + 7)
                    .flat_map(|d| b.days[d as usize].payments.iter())
                    .filter(|x| x.payee == pv && x.token == t && x.payer != pv)
                    .map(Payment::settled_milli)
                    .sum();
                let deposit = revenue * 2 / 5;
                if deposit >= tokens(1) {
                    let last = w * 7 + 6;
                    b.after(
                        last,
                        0,
                        Transfer {
                            from: pv,
                            to: exchanges[0],
                            token: t,
                            milli: deposit,
                        },
                    );
                }
            }
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, HashSet};

    #[test]
    fn same_seed_same_economy() {
        let a = build("s", Scale::SMALL);
        let b = build("s", Scale::SMALL);
        assert_eq!(a.actors.len(), b.actors.len());
        for (x, y) in a.actors.iter().zip(&b.actors) {
            assert_eq!(x.signer.address(), y.signer.address());
        }
        assert_eq!(
            a.days
                .iter()
                .map(|d| d.payments.clone())
                .collect::<Vec<_>>(),
            b.days
                .iter()
                .map(|d| d.payments.clone())
                .collect::<Vec<_>>()
        );
        let c = build("t", Scale::SMALL);
        assert_ne!(a.actors[0].signer.address(), c.actors[0].signer.address());
    }

    #[test]
    fn every_class_and_path_appears() {
        for scale in [Scale::SMALL, Scale::MEDIUM] {
            let plan = build("demo", scale);
            let payments: Vec<&Payment> = plan.days.iter().flat_map(|d| &d.payments).collect();
            let classes: HashSet<Class> = payments.iter().map(|p| p.class).collect();
            assert_eq!(classes.len(), Class::ALL.len(), "{classes:?}");
            let labels: HashSet<String> = payments.iter().map(|p| p.path.label()).collect();
            for l in [
                "exact/direct",
                "exact/batch",
                "upto/direct",
                "upto/batch",
                "escrow/void",
                "escrow/reclaim",
                "escrow/void+refund",
            ] {
                assert!(labels.contains(l), "{l} missing from {labels:?}");
            }
            let sybils = plan.actors.iter().filter(|a| a.kind == Kind::Sybil).count();
            assert!(sybils >= 20);
        }
    }

    /// Replays the plan's token flows per wallet: nobody ever spends more than it holds, so every
    /// planned payment can settle (escrows pull their maximum; voids and reclaims return later).
    /// The named scales and the corners the CLI allows (2..=26 weeks, no externals, 5 sybils).
    fn scales() -> Vec<Scale> {
        let mut v = vec![Scale::SMALL, Scale::MEDIUM];
        for weeks in [2, 3, 5, 26] {
            v.push(Scale {
                weeks,
                ..Scale::SMALL
            });
        }
        v.push(Scale {
            externals: 0,
            sybils: 5,
            ..Scale::SMALL
        });
        v
    }

    /// Every economy at every scale of [`scales`].
    fn plans() -> Vec<Plan> {
        scales()
            .into_iter()
            .flat_map(|s| Economy::ALL.map(|e| build_economy("demo", s, e)))
            .collect()
    }

    #[test]
    fn nobody_overdraws() {
        for plan in plans() {
            let mut bal: BTreeMap<(ActorId, Tok), i128> = BTreeMap::new();
            for (a, t, m) in &plan.mints {
                *bal.entry((*a, *t)).or_default() += *m as i128;
            }
            let mut returns: Vec<(usize, (ActorId, Tok), i128)> = Vec::new();
            for (d, day) in plan.days.iter().enumerate() {
                for (_, key, amount) in returns.iter().filter(|r| r.0 == d) {
                    *bal.entry(*key).or_default() += amount;
                }
                for stage in &day.funding {
                    for t in stage {
                        *bal.entry((t.from, t.token)).or_default() -= t.milli as i128;
                        *bal.entry((t.to, t.token)).or_default() += t.milli as i128;
                    }
                }
                for x in &day.payments {
                    *bal.entry((x.payer, x.token)).or_default() -= x.milli as i128;
                    let b = bal[&(x.payer, x.token)];
                    assert!(
                        b >= 0,
                        "day {d}: {} overdraws {:?} ({b})",
                        plan.actors[x.payer].name,
                        x.token
                    );
                    // The payee side receives what settles (fees are at most 1%); the rest returns.
                    let settled = x.settled_milli() as i128;
                    *bal.entry((x.payee, x.token)).or_default() += settled * 99 / 100;
                    // A void returns the rest the same day, a reclaim two days later.
                    match &x.path {
                        PayPath::Escrow {
                            end: EscrowEnd::Reclaim,
                            ..
                        } => returns.push((d + 2, (x.payer, x.token), x.milli as i128 - settled)),
                        _ => {
                            *bal.entry((x.payer, x.token)).or_default() += x.milli as i128 - settled
                        }
                    }
                    if let PayPath::Escrow { refund, .. } = x.path {
                        *bal.entry((x.payee, x.token)).or_default() -= refund as i128;
                        *bal.entry((x.payer, x.token)).or_default() += refund as i128;
                    }
                }
                for t in day.after.iter().flatten() {
                    *bal.entry((t.from, t.token)).or_default() -= t.milli as i128;
                    assert!(
                        bal[&(t.from, t.token)] >= 0,
                        "day {d}: {} overdraws on transfer",
                        plan.actors[t.from].name
                    );
                    *bal.entry((t.to, t.token)).or_default() += t.milli as i128;
                }
                for ((a, _), b) in &bal {
                    assert!(*b >= 0, "day {d}: {} below zero", plan.actors[*a].name);
                }
            }
        }
    }

    #[test]
    fn funding_is_never_dust() {
        for plan in scales().into_iter().map(|s| build("demo", s)) {
            for day in &plan.days {
                for t in day.funding.iter().chain(&day.after).flatten() {
                    assert!(t.milli >= tokens(1), "{t:?}");
                }
            }
        }
    }

    /// The adversary's only sub-token transfers are its drips and its two stray dust transfers.
    #[test]
    fn adversarial_dust_is_the_drips_and_the_strays() {
        for scale in scales() {
            let plan = build_economy("demo", scale, Economy::Adversarial);
            let dust: Vec<&Transfer> = plan
                .days
                .iter()
                .flat_map(|d| d.funding.iter().chain(&d.after).flatten())
                .filter(|t| t.milli < tokens(1))
                .collect();
            let to = |t: &Transfer| plan.actors[t.to].name.as_str();
            assert_eq!(dust.len(), 2 * 30 + 2);
            assert_eq!(
                dust.iter()
                    .filter(|t| to(t).starts_with("drip-fed-") && t.milli == 990)
                    .count(),
                60
            );
            assert_eq!(
                dust.iter()
                    .filter(|t| to(t).starts_with("dusted-agent-"))
                    .count(),
                2
            );
        }
    }

    /// The standard part of the combined economy is the standard economy, wallet for wallet and
    /// payment for payment; the adversary only adds.
    #[test]
    fn combined_keeps_the_standard_economy() {
        let standard = build("demo", Scale::SMALL);
        let combined = build_economy("demo", Scale::SMALL, Economy::Combined);
        for (a, b) in standard.actors.iter().zip(&combined.actors) {
            assert_eq!(a.name, b.name);
            assert_eq!(a.payer_class, b.payer_class);
        }
        for (a, b) in standard.days.iter().zip(&combined.days) {
            assert_eq!(a.payments[..], b.payments[..a.payments.len()]);
        }
        let names: HashSet<&str> = combined.actors.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(
            names.len(),
            combined.actors.len(),
            "a name used twice is one wallet"
        );
    }

    /// The adversarial economy has the scenarios of issue 13 with their sizes and truths.
    #[test]
    fn adversarial_scenarios_and_truths() {
        let plan = build_economy("ci", Scale::SMALL, Economy::Adversarial);
        let payers = |scenario: &str| -> Vec<Class> {
            plan.payers()
                .filter(|(_, a, _)| a.scenario == scenario)
                .map(|(_, _, c)| c)
                .collect()
        };
        let expect = [
            ("deep-funding", Class::SelfDealing, 4),
            ("slow-wash", Class::SelfDealing, 3),
            ("long-wash", Class::SelfDealing, 3),
            ("mixed-provenance", Class::ProjectFunded, 3),
            ("sub-dust-drips", Class::ProjectFunded, 2),
            ("stray-dust", Class::External, 2),
            ("random-farm", Class::SuspectedSybil, 12),
            ("spread-farm", Class::SuspectedSybil, 25),
            ("gas-farm", Class::SuspectedSybil, 10),
            ("cashback", Class::External, 7),
            ("launch", Class::External, 10),
            ("organic", Class::External, 10),
        ];
        for (scenario, class, n) in expect {
            assert_eq!(payers(scenario), vec![class; n], "{scenario}");
        }
        assert_eq!(expect.map(|e| e.0), crate::adversary::SCENARIOS);
        // About the standard economy's size, so CI runs both in similar time.
        let n = plan.payment_count();
        assert!((450..=800).contains(&n), "{n} payments");
        // Every planned payer pays.
        let paying: HashSet<ActorId> = plan
            .days
            .iter()
            .flat_map(|d| &d.payments)
            .map(|p| p.payer)
            .collect();
        for (i, a, _) in plan.payers() {
            assert!(paying.contains(&i), "{} never pays", a.name);
        }
        // The gas farm's wallets get their ether from one wallet, the launch users theirs from
        // the exchanges, in real transfers.
        let from = |scenario: &str| -> Vec<&str> {
            plan.native
                .iter()
                .filter(|n| plan.actors[n.to].scenario == scenario)
                .map(|n| plan.actors[n.from].name.as_str())
                .collect()
        };
        assert_eq!(from("gas-farm"), vec!["gas-farm-funder"; 10]);
        let launch = from("launch");
        assert_eq!(launch.len(), 10);
        assert!(launch.iter().all(|f| f.starts_with("exchange-hot-wallet-")));
        assert_eq!(plan.native.len(), 20);
        // The spread farm pays three payees, nine or eight wallets each.
        let mut per_payee: BTreeMap<ActorId, HashSet<ActorId>> = BTreeMap::new();
        for p in plan.days.iter().flat_map(|d| &d.payments) {
            if plan.actors[p.payer].scenario == "spread-farm" {
                per_payee.entry(p.payee).or_default().insert(p.payer);
            }
        }
        assert_eq!(per_payee.len(), 3);
        // Farms randomise: no amount is shared by most of a farm's payments.
        for farm in ["random-farm", "spread-farm", "gas-farm"] {
            let amounts: Vec<u64> = plan
                .days
                .iter()
                .flat_map(|d| &d.payments)
                .filter(|p| plan.actors[p.payer].scenario == farm)
                .map(|p| p.milli)
                .collect();
            let mut counts: BTreeMap<u64, usize> = BTreeMap::new();
            for a in &amounts {
                *counts.entry(*a).or_default() += 1;
            }
            let top = counts.values().max().copied().unwrap_or(0);
            assert!(
                amounts.len() > 40 && top * 10 < amounts.len(),
                "{farm}: {top} of {}",
                amounts.len()
            );
        }
    }

    /// The slow wash returns 90% of each day's payments exactly eight days later; the long wash
    /// returns each payment the same day over four transfers of the same amount.
    #[test]
    fn wash_returns_are_slow_or_long() {
        let plan = build_economy("ci", Scale::SMALL, Economy::Adversarial);
        let named = |n: &str| plan.actors.iter().position(|a| a.name == n).unwrap();
        let slow = named("slow-wash-0");
        let washer = named("provider-slow-rinse");
        for (d, day) in plan.days.iter().enumerate() {
            let paid: u64 = day
                .payments
                .iter()
                .filter(|p| p.payer == slow)
                .map(|p| p.milli)
                .sum();
            let back: u64 = plan
                .days
                .get(d + 8)
                .map(|x| {
                    x.after
                        .iter()
                        .flatten()
                        .filter(|t| t.from == washer && t.to == slow)
                        .map(|t| t.milli)
                        .sum()
                })
                .unwrap_or(0);
            if paid >= 2_000 && d + 8 < plan.days.len() {
                assert_eq!(back, paid * 9 / 10, "day {d}");
            }
            let early: u64 = day
                .after
                .iter()
                .flatten()
                .filter(|t| t.from == washer && t.to == slow)
                .count() as u64;
            assert!(d >= 9 || early == 0, "a return within 8 days on day {d}");
        }
        let long = named("long-wash-0");
        for day in &plan.days {
            for p in day.payments.iter().filter(|p| p.payer == long) {
                assert_eq!(day.after.len(), 4);
                for stage in &day.after {
                    assert!(stage.iter().any(|t| t.milli == p.milli));
                }
                assert!(day.after[0]
                    .iter()
                    .any(|t| t.from == p.payee && t.milli == p.milli));
                assert!(day.after[3]
                    .iter()
                    .any(|t| t.to == long && t.milli == p.milli));
            }
        }
    }

    #[test]
    fn labels_file_names_the_exchanges() {
        let plan = build("demo", Scale::SMALL);
        let text = plan.labels_toml(31337);
        assert_eq!(text.matches("kind = \"exchange\"").count(), 2);
        for e in plan.exchanges() {
            assert!(text.contains(&format!("{:#x}", e.signer.address())));
        }
    }
}
