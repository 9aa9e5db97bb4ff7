//! `x402-sim`: runs the simulated economy and scores the classifier against its ground truth.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use sqlx::postgres::PgPoolOptions;
use x402_domain::Deployment;
use x402_simulator::{
    build_economy, class_summary, render_class_summary, render_score, score, wait_for_classifier,
    Chain, Economy, Env, Facilitator, Mode, Plan, Progress, RunOptions, Scale, Truth,
};

#[derive(Parser)]
#[command(
    name = "x402-sim",
    version,
    about = "Simulated x402 economy through the real contracts and facilitator, with ground truth"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct EconomyArgs {
    /// Which economy: standard (every actor built to match one rule of the product spec),
    /// adversarial (payees inflating their numbers the ways simple rules miss, and honest
    /// look-alikes: cashback, a launch day), or combined (both on one chain).
    #[arg(long, default_value = "standard")]
    economy: EconomyArg,
    /// Seed of the economy: the same seed gives the same wallets and schedule.
    #[arg(long, default_value = "demo")]
    seed: String,
    /// Size: small (4 weeks, ~600 payments; CI) or medium (8 weeks, ~3000 payments).
    #[arg(long, default_value = "small")]
    scale: ScaleArg,
    /// Override the number of simulated weeks (2..=26).
    #[arg(long)]
    weeks: Option<u32>,
    /// Override the number of external agents.
    #[arg(long)]
    externals: Option<usize>,
    /// Override the size of the sybil farm.
    #[arg(long)]
    sybils: Option<usize>,
}

#[derive(Clone, Copy, ValueEnum)]
enum ScaleArg {
    Small,
    Medium,
}

#[derive(Clone, Copy, ValueEnum)]
enum EconomyArg {
    Standard,
    Adversarial,
    Combined,
}

impl EconomyArgs {
    fn economy(&self) -> Economy {
        match self.economy {
            EconomyArg::Standard => Economy::Standard,
            EconomyArg::Adversarial => Economy::Adversarial,
            EconomyArg::Combined => Economy::Combined,
        }
    }

    fn plan(&self) -> Result<Plan> {
        Ok(build_economy(&self.seed, self.scale()?, self.economy()))
    }

    fn scale(&self) -> Result<Scale> {
        let mut s = match self.scale {
            ScaleArg::Small => Scale::SMALL,
            ScaleArg::Medium => Scale::MEDIUM,
        };
        if let Some(w) = self.weeks {
            if !(2..=26).contains(&w) {
                bail!("--weeks {w}: must be between 2 and 26 (the economy needs a second week for its waves)");
            }
            s.weeks = w;
        }
        if let Some(n) = self.externals {
            s.externals = n;
        }
        if let Some(n) = self.sybils {
            if n < 5 {
                bail!("--sybils {n}: a farm needs at least 5 wallets to be one");
            }
            s.sybils = n;
        }
        Ok(s)
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum ProgressArg {
    Auto,
    Lines,
    Off,
}

#[derive(Subcommand)]
enum Command {
    /// Write the labels file naming the economy's exchange hot wallets (import it with
    /// `x402-classifier labels import`).
    Labels {
        #[command(flatten)]
        economy: EconomyArgs,
        /// Chain id the labels apply to.
        #[arg(long, default_value_t = 31337)]
        chain_id: u64,
        /// Where to write it.
        #[arg(long, default_value = ".run/sim-labels.toml")]
        out: PathBuf,
    },
    /// Drive the economy through the chain and the facilitators; write the ground truth.
    Run {
        #[command(flatten)]
        economy: EconomyArgs,
        /// anvil's JSON-RPC endpoint.
        #[arg(long, env = "RPC_URL", default_value = "http://127.0.0.1:8545")]
        rpc_url: String,
        /// deployments/<chainId>.json from script/deploy-local.sh.
        #[arg(long, default_value = "deployments/31337.json")]
        deployment: PathBuf,
        /// Facilitator settling each payment alone (and escrows).
        #[arg(long, default_value = "http://127.0.0.1:4020")]
        facilitator_url: String,
        /// Facilitator running with --batch.
        #[arg(long, default_value = "http://127.0.0.1:4021")]
        batch_facilitator_url: String,
        /// Key of the deployment's owner (labels wallets in the registry, mints demo tokens).
        #[arg(long, env = "OWNER_PRIVATE_KEY", hide_env_values = true, default_value = x402_simulator::ANVIL_OWNER_KEY, hide_default_value = true)]
        owner_key: String,
        /// Also write the truth to the sim_truth table of this database.
        #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
        /// Where to write the truth JSON.
        #[arg(long, default_value = ".run/sim-truth.json")]
        truth_out: PathBuf,
        /// Payers paying at the same time.
        #[arg(long, default_value_t = 12)]
        concurrency: usize,
        /// Progress display.
        #[arg(long, default_value = "auto")]
        progress: ProgressArg,
    },
    /// Wait for the classifier, then print the summary table and precision/recall per class.
    Report {
        /// Database the indexer and the classifier write.
        #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
        database_url: String,
        /// deployments/<chainId>.json (token symbols and decimals).
        #[arg(long, default_value = "deployments/31337.json")]
        deployment: PathBuf,
        /// The truth file `run` wrote.
        #[arg(long, default_value = ".run/sim-truth.json")]
        truth: PathBuf,
        /// Longest wait for the classifier to reach the simulation's last block, in seconds.
        #[arg(long, default_value_t = 300)]
        wait_secs: u64,
        /// Fail unless every class present has at least this precision and recall over
        /// payments, payers and each token's volume.
        #[arg(long)]
        min_score: Option<f64>,
    },
}

#[tokio::main]
async fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Labels {
            economy,
            chain_id,
            out,
        } => {
            let plan = economy.plan()?;
            if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            std::fs::write(&out, plan.labels_toml(chain_id))
                .with_context(|| format!("writing {}", out.display()))?;
            println!(
                "wrote {} exchange labels to {}",
                plan.exchanges().count(),
                out.display()
            );
        }
        Command::Run {
            economy,
            rpc_url,
            deployment,
            facilitator_url,
            batch_facilitator_url,
            owner_key,
            database_url,
            truth_out,
            concurrency,
            progress,
        } => {
            let plan = economy.plan()?;
            let deployment = Deployment::read(&deployment)?;
            let owner = owner_key
                .trim()
                .parse()
                .map_err(|_| anyhow::anyhow!("--owner-key is not a 32-byte hex private key"))?;
            let chain = Chain::connect(
                &rpc_url,
                deployment,
                owner,
                plan.actors.iter().map(|a| a.signer.clone()),
            )
            .await?;
            let direct = Facilitator::connect(&facilitator_url).await?;
            let batch = Facilitator::connect(&batch_facilitator_url).await?;
            if direct.address == batch.address {
                bail!("--facilitator-url and --batch-facilitator-url are the same facilitator ({}); run a second one with --batch and another key", direct.address);
            }
            let pool = match &database_url {
                Some(url) => Some(connect(url).await?),
                None => None,
            };
            let mode = match progress {
                ProgressArg::Auto => Mode::Auto,
                ProgressArg::Lines => Mode::Lines,
                ProgressArg::Off => Mode::Off,
            };
            let env = Env {
                chain,
                direct,
                batch,
                options: RunOptions {
                    concurrency,
                    ..RunOptions::default()
                },
            };
            let started = std::time::Instant::now();
            let (truth, stats) = x402_simulator::run(&env, &plan, &Progress::new(mode)).await?;
            truth.write_json(&truth_out)?;
            if let Some(pool) = &pool {
                truth.write_table(pool).await?;
            }
            println!(
                "simulated {} weeks of the {} economy in {:.0} s: {} payments from {} payers ({}; {} Permit2 witness, {} EIP-3009 = {:.0}%), {} batches, {} captures, {} voids, {} refunds, {} reclaims, {} transfers; truth in {}",
                plan.scale.weeks,
                economy.economy().name(),
                started.elapsed().as_secs_f64(),
                stats.payments,
                truth.payers.len(),
                stats.by_path.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", "),
                stats.payments - stats.eip3009,
                stats.eip3009,
                100.0 * stats.eip3009 as f64 / stats.payments.max(1) as f64,
                stats.batches,
                stats.captures,
                stats.voids,
                stats.refunds,
                stats.reclaims,
                stats.transfers,
                truth_out.display()
            );
            if !stats.refused.is_empty() {
                bail!(
                    "{} payments were refused or failed (first: {})",
                    stats.refused.len(),
                    stats.refused[0]
                );
            }
        }
        Command::Report {
            database_url,
            deployment,
            truth,
            wait_secs,
            min_score,
        } => {
            let truth = Truth::read_json(&truth)?;
            let deployment = Deployment::read(&deployment)?;
            let pool = connect(&database_url).await?;
            wait_for_classifier(
                &pool,
                truth.chain_id,
                truth.last_block,
                Duration::from_secs(wait_secs),
            )
            .await?;
            let rows = class_summary(&pool, truth.chain_id).await?;
            println!("What the classifier concluded, per token (all indexed payments):\n");
            print!("{}", render_class_summary(&rows, &deployment.tokens));
            let s = score(&pool, &truth, &deployment.tokens).await?;
            println!(
                "Classifier against the simulator's ground truth ({} payments, {} payers):\n",
                truth.payments.len(),
                truth.payers.len()
            );
            print!("{}", render_score(&s));
            if let Some(min) = min_score {
                let sides = [
                    ("payments".to_string(), &s.payments),
                    ("payers".to_string(), &s.payers),
                ]
                .into_iter()
                .chain(s.volume.iter().map(|(t, _, v)| (format!("{t} volume"), v)));
                for (what, side) in sides {
                    for c in side.classes.iter().filter(|c| c.truth > 0) {
                        let (p, r) = (c.precision().unwrap_or(0.0), c.recall().unwrap_or(0.0));
                        if p < min || r < min {
                            bail!(
                                "class {} over {what}: precision {p:.3}, recall {r:.3}, below --min-score {min}",
                                c.class
                            );
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

async fn connect(url: &str) -> Result<sqlx::PgPool> {
    PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(5))
        .connect(url)
        .await
        .with_context(|| {
            format!(
                "cannot connect to PostgreSQL at {url} (is it running, and DATABASE_URL right?)"
            )
        })
}
