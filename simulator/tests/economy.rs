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

mod common;

use common::Stack;
use x402_simulator::{
    build, build_economy, render_matrices, render_score, score, Class, Economy, Mode, Progress,
    Scale, Score, Scores, Truth,
};

const MIN_SCORE: f64 = 0.9;
/// Precision `external` must keep on the adversarial economy (issue 13).
const MIN_EXTERNAL_PRECISION: f64 = 0.95;

fn check(what: &str, scores: &Scores) -> Vec<String> {
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
    stats: &x402_simulator::Stats,
    s: &Score,
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
    let again = x402_simulator::run(env, &plan, &Progress::new(Mode::Off))
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

    let s = score(&pool, &truth, &env.chain.deployment.tokens)
        .await
        .unwrap();
    eprintln!("{}", render_score(&s));
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
        render_score(&s)
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
    let mut expected = x402_simulator::SCENARIOS.map(String::from).to_vec();
    expected.sort();
    assert_eq!(scenarios, expected, "every scenario's payers paid");
    let s = score(&pool, &truth, &stack.env.chain.deployment.tokens)
        .await
        .unwrap();
    let report = format!(
        "{}\nconfusion matrices (rows: truth, columns: verdict):\n{}",
        render_score(&s),
        render_matrices(&s)
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
    let volume: Vec<(String, &Scores)> = s
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
