//! The stack the simulator's end-to-end tests run against: anvil with the real deploy script, two
//! facilitator services, a database migrated for the indexer, and helpers to index the chain
//! (full or scoped lineage) and classify it with the simulator's exchange labels imported.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use alloy::signers::local::PrivateKeySigner;
use tokio_util::sync::CancellationToken;
use x402_classifier::{Follower, RuleConfig, Step};
use x402_domain::Deployment;
use x402_facilitator::{Contracts, Service, ServiceConfig, SettleConfig};
use x402_simulator::{Chain, Env, Facilitator, Mode, Plan, Progress, RunOptions, Truth};
use x402_testkit::{DevChain, TestDb};

/// anvil's second and third development keys.
const DIRECT_KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const BATCH_KEY: &str = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";

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
        axum::serve(listener, x402_facilitator::router(Arc::clone(&service))).await
    });
    format!("http://{addr}")
}

/// Everything an economy runs against: anvil with the contracts, the database of the indexer
/// and the classifier (migrated for the indexer), and the simulator's connections to the chain
/// and the two facilitators.
pub struct Stack {
    pub chain: DevChain,
    pub db: TestDb,
    pub env: Env,
    _facilitator_dbs: (TestDb, TestDb),
}

impl Stack {
    pub async fn start(plan: &Plan) -> Stack {
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
    pub async fn simulate(&self, plan: &Plan) -> (Truth, x402_simulator::Stats) {
        let started = std::time::Instant::now();
        let (truth, stats) = x402_simulator::run(&self.env, plan, &Progress::new(Mode::Lines))
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
    pub async fn classify(&self, plan: &Plan, truth: &Truth) -> sqlx::PgPool {
        self.index(
            &self.db,
            x402_indexer::config::Lineage::default(),
            CancellationToken::new(),
        )
        .await;
        self.classify_db(&self.db, plan, truth).await
    }

    /// An indexer configuration for this chain writing into `db`, with `lineage`.
    pub fn indexer_config(
        &self,
        db: &TestDb,
        lineage: x402_indexer::config::Lineage,
    ) -> x402_indexer::Config {
        let mut config = x402_indexer::Config::for_deployment(
            self.chain.anvil.url().parse().unwrap(),
            db.url(),
            &x402_indexer::config::Deployment::read(&self.chain.deployment_file).unwrap(),
        );
        config.exit_when_caught_up = true;
        config.progress = x402_indexer::config::ProgressMode::Off;
        config.lineage = lineage;
        config
    }

    /// Indexes the chain into `db` until caught up (or until `stop` fires).
    pub async fn index(
        &self,
        db: &TestDb,
        lineage: x402_indexer::config::Lineage,
        stop: CancellationToken,
    ) {
        tokio::time::timeout(
            Duration::from_secs(180),
            x402_indexer::run(self.indexer_config(db, lineage), stop),
        )
        .await
        .expect("indexer caught up in time")
        .expect("indexer ran");
    }

    /// Imports the exchange labels into `db` (indexed) and classifies it from scratch.
    pub async fn classify_db(&self, db: &TestDb, plan: &Plan, truth: &Truth) -> sqlx::PgPool {
        let pool = self.import_labels(db, plan, truth).await;
        self.classify_labelled(pool, truth).await
    }

    /// Migrates the classifier's tables into `db` (already migrated for the indexer) and imports
    /// the simulator's exchange labels.
    pub async fn import_labels(&self, db: &TestDb, plan: &Plan, truth: &Truth) -> sqlx::PgPool {
        let pool = x402_classifier::connect(&db.url()).await.unwrap();
        x402_classifier::migrate(&pool).await.unwrap();
        let labels_file = x402_testkit::paths::scratch_dir("sim-labels")
            .unwrap()
            .join(format!("labels-{}.toml", db.name()));
        std::fs::write(&labels_file, plan.labels_toml(truth.chain_id)).unwrap();
        let labels = x402_classifier::read_label_file(&labels_file, truth.chain_id as i64)
            .expect("labels file parses");
        assert_eq!(
            x402_classifier::import_file_labels(&pool, &labels)
                .await
                .unwrap(),
            2
        );
        pool
    }

    /// Classifies a database holding the indexed chain and the labels from scratch.
    pub async fn classify_labelled(&self, pool: sqlx::PgPool, truth: &Truth) -> sqlx::PgPool {
        let step = Follower::new(
            pool.clone(),
            RuleConfig::default(),
            Some(truth.chain_id as i64),
        )
        .from_scratch("simulator test")
        .await
        .expect("classification");
        assert!(matches!(step, Step::Full { .. }), "{step:?}");
        x402_simulator::wait_for_classifier(
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
