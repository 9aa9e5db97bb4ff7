//! The simulated economies at CI size, end to end: anvil with the real deploy script, the two
//! facilitator services (the `x402-facilitator` library's service and router on real sockets,
//! one settling alone and one batching, each with its own database), the simulator paying
//! through them over HTTP for four simulated weeks, the indexer backfilling to the head, the
//! classifier classifying with the simulator's exchange labels imported, and the classifier's
//! verdicts scored against the simulator's ground truth. Both economies pay both ways: Permit2
//! witness payments (our client) and standard x402 EIP-3009 authorizations of USDC (the SDK's
//! payload), and both must be settled, indexed and classified right.
//!
//! Standard economy: precision and recall >= 0.9 per class present, for payments, for payers
//! and for each token's volume.
//! Every actor of the economy is built to match exactly one rule (see
//! `simulator/src/plan/standard.rs`), so a correct classifier scores 1.0; 0.9 tolerates
//! threshold tuning at the margins while any rule regressing on a group of actors (the smallest
//! groups, a self-paying provider and a declared wallet, make up more than 10% of their classes)
//! fails the test.
//!
//! Adversarial economy (`simulator/src/adversary.rs`, issue 13): `external` precision of at
//! least 0.95 over payers and over volume (what the organic figure is made of), and precision
//! and recall of at least 0.9 over payers and over volume for every class present. Built from
//! the adversary's side, not from the rules: the smallest scenarios (two or three wallets) are
//! each more than 10% of their class's payers, so a pattern the rules miss fails the test.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use alloy::signers::local::PrivateKeySigner;
use tokio_util::sync::CancellationToken;
use x402_classifier::config::RuleConfig;
use x402_classifier::incremental::{Follower, Step};
use x402_facilitator::config::{Contracts, SettleConfig};
use x402_facilitator::service::{Service, ServiceConfig};
use x402_simulator::chain::{Chain, Deployment};
use x402_simulator::facilitator::Facilitator;
use x402_simulator::plan::Plan;
use x402_simulator::progress::{Mode, Progress};
use x402_simulator::run::{Env, RunOptions};
use x402_simulator::{build, build_economy, score, Class, Economy, Scale, Truth};
use x402_testkit::{DevChain, TestDb};

/// anvil's second and third development keys.
const DIRECT_KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const BATCH_KEY: &str = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
const MIN_SCORE: f64 = 0.9;
/// Precision `external` must keep on the adversarial economy (issue 13).
const MIN_EXTERNAL_PRECISION: f64 = 0.95;

/// Starts a facilitator service on a free port; it stops when the test's runtime ends.
async fn facilitator(chain: &DevChain, db: &TestDb, key: &str, batching: bool) -> String {
    let (contracts, chain_id) =
        Contracts::from_deployment_file(&chain.deployment_file).expect("deployment file");
    let settle = SettleConfig {
        fee_bps: if batching { 10 } else { 25 },
        batching,
        batch_max_wait: Duration::from_millis(300),
        receipt_poll: Duration::from_millis(20),
        ..SettleConfig::default()
    };
    let service = Service::start(ServiceConfig {
        rpc_url: chain.anvil.url().parse().unwrap(),
        contracts,
        chain_id: Some(chain_id),
        signer: key.parse::<PrivateKeySigner>().unwrap(),
        database_url: db.url(),
        settle,
    })
    .await
    .expect("facilitator service starts");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            x402_facilitator::api::router(Arc::clone(&service)),
        )
        .await
    });
    format!("http://{addr}")
}

fn check(what: &str, scores: &score::Scores) -> Vec<String> {
    let mut failures = Vec::new();
    if scores.missing > 0 {
        failures.push(format!("{what}: {} without a verdict", scores.missing));
    }
    for c in scores.classes.iter().filter(|c| c.truth > 0) {
        let (p, r) = (c.precision().unwrap_or(0.0), c.recall().unwrap_or(0.0));
        if p < MIN_SCORE || r < MIN_SCORE {
            failures.push(format!(
                "{what} of class {}: precision {p:.3}, recall {r:.3} (need {MIN_SCORE})",
                c.class
            ));
        }
    }
    failures
}

/// Both ways of paying settled and were indexed: the EIP-3009 payments (the x402 SDK's payload,
/// settled through `chargeWithAuthorization`) as `settlement_eip3009` payments, one per payment
/// the simulation settled that way, beside the Permit2 ones; and each way's payments were
/// classified as they were built, at the same bar as the rest.
async fn check_both_signatures(
    pool: &sqlx::PgPool,
    truth: &Truth,
    stats: &x402_simulator::run::Stats,
    s: &score::Score,
) -> Vec<String> {
    let sources: std::collections::BTreeMap<String, i64> =
        sqlx::query_as("select source, count(*) from payments where chain_id = $1 group by source")
            .bind(truth.chain_id as i64)
            .fetch_all(pool)
            .await
            .unwrap()
            .into_iter()
            .collect();
    let mut failures = Vec::new();
    let eip3009 = sources.get("settlement_eip3009").copied().unwrap_or(0);
    if stats.eip3009 == 0 || eip3009 != stats.eip3009 as i64 {
        failures.push(format!(
            "{} EIP-3009 payments settled, {eip3009} indexed (sources {sources:?})",
            stats.eip3009
        ));
    }
    if sources.get("settlement").copied().unwrap_or(0) == 0 {
        failures.push(format!("no Permit2 payment indexed (sources {sources:?})"));
    }
    let kinds: Vec<&str> = s.signatures.iter().map(|x| x.signature).collect();
    if kinds != ["Permit2", "EIP-3009"] {
        failures.push(format!("payments scored by signature: {kinds:?}"));
    }
    for x in &s.signatures {
        let right = x.correct as f64 / x.payments as f64;
        if right < MIN_SCORE {
            failures.push(format!(
                "{} payments classified right: {right:.3} (need {MIN_SCORE})",
                x.signature
            ));
        }
    }
    failures
}

/// Everything an economy runs against: anvil with the contracts, the database of the indexer
/// and the classifier (migrated for the indexer), and the simulator's connections to the chain
/// and the two facilitators.
struct Stack {
    chain: DevChain,
    db: TestDb,
    env: Env,
    _facilitator_dbs: (TestDb, TestDb),
}

impl Stack {
    async fn start(plan: &Plan) -> Stack {
        let chain = DevChain::start().await.expect("anvil + deploy script");
        let db = TestDb::create()
            .await
            .expect("database for the indexer and classifier");
        let (fac_db, batch_db) = (
            TestDb::create().await.unwrap(),
            TestDb::create().await.unwrap(),
        );
        // The indexer's schema first: the classifier's builds on it.
        x402_indexer::migrate(&db.url(), &CancellationToken::new())
            .await
            .expect("indexer migrations");
        let direct = Facilitator::connect(&facilitator(&chain, &fac_db, DIRECT_KEY, false).await)
            .await
            .unwrap();
        let batch = Facilitator::connect(&facilitator(&chain, &batch_db, BATCH_KEY, true).await)
            .await
            .unwrap();
        let deployment = Deployment::read(&chain.deployment_file).unwrap();
        let owner = x402_simulator::ANVIL_OWNER_KEY.parse().unwrap();
        let sim_chain = Chain::connect(
            &chain.anvil.url(),
            deployment,
            owner,
            plan.actors.iter().map(|a| a.signer.clone()),
        )
        .await
        .expect("simulator connects");
        let env = Env {
            chain: sim_chain,
            direct,
            batch,
            options: RunOptions::default(),
        };
        Stack {
            chain,
            db,
            env,
            _facilitator_dbs: (fac_db, batch_db),
        }
    }

    /// Drives `plan`; every planned payment settles.
    async fn simulate(&self, plan: &Plan) -> (Truth, x402_simulator::run::Stats) {
        let started = std::time::Instant::now();
        let (truth, stats) = x402_simulator::run::run(&self.env, plan, &Progress::new(Mode::Lines))
            .await
            .expect("simulation runs");
        eprintln!(
            "simulation: {:.1} s, {stats:?}",
            started.elapsed().as_secs_f64()
        );
        assert!(
            stats.refused.is_empty(),
            "refused payments: {:#?}",
            stats.refused
        );
        assert_eq!(stats.payments as usize, plan.payment_count());
        (truth, stats)
    }

    /// Indexes the chain to its head, imports the exchange labels and classifies from scratch.
    async fn classify(&self, plan: &Plan, truth: &Truth) -> sqlx::PgPool {
        let mut config = x402_indexer::Config::for_deployment(
            self.chain.anvil.url().parse().unwrap(),
            self.db.url(),
            &x402_indexer::config::Deployment::load(&self.chain.deployment_file).unwrap(),
        );
        config.exit_when_caught_up = true;
        config.progress = x402_indexer::config::ProgressMode::Off;
        tokio::time::timeout(
            Duration::from_secs(180),
            x402_indexer::run(config, CancellationToken::new()),
        )
        .await
        .expect("indexer caught up in time")
        .expect("indexer ran");

        let pool = x402_classifier::db::connect(&self.db.url()).await.unwrap();
        x402_classifier::db::migrate(&pool).await.unwrap();
        let labels_file = x402_testkit::paths::scratch_dir("sim-labels")
            .unwrap()
            .join(format!("labels-{}.toml", self.db.name()));
        std::fs::write(&labels_file, plan.labels_toml(truth.chain_id)).unwrap();
        let labels = x402_classifier::labels::read_label_file(&labels_file, truth.chain_id as i64)
            .expect("labels file parses");
        assert_eq!(
            x402_classifier::db::write::import_file_labels(&pool, &labels)
                .await
                .unwrap(),
            2
        );
        let step = Follower::new(
            pool.clone(),
            RuleConfig::default(),
            Some(truth.chain_id as i64),
        )
        .from_scratch("simulator test")
        .await
        .expect("classification");
        assert!(matches!(step, Step::Full { .. }), "{step:?}");
        score::wait_for_classifier(
            &pool,
            truth.chain_id,
            truth.last_block,
            Duration::from_secs(5),
        )
        .await
        .expect("the classifier covered the simulation's last block");
        pool
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_classifier_recovers_the_simulated_economy() {
    let plan = build("ci", Scale::SMALL);
    let stack = Stack::start(&plan).await;
    let env = &stack.env;
    let (truth, stats) = stack.simulate(&plan).await;
    for path in [
        "exact/direct",
        "exact/batch",
        "exact/eip3009",
        "upto/direct",
        "upto/batch",
        "escrow/void",
        "escrow/reclaim",
    ] {
        assert!(
            stats.by_path.get(path).copied().unwrap_or(0) > 0,
            "no {path} payment: {:?}",
            stats.by_path
        );
    }
    assert!(
        stats.batches > 0
            && stats.captures > 0
            && stats.voids > 0
            && stats.refunds > 0
            && stats.reclaims > 0,
        "{stats:?}"
    );
    // A second run of the same economy on the same deployment is refused before it sends anything.
    let again = x402_simulator::run::run(env, &plan, &Progress::new(Mode::Off))
        .await
        .unwrap_err();
    assert!(
        again.to_string().contains("already ran on this deployment"),
        "{again}"
    );

    let pool = stack.classify(&plan, &truth).await;
    truth.write_table(&pool).await.unwrap();
    let rows: i64 = sqlx::query_scalar("select count(*) from sim_truth")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows as usize, truth.payers.len() + truth.payments.len());
    let standard: i64 =
        sqlx::query_scalar("select count(*) from sim_truth where scenario = 'standard'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        standard, rows,
        "every row of the standard economy names its scenario"
    );

    let s = score::score(&pool, &truth, &env.chain.deployment.tokens)
        .await
        .unwrap();
    eprintln!("{}", score::render_score(&s));
    let present: Vec<Class> = s
        .payments
        .classes
        .iter()
        .filter(|c| c.truth > 0)
        .map(|c| c.class)
        .collect();
    assert_eq!(present, Class::ALL.to_vec(), "the economy has every class");
    let mut failures = check("payments", &s.payments);
    failures.extend(check("payers", &s.payers));
    failures.extend(check_both_signatures(&pool, &truth, &stats, &s).await);
    assert_eq!(s.volume.len(), 2, "both tokens' volume is scored");
    for (token, _, v) in &s.volume {
        failures.extend(check(&format!("{token} volume"), v));
    }
    assert!(
        failures.is_empty(),
        "{}\n{}",
        failures.join("\n"),
        score::render_score(&s)
    );

    // The truth file round-trips for `x402-sim report`.
    let file = x402_testkit::paths::scratch_dir("sim-truth")
        .unwrap()
        .join("truth.json");
    truth.write_json(&file).unwrap();
    assert_eq!(Truth::read_json(&file).unwrap(), truth);
}

/// The adversarial economy of issue 13 (deep funding, slow and long wash, mixed provenance,
/// sub-dust drips, randomising and gas-funded farms, beside cashback customers, a launch day
/// and organic customers) through the same stack.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_organic_figure_survives_the_adversarial_economy() {
    let plan = build_economy("ci", Scale::SMALL, Economy::Adversarial);
    let stack = Stack::start(&plan).await;
    let (truth, stats) = stack.simulate(&plan).await;
    // The ether of the gas farm (from one wallet) and of the launch users (from the exchanges)
    // arrived in real transactions, and paid for the wallets' approvals.
    for n in &plan.native {
        let to = plan.actors[n.to].signer.address();
        let nonce = alloy::providers::Provider::get_transaction_count(stack.env.chain.reader(), to)
            .await
            .unwrap();
        assert!(
            nonce >= 2,
            "{to} sent its approvals with the ether it was sent"
        );
    }

    let pool = stack.classify(&plan, &truth).await;
    truth.write_table(&pool).await.unwrap();
    let scenarios: Vec<String> = sqlx::query_scalar(
        "select distinct scenario from sim_truth where kind = 'payer' order by scenario",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut expected = x402_simulator::adversary::SCENARIOS
        .map(String::from)
        .to_vec();
    expected.sort();
    assert_eq!(scenarios, expected, "every scenario's payers paid");
    let s = score::score(&pool, &truth, &stack.env.chain.deployment.tokens)
        .await
        .unwrap();
    let report = format!(
        "{}\nconfusion matrices (rows: truth, columns: verdict):\n{}",
        score::render_score(&s),
        score::render_matrices(&s)
    );
    let present: Vec<Class> = s
        .payers
        .classes
        .iter()
        .filter(|c| c.truth > 0)
        .map(|c| c.class)
        .collect();
    assert_eq!(
        present,
        [
            Class::SelfDealing,
            Class::ProjectFunded,
            Class::SuspectedSybil,
            Class::External
        ],
        "the adversarial economy's classes"
    );
    let volume: Vec<(String, &score::Scores)> = s
        .volume
        .iter()
        .map(|(t, _, v)| (format!("{t} volume"), v))
        .collect();
    let mut failures = check_both_signatures(&pool, &truth, &stats, &s).await;
    for (what, side) in [("payers".to_string(), &s.payers)]
        .into_iter()
        .chain(volume.iter().map(|(w, v)| (w.clone(), *v)))
    {
        let external = side.class(Class::External);
        let p = external.precision().unwrap_or(0.0);
        if p < MIN_EXTERNAL_PRECISION {
            failures.push(format!(
                "external precision over {what}: {p:.3} (need {MIN_EXTERNAL_PRECISION})"
            ));
        }
        failures.extend(check(&what, side));
    }
    assert!(failures.is_empty(), "{}\n\n{report}", failures.join("\n"));
    eprintln!("{report}");
}
