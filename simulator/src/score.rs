//! Scoring the classifier against the ground truth: precision and recall per class over
//! payments, over payers and over volume (per token: amounts of different tokens are never
//! added), the full confusion matrices, a breakdown per scenario of the economy, and the summary
//! table of what it concluded (class, payments, volume, share of volume, payers).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256, U256};
use sqlx::PgPool;

use crate::chain::TokenInfo;
use crate::truth::{Class, Truth};

/// Why scoring failed.
#[derive(Debug, thiserror::Error)]
pub enum ScoreError {
    /// Database trouble.
    #[error("reading the classifier's output: {0}")]
    Db(#[from] sqlx::Error),
    /// The classifier did not get there in time.
    #[error("the classifier has not classified block {block} after {waited:?} (its last block: {at}); is x402-classifier run following the indexer, and the indexer running?")]
    Timeout {
        /// The block waited for.
        block: u64,
        /// Where the classifier is.
        at: String,
        /// How long we waited.
        waited: Duration,
    },
}

/// Precision and recall of one class. Counts (payments, payers) or amounts in token units
/// (volume).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassScore {
    /// The class.
    pub class: Class,
    /// Weight of the items whose true class it is.
    pub truth: u128,
    /// Weight of the items the classifier put in it (among the simulated ones).
    pub predicted: u128,
    /// Weight of the items in both.
    pub correct: u128,
}

impl ClassScore {
    /// correct / predicted (`None` when nothing was predicted).
    pub fn precision(&self) -> Option<f64> {
        (self.predicted > 0).then(|| self.correct as f64 / self.predicted as f64)
    }

    /// correct / truth (`None` when the class is absent from the truth).
    pub fn recall(&self) -> Option<f64> {
        (self.truth > 0).then(|| self.correct as f64 / self.truth as f64)
    }
}

/// One side (payments, payers or one token's volume) of the score.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scores {
    /// Per class, in rule order.
    pub classes: Vec<ClassScore>,
    /// Truth items the classifier has no verdict for (counted, whatever the weight).
    pub missing: usize,
    /// (true class, predicted class, weight) for every disagreement with a verdict.
    pub confusions: Vec<(String, String, u128)>,
    /// (true class, predicted class or `none`) -> weight, agreements included.
    pub matrix: BTreeMap<(Class, String), u128>,
}

impl Scores {
    /// The score of `class`.
    pub fn class(&self, class: Class) -> &ClassScore {
        self.classes
            .iter()
            .find(|c| c.class == class)
            .expect("every class is scored")
    }
}

/// Compares `truth` with `predicted` (class names as the classifier writes them), each item
/// counting once.
pub fn compare<K: Ord + std::hash::Hash>(
    truth: &BTreeMap<K, Class>,
    predicted: &HashMap<K, String>,
) -> Scores {
    let weighted: BTreeMap<&K, (Class, u128)> = truth.iter().map(|(k, c)| (k, (*c, 1))).collect();
    let predicted: HashMap<&K, &String> = predicted.iter().collect();
    compare_weighted(&weighted, &predicted)
}

/// Compares `truth` (class and weight per item) with `predicted`.
pub fn compare_weighted<K: Ord + std::hash::Hash, P: AsRef<str>>(
    truth: &BTreeMap<K, (Class, u128)>,
    predicted: &HashMap<K, P>,
) -> Scores {
    let mut s = Scores::default();
    let mut per: BTreeMap<Class, ClassScore> = Class::ALL
        .iter()
        .map(|c| {
            (
                *c,
                ClassScore {
                    class: *c,
                    truth: 0,
                    predicted: 0,
                    correct: 0,
                },
            )
        })
        .collect();
    for (k, (t, w)) in truth {
        per.get_mut(t).expect("every class").truth += w;
        match predicted.get(k).map(AsRef::as_ref) {
            None => {
                s.missing += 1;
                *s.matrix.entry((*t, "none".into())).or_default() += w;
            }
            Some(p) => {
                *s.matrix.entry((*t, p.to_string())).or_default() += w;
                if let Some(c) = Class::ALL.iter().find(|c| c.as_str() == p) {
                    per.get_mut(c).expect("every class").predicted += w;
                }
                if p == t.as_str() {
                    per.get_mut(t).expect("every class").correct += w;
                }
            }
        }
    }
    s.classes = per.into_values().collect();
    s.confusions = s
        .matrix
        .iter()
        // Items without a verdict are counted in `missing` (and in the matrix as `none`).
        .filter(|((t, p), _)| t.as_str() != p && p != "none")
        .map(|((t, p), w)| (t.as_str().to_string(), p.clone(), *w))
        .collect();
    s
}

/// How the payers of one scenario and true class were classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioScore {
    /// Scenario (`standard`, or one of [`crate::adversary::SCENARIOS`]).
    pub scenario: String,
    /// The class its payers were built to have.
    pub class: Class,
    /// Payers.
    pub payers: usize,
    /// Verdicts on them: class (or `none`) -> payers.
    pub verdicts: BTreeMap<String, usize>,
    /// Their payments, and how many got the true class.
    pub payments: usize,
    /// Payments classified right.
    pub payments_correct: usize,
}

/// How the payments signed one way (Permit2 witness or EIP-3009) were classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureScore {
    /// `Permit2` or `EIP-3009`.
    pub signature: &'static str,
    /// Payments signed this way.
    pub payments: usize,
    /// Of them, classified as their true class.
    pub correct: usize,
}

/// The way a payment of path `label` (a [`crate::plan::PayPath::label`]) was signed.
pub fn signature_of(label: &str) -> &'static str {
    if label == crate::plan::PayPath::Authorization.label() {
        "EIP-3009"
    } else {
        "Permit2"
    }
}

/// Payment, payer and volume scores.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    /// Per payment.
    pub payments: Scores,
    /// Per payer.
    pub payers: Scores,
    /// Per token symbol (with its decimals), weighted by the settled amount (escrows: captures;
    /// refunds not deducted, as in the truth file).
    pub volume: Vec<(String, u8, Scores)>,
    /// Per scenario and true class, in the order the scenarios were built.
    pub scenarios: Vec<ScenarioScore>,
    /// Per way of signing (Permit2 first), for the signatures present.
    pub signatures: Vec<SignatureScore>,
}

/// Waits until the classifier has classified `block` of `chain_id`.
pub async fn wait_for_classifier(
    pool: &PgPool,
    chain_id: u64,
    block: u64,
    timeout: Duration,
) -> Result<(), ScoreError> {
    let start = Instant::now();
    loop {
        let at: Option<i64> = sqlx::query_scalar!(
            "select last_block from classifier_state where chain_id = $1",
            chain_id as i64
        )
        .fetch_optional(pool)
        .await
        // The table appears when a service first migrates the database: missing means
        // "not yet".
        .or_else(|e| match &e {
            sqlx::Error::Database(d) if d.code().as_deref() == Some("42P01") => Ok(None),
            _ => Err(e),
        })?;
        if at.is_some_and(|b| b >= block as i64) {
            return Ok(());
        }
        if start.elapsed() > timeout {
            return Err(ScoreError::Timeout {
                block,
                at: at.map_or("none".into(), |b| b.to_string()),
                waited: timeout,
            });
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Reads the classifier's verdicts for the simulated payments and payers and scores them;
/// `tokens` gives the decimals of the truth's token symbols.
pub async fn score(
    pool: &PgPool,
    truth: &Truth,
    tokens: &[TokenInfo],
) -> Result<Score, ScoreError> {
    let chain = truth.chain_id as i64;
    let rows = sqlx::query!(
        "select payment_id, class from payment_classes where chain_id = $1",
        chain
    )
    .fetch_all(pool)
    .await?;
    let mut by_payment = HashMap::new();
    for r in rows {
        if r.payment_id.len() == 32 {
            by_payment.insert(B256::from_slice(&r.payment_id), r.class);
        }
    }
    let rows = sqlx::query!(
        "select payer, class from payer_classes where chain_id = $1",
        chain
    )
    .fetch_all(pool)
    .await?;
    let mut by_payer = HashMap::new();
    for r in rows {
        if r.payer.len() == 20 {
            by_payer.insert(Address::from_slice(&r.payer), r.class);
        }
    }
    Ok(evaluate(truth, &by_payment, &by_payer, tokens))
}

/// Scores the verdicts `by_payment` and `by_payer` against `truth`.
pub fn evaluate(
    truth: &Truth,
    by_payment: &HashMap<B256, String>,
    by_payer: &HashMap<Address, String>,
    tokens: &[TokenInfo],
) -> Score {
    let payment_truth: BTreeMap<B256, Class> =
        truth.payments.iter().map(|(k, v)| (*k, v.class)).collect();
    let payer_truth: BTreeMap<Address, Class> =
        truth.payers.iter().map(|(k, v)| (*k, v.class)).collect();
    let mut per_token: BTreeMap<&str, BTreeMap<B256, (Class, u128)>> = BTreeMap::new();
    for (id, p) in &truth.payments {
        // Amounts are written by the simulator from U256 values below 2^128.
        let amount = p.amount.parse::<u128>().unwrap_or(u128::MAX);
        per_token
            .entry(p.token.as_str())
            .or_default()
            .insert(*id, (p.class, amount));
    }
    let volume = per_token
        .into_iter()
        .map(|(symbol, items)| {
            let decimals = tokens
                .iter()
                .find(|t| t.symbol == symbol)
                .map_or(0, |t| t.decimals);
            (
                symbol.to_string(),
                decimals,
                compare_weighted(&items, by_payment),
            )
        })
        .collect();
    Score {
        payments: compare(&payment_truth, by_payment),
        payers: compare(&payer_truth, by_payer),
        volume,
        scenarios: scenarios(truth, by_payment, by_payer),
        signatures: signatures(truth, by_payment),
    }
}

fn signatures(truth: &Truth, by_payment: &HashMap<B256, String>) -> Vec<SignatureScore> {
    ["Permit2", "EIP-3009"]
        .into_iter()
        .map(|signature| {
            let mine: Vec<_> = truth
                .payments
                .values()
                .filter(|p| signature_of(&p.path) == signature)
                .collect();
            SignatureScore {
                signature,
                payments: mine.len(),
                correct: mine
                    .iter()
                    .filter(|p| {
                        by_payment.get(&p.payment_id).map(String::as_str) == Some(p.class.as_str())
                    })
                    .count(),
            }
        })
        .filter(|s| s.payments > 0)
        .collect()
}

fn scenarios(
    truth: &Truth,
    by_payment: &HashMap<B256, String>,
    by_payer: &HashMap<Address, String>,
) -> Vec<ScenarioScore> {
    let order = |s: &str| {
        crate::adversary::SCENARIOS
            .iter()
            .position(|x| *x == s)
            .map_or(if s == "standard" { 0 } else { usize::MAX }, |i| i + 1)
    };
    let mut rows: BTreeMap<(usize, String, Class), ScenarioScore> = BTreeMap::new();
    for p in truth.payers.values() {
        let row = rows
            .entry((order(&p.scenario), p.scenario.clone(), p.class))
            .or_insert_with(|| ScenarioScore {
                scenario: p.scenario.clone(),
                class: p.class,
                payers: 0,
                verdicts: BTreeMap::new(),
                payments: 0,
                payments_correct: 0,
            });
        row.payers += 1;
        let verdict = by_payer.get(&p.address).map_or("none", String::as_str);
        *row.verdicts.entry(verdict.to_string()).or_default() += 1;
    }
    for p in truth.payments.values() {
        let Some(payer) = truth.payers.get(&p.payer) else {
            continue;
        };
        if let Some(row) =
            rows.get_mut(&(order(&payer.scenario), payer.scenario.clone(), payer.class))
        {
            row.payments += 1;
            if by_payment.get(&p.payment_id).map(String::as_str) == Some(p.class.as_str()) {
                row.payments_correct += 1;
            }
        }
    }
    rows.into_values().collect()
}

fn pct(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{:.3}", v))
}

/// Precision and recall per class over payments and payers (counts), then over each token's
/// volume, then the payers of each scenario with the verdicts they got.
pub fn render_score(s: &Score) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{:<16} {:>9} {:>9} {:>10} {:>8} {:>9} {:>9} {:>10} {:>8}\n",
        "class",
        "payments",
        "predicted",
        "precision",
        "recall",
        "payers",
        "predicted",
        "precision",
        "recall"
    ));
    for (p, w) in s.payments.classes.iter().zip(&s.payers.classes) {
        out.push_str(&format!(
            "{:<16} {:>9} {:>9} {:>10} {:>8} {:>9} {:>9} {:>10} {:>8}\n",
            p.class.as_str(),
            p.truth,
            p.predicted,
            pct(p.precision()),
            pct(p.recall()),
            w.truth,
            w.predicted,
            pct(w.precision()),
            pct(w.recall())
        ));
    }
    if s.payments.missing + s.payers.missing > 0 {
        out.push_str(&format!(
            "not classified: {} payments, {} payers\n",
            s.payments.missing, s.payers.missing
        ));
    }
    if !s.signatures.is_empty() {
        let parts: Vec<String> = s
            .signatures
            .iter()
            .map(|x| format!("{} {} ({} right)", x.signature, x.payments, x.correct))
            .collect();
        out.push_str(&format!("payments by signature: {}\n", parts.join(", ")));
    }
    for (symbol, decimals, v) in &s.volume {
        out.push_str(&format!(
            "\n{:<16} {:>16} {:>16} {:>10} {:>8}   (volume, {symbol})\n",
            "class", "true volume", "predicted", "precision", "recall"
        ));
        for c in v.classes.iter().filter(|c| c.truth + c.predicted > 0) {
            out.push_str(&format!(
                "{:<16} {:>16} {:>16} {:>10} {:>8}\n",
                c.class.as_str(),
                format_amount(U256::from(c.truth), *decimals),
                format_amount(U256::from(c.predicted), *decimals),
                pct(c.precision()),
                pct(c.recall())
            ));
        }
    }
    if !s.scenarios.is_empty() {
        out.push_str(&format!(
            "\n{:<18} {:<16} {:>6} {:>9}   {}\n",
            "scenario", "truth", "payers", "payments", "payers classified as (payments right)"
        ));
        for r in &s.scenarios {
            let verdicts: Vec<String> =
                r.verdicts.iter().map(|(c, n)| format!("{c} {n}")).collect();
            out.push_str(&format!(
                "{:<18} {:<16} {:>6} {:>9}   {} ({}/{})\n",
                r.scenario,
                r.class.as_str(),
                r.payers,
                r.payments,
                verdicts.join(", "),
                r.payments_correct,
                r.payments
            ));
        }
    }
    let mut confusions = false;
    for (what, side) in [("payments", &s.payments), ("payers", &s.payers)] {
        for (t, p, n) in &side.confusions {
            if !confusions {
                out.push('\n');
                confusions = true;
            }
            out.push_str(&format!("  {n} {what} of class {t} classified {p}\n"));
        }
    }
    out
}

/// The full confusion matrix of `scores` (rows: true class; columns: verdict), weights shown
/// with `fmt` (counts as they are, volumes in whole tokens).
pub fn render_matrix(title: &str, scores: &Scores, fmt: impl Fn(u128) -> String) -> String {
    let mut columns: Vec<String> = Class::ALL.iter().map(|c| c.as_str().to_string()).collect();
    for (_, p) in scores.matrix.keys() {
        if !columns.contains(p) {
            columns.push(p.clone());
        }
    }
    let short = |c: &str| -> String { c.chars().take(12).collect() };
    let mut out = format!("{title:<16}");
    for c in &columns {
        out.push_str(&format!(" {:>12}", short(c)));
    }
    out.push('\n');
    for t in Class::ALL {
        if !scores.matrix.keys().any(|(x, _)| *x == t) {
            continue;
        }
        out.push_str(&format!("{:<16}", t.as_str()));
        for c in &columns {
            let w = scores.matrix.get(&(t, c.clone())).copied().unwrap_or(0);
            out.push_str(&format!(
                " {:>12}",
                if w == 0 { ".".into() } else { fmt(w) }
            ));
        }
        out.push('\n');
    }
    out
}

/// Every confusion matrix of `s`: payers, payments, and each token's volume.
pub fn render_matrices(s: &Score) -> String {
    let mut out = render_matrix("payers", &s.payers, |w| w.to_string());
    out.push('\n');
    out.push_str(&render_matrix("payments", &s.payments, |w| w.to_string()));
    for (symbol, decimals, v) in &s.volume {
        out.push('\n');
        out.push_str(&render_matrix(&format!("volume {symbol}"), v, |w| {
            format_amount(U256::from(w), *decimals)
        }));
    }
    out
}

/// One line of the summary: a class's share of one token's volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryRow {
    /// Token symbol.
    pub token: String,
    /// Class.
    pub class: String,
    /// Payments.
    pub payments: i64,
    /// Gross settled volume, token units.
    pub volume: U256,
    /// Distinct payers.
    pub payers: i64,
}

/// What the classifier concluded about every indexed payment of `chain_id`, per token and class.
pub async fn class_summary(
    pool: &PgPool,
    chain_id: u64,
) -> Result<Vec<(Vec<u8>, SummaryRow)>, ScoreError> {
    let rows = sqlx::query!(
        r#"select p.token, c.class, count(*) as "payments!",
                  sum(p.settled_amount)::text as volume, count(distinct p.payer) as "payers!"
           from payments p join payment_classes c
             on c.chain_id = p.chain_id and c.payment_id = p.payment_id
           where p.chain_id = $1 group by p.token, c.class order by p.token, c.class"#,
        chain_id as i64
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.token,
                SummaryRow {
                    token: String::new(),
                    class: r.class,
                    payments: r.payments,
                    volume: r.volume.and_then(|v| v.parse().ok()).unwrap_or_default(),
                    payers: r.payers,
                },
            )
        })
        .collect())
}

/// A whole-token amount with `decimals`, to two places.
pub fn format_amount(units: U256, decimals: u8) -> String {
    let scale = U256::from(10u64).pow(U256::from(decimals));
    let whole = units / scale;
    let cents = (units % scale) * U256::from(100u64) / scale;
    format!("{whole}.{cents:0>2}")
}

/// The summary as one table per token, classes in rule order, with each class's share of the
/// token's volume.
pub fn render_class_summary(rows: &[(Vec<u8>, SummaryRow)], tokens: &[TokenInfo]) -> String {
    let mut out = String::new();
    let mut by_token: BTreeMap<Vec<u8>, Vec<&SummaryRow>> = BTreeMap::new();
    for (t, r) in rows {
        by_token.entry(t.clone()).or_default().push(r);
    }
    for (token, list) in by_token {
        let info = tokens
            .iter()
            .find(|t| t.address.as_slice() == token.as_slice());
        let (symbol, decimals) = info.map_or(
            (format!("0x{}", alloy::primitives::hex::encode(&token)), 0),
            |t| (t.symbol.clone(), t.decimals),
        );
        let total: U256 = list.iter().map(|r| r.volume).fold(U256::ZERO, |a, b| a + b);
        out.push_str(&format!(
            "{:<16} {:>9} {:>16} {:>8} {:>7}   ({symbol})\n",
            "class", "payments", "volume", "share", "payers"
        ));
        let order = |c: &str| {
            Class::ALL
                .iter()
                .position(|x| x.as_str() == c)
                .unwrap_or(usize::MAX)
        };
        let mut list = list;
        list.sort_by_key(|r| order(&r.class));
        for r in &list {
            let share = if total.is_zero() {
                0.0
            } else {
                // Basis points, then a percentage: exact enough without floating-point U256.
                (r.volume * U256::from(10_000u64) / total).to::<u64>() as f64 / 100.0
            };
            out.push_str(&format!(
                "{:<16} {:>9} {:>16} {:>7.2}% {:>7}\n",
                r.class,
                r.payments,
                format_amount(r.volume, decimals),
                share,
                r.payers
            ));
        }
        let n: i64 = list.iter().map(|r| r.payments).sum();
        out.push_str(&format!(
            "{:<16} {:>9} {:>16} {:>7.2}%\n\n",
            "total",
            n,
            format_amount(total, decimals),
            100.0
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precision_and_recall() {
        let truth: BTreeMap<u32, Class> = [
            (1, Class::External),
            (2, Class::External),
            (3, Class::SuspectedSybil),
            (4, Class::Internal),
        ]
        .into();
        let predicted: HashMap<u32, String> = [
            (1, "external".to_string()),
            (2, "suspected_sybil".to_string()),
            (3, "suspected_sybil".to_string()),
        ]
        .into();
        let s = compare(&truth, &predicted);
        let get = |c: Class| s.classes.iter().find(|x| x.class == c).unwrap().clone();
        assert_eq!(
            get(Class::External),
            ClassScore {
                class: Class::External,
                truth: 2,
                predicted: 1,
                correct: 1
            }
        );
        assert_eq!(get(Class::External).precision(), Some(1.0));
        assert_eq!(get(Class::External).recall(), Some(0.5));
        assert_eq!(get(Class::SuspectedSybil).precision(), Some(0.5));
        assert_eq!(get(Class::SuspectedSybil).recall(), Some(1.0));
        assert_eq!(get(Class::Internal).recall(), Some(0.0));
        assert_eq!(get(Class::Internal).precision(), None);
        assert_eq!(s.missing, 1);
        assert_eq!(
            s.confusions,
            vec![("external".into(), "suspected_sybil".into(), 1u128)]
        );
    }

    /// Volume counts each payment by its amount, per token; scenarios list their payers' verdicts;
    /// the matrix keeps agreements and missing verdicts.
    #[test]
    fn volume_scenarios_and_matrix() {
        use crate::truth::{PayerTruth, PaymentTruth};
        let mut truth = Truth::default();
        let (farm, organic) = (Address::repeat_byte(1), Address::repeat_byte(2));
        for (a, class, scenario) in [
            (farm, Class::SuspectedSybil, "random-farm"),
            (organic, Class::External, "organic"),
        ] {
            truth.payers.insert(
                a,
                PayerTruth {
                    address: a,
                    class,
                    actor: scenario.into(),
                    scenario: scenario.into(),
                },
            );
        }
        // The farm pays 1 USDC nine times, the organic agent 91 USDC once (over EIP-3009) and
        // 5 OPG once.
        let mut by_payment = HashMap::new();
        let mut add =
            |i: u8, payer: Address, class: Class, token: &str, amount: u128, verdict: &str| {
                let id = B256::repeat_byte(i);
                let path = if i == 1 {
                    crate::plan::PayPath::Authorization.label()
                } else {
                    "exact/direct".into()
                };
                truth.payments.insert(
                    id,
                    PaymentTruth {
                        payment_id: id,
                        payer,
                        payee: Address::ZERO,
                        class,
                        path,
                        token: token.into(),
                        amount: amount.to_string(),
                        day: 0,
                    },
                );
                by_payment.insert(id, verdict.to_string());
            };
        for i in 0..9 {
            add(
                10 + i,
                farm,
                Class::SuspectedSybil,
                "USDC",
                1_000_000,
                "external",
            );
        }
        add(1, organic, Class::External, "USDC", 91_000_000, "external");
        add(
            2,
            organic,
            Class::External,
            "OPG",
            5 * 10u128.pow(18),
            "external",
        );
        let by_payer: HashMap<Address, String> = [(farm, "external".to_string())].into();
        let tokens = [
            TokenInfo {
                symbol: "USDC".into(),
                address: Address::repeat_byte(9),
                decimals: 6,
                stablecoin: true,
            },
            TokenInfo {
                symbol: "OPG".into(),
                address: Address::repeat_byte(8),
                decimals: 18,
                stablecoin: false,
            },
        ];
        let s = evaluate(&truth, &by_payment, &by_payer, &tokens);
        // Over payments, external precision is 2/11; over USDC volume 91/100; OPG apart.
        assert_eq!(
            s.payments.class(Class::External).precision(),
            Some(2.0 / 11.0)
        );
        assert_eq!(s.volume.len(), 2);
        let (symbol, decimals, usdc) = &s.volume[1];
        assert_eq!((symbol.as_str(), *decimals), ("USDC", 6));
        assert_eq!(usdc.class(Class::External).precision(), Some(0.91));
        assert_eq!(usdc.class(Class::SuspectedSybil).recall(), Some(0.0));
        assert_eq!(s.volume[0].2.class(Class::External).precision(), Some(1.0));
        // The organic agent has no payer verdict: missing, and `none` in the matrix.
        assert_eq!(s.payers.missing, 1);
        assert_eq!(s.payers.matrix[&(Class::External, "none".to_string())], 1);
        assert_eq!(
            s.payers.matrix[&(Class::SuspectedSybil, "external".to_string())],
            1
        );
        assert_eq!(s.scenarios.len(), 2);
        assert_eq!(s.scenarios[0].scenario, "random-farm");
        assert_eq!(
            s.scenarios[0].verdicts,
            [("external".to_string(), 1)].into()
        );
        assert_eq!(
            (s.scenarios[0].payments, s.scenarios[0].payments_correct),
            (9, 0)
        );
        assert_eq!(
            (s.scenarios[1].payments, s.scenarios[1].payments_correct),
            (2, 2)
        );
        let text = render_score(&s);
        assert!(
            text.contains("(volume, USDC)") && text.contains("(volume, OPG)"),
            "{text}"
        );
        assert!(text.contains("random-farm"), "{text}");
        assert_eq!(
            s.signatures
                .iter()
                .map(|x| (x.signature, x.payments, x.correct))
                .collect::<Vec<_>>(),
            [("Permit2", 10, 1), ("EIP-3009", 1, 1)]
        );
        assert!(
            text.contains("payments by signature: Permit2 10 (1 right), EIP-3009 1 (1 right)"),
            "{text}"
        );
        let m = render_matrices(&s);
        assert!(
            m.lines()
                .any(|l| l.starts_with("suspected_sybil") && l.contains("9.00")),
            "{m}"
        );
    }

    #[test]
    fn amounts_and_shares() {
        assert_eq!(format_amount(U256::from(1_234_567u64), 6), "1.23");
        assert_eq!(format_amount(U256::from(5u64), 6), "0.00");
        let usdc = TokenInfo {
            symbol: "USDC".into(),
            address: Address::repeat_byte(1),
            decimals: 6,
            stablecoin: true,
        };
        let row = |class: &str, payments, volume: u64| {
            (
                usdc.address.to_vec(),
                SummaryRow {
                    token: String::new(),
                    class: class.into(),
                    payments,
                    volume: U256::from(volume),
                    payers: 1,
                },
            )
        };
        let text = render_class_summary(
            &[
                row("suspected_sybil", 3, 1_000_000),
                row("external", 1, 3_000_000),
            ],
            &[usdc],
        );
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].contains("(USDC)"));
        assert!(
            lines[1].starts_with("suspected_sybil") && lines[1].contains("25.00%"),
            "{text}"
        );
        assert!(
            lines[2].starts_with("external") && lines[2].contains("75.00%"),
            "{text}"
        );
        assert!(
            lines[3].starts_with("total") && lines[3].contains("4.00"),
            "{text}"
        );
    }
}
